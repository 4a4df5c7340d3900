-- Cell 5: response-based knowledge distillation from a teacher FFNN to a smaller student.
-- Fixed from the notebook: it passed the student's *probabilities* to KLDivLoss, which
-- expects log-probabilities, and so printed a negative "KL"; and it used no temperature.
-- Here the student learns from the teacher's softened outputs (Hinton et al. 2015):
-- alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, labels), with the
-- binary outputs written as two-class logits [0, z].
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, F, optim, data = lurn.nn, lurn.nn.functional, lurn.optim, lurn.data
local models = require "models"

-- the notebook draws this data after cell 4's, without reseeding
local X, y = models.synthetic(1000, 2, {{400, 3}})
local X_train, X_test, y_train, y_test = data.train_test_split(X, y, {test_size = 0.2, random_state = 42})
local yf_train, yf_test = y_train:float():unsqueeze(1), y_test:float():unsqueeze(1)

local teacher = models.FFNNModel(X_train.shape[2])
local criterion = nn.BCELoss()
local optimizer = optim.Adam(teacher:parameters(), {lr = 0.001})
for epoch = 1, 10 do
  teacher:train()
  optimizer:zero_grad()
  local loss = criterion(teacher(X_train), yf_train)
  local l = lurn.check_loss(loss, "teacher epoch %d", epoch) -- NaN/Inf: stop, say where
  loss:backward()
  optimizer:step()
  print(("Teacher Model - Epoch %d, BCE Loss: %.6f"):format(epoch, l))
end

local function accuracy(p, target) return p:gt(0.5):float():eq(target):float():mean():item() end
local function two_class(z) return lurn.cat({lurn.zeros_like(z), z}, 1) end

teacher:eval()
local teacher_logits = lurn.no_grad(function()
  local out = teacher(X_test)
  print(("Response-based teacher model test loss: %.6f"):format(criterion(out, yf_test):item()))
  print(("Response-based teacher model accuracy: %.4f"):format(accuracy(out, yf_test)))
  return two_class(teacher:logits(X_train))       -- the soft labels, computed once
end)

local student = models.StudentModel(X_train.shape[2])
local optimizer_student = optim.Adam(student:parameters(), {lr = 0.001})
local T, alpha = 2.0, 0.7
for epoch = 1, 10 do
  student:train()
  optimizer_student:zero_grad()
  local loss = F.distillation_loss(two_class(student:logits(X_train)), teacher_logits, y_train,
                                   {T = T, alpha = alpha})
  local l = lurn.check_loss(loss, "student epoch %d", epoch)
  loss:backward()
  optimizer_student:step()
  print(("Student Model - Epoch %d, KD Loss: %.6f"):format(epoch, l))
end

student:eval()
lurn.no_grad(function()
  local out = student(X_test)
  print(("Response-based student model test loss: %.6f"):format(criterion(out, yf_test):item()))
  print(("Response-based student model accuracy: %.4f"):format(accuracy(out, yf_test)))
end)
