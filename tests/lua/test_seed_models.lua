-- The seed notebook's models (../shared/seed/, ../shared/reference/seed_notebook.py)
-- written in Lua as a PyTorch user thinks of them: FFNNModel (pre-training, a fixed
-- model, feature extraction, fine-tuning), TeacherModel/StudentModel (distillation) and
-- MTLModel (a shared trunk with two heads). Each trains for a few epochs on small seeded
-- data, and the tests check what each paradigm relies on.
local lurn = require "lurn"
local T = require "testing"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim

-- ---- the models, as in the notebook ----
local FFNNModel = nn.Module:extend("FFNNModel")
function FFNNModel:__init(input_size)
  self.fc1 = nn.Linear(input_size, 128)
  self.fc2 = nn.Linear(128, 64)
  self.fc3 = nn.Linear(64, 32)
  self.fc4 = nn.Linear(32, 1)
  self.relu = nn.ReLU()
  self.sigmoid = nn.Sigmoid()
end
function FFNNModel:forward(x)
  x = self.relu(self.fc1(x))
  x = self.relu(self.fc2(x))
  x = self.relu(self.fc3(x))
  return self.sigmoid(self.fc4(x))
end

-- the same trunk with a multi-class head: logits, no sigmoid (for CrossEntropyLoss)
local FFNNClassifier = FFNNModel:extend("FFNNClassifier")
function FFNNClassifier:forward(x)
  x = self.relu(self.fc1(x))
  x = self.relu(self.fc2(x))
  x = self.relu(self.fc3(x))
  return self.fc4(x)
end

-- fine-tuning: fc4 becomes a 16-unit hidden layer and fc5 the 3-class output. The seed
-- forgot to call fc5; this one does.
local FineTuned = FFNNModel:extend("FineTuned")
function FineTuned:forward(x)
  x = self.relu(self.fc1(x))
  x = self.relu(self.fc2(x))
  x = self.relu(self.fc3(x))
  x = self.relu(self.fc4(x))
  return self.fc5(x)
end

local StudentModel = nn.Module:extend("StudentModel")
function StudentModel:__init(input_size, out)
  self.fc1 = nn.Linear(input_size, 64)
  self.fc2 = nn.Linear(64, 32)
  self.fc3 = nn.Linear(32, out or 1)
  self.relu = nn.ReLU()
  self.sigmoid = nn.Sigmoid()
  self.logits = out ~= nil
end
function StudentModel:forward(x)
  x = self.relu(self.fc1(x))
  x = self.relu(self.fc2(x))
  x = self.fc3(x)
  if self.logits then return x end
  return self.sigmoid(x)
end

local MTLModel = nn.Module:extend("MTLModel")
function MTLModel:__init(input_size)
  -- shared layers
  self.shared_fc1 = nn.Linear(input_size, 64)
  self.shared_fc2 = nn.Linear(64, 32)
  -- task 1: classification; task 2: regression
  self.classification_fc = nn.Linear(32, 1)
  self.regression_fc = nn.Linear(32, 1)
  self.relu = nn.ReLU()
  self.sigmoid = nn.Sigmoid()
end
function MTLModel:forward(x)
  local shared = self.relu(self.shared_fc1(x))
  shared = self.relu(self.shared_fc2(shared))
  return self.sigmoid(self.classification_fc(shared)), self.regression_fc(shared)
end

-- ---- helpers ----
local function values(t) return T.values(t) end

local function bit_identical(t, snap, msg)
  local now = values(t)
  for i = 1, #now do
    if now[i] ~= snap[i] then
      error(("%s: element %d changed from %.9g to %.9g"):format(msg, i, snap[i], now[i]), 2)
    end
  end
end

local function changed(t, snap)
  local now = values(t)
  for i = 1, #now do if now[i] ~= snap[i] then return true end end
  return false
end

local function param_names(m)
  local out = {}
  for name in m:named_parameters() do out[#out + 1] = name end
  return out
end

-- full-batch training; returns the loss of every epoch
local function train(model, opt, loss_fn, X, y, epochs)
  local losses = {}
  for epoch = 1, epochs do
    model:train()
    opt:zero_grad()
    local loss = loss_fn(model(X), y)
    loss:backward()
    opt:step()
    losses[epoch] = loss:item()
  end
  return losses
end

local function assert_falls(losses, label, strictly)
  T.assert_equal(losses[#losses] < losses[1], true,
    ("%s: loss falls (%.6f -> %.6f)"):format(label, losses[1], losses[#losses]))
  if strictly then
    for i = 2, #losses do
      T.assert_equal(losses[i] < losses[i - 1], true,
        ("%s: epoch %d loss %.7f not below %.7f"):format(label, i, losses[i], losses[i - 1]))
    end
  end
  for _, l in ipairs(losses) do T.assert_equal(l == l and l < math.huge, true, label .. ": finite") end
end

-- ---- data: uniform features (as np.random.rand) with learnable labels ----
lurn.manual_seed(42)
local N = 200
local X = lurn.rand(N, 20)
local y_binary = (X:narrow(1, 0, 1) + X:narrow(1, 1, 1)):gt(1.0):float()   -- [N, 1]
local y_class = X:narrow(1, 0, 3):argmax(1)                                 -- [N] int64
local y_reg = X:narrow(1, 2, 1) * 0.5 + X:narrow(1, 3, 1) * 0.25            -- [N, 1]
local X_test = lurn.rand(50, 20)

-- the pre-trained model, shared by the transfer-learning cases
lurn.manual_seed(7)
local pretrained = FFNNModel(20)
local pretrain_losses = train(pretrained, optim.Adam(pretrained:parameters(), {lr = 1e-3}),
  nn.BCELoss(), X, y_binary, 10)
local saved = {} -- a state_dict kept in a table (cloned values, as a file would hold)
for k, v in pairs(pretrained:state_dict()) do saved[k] = v:clone() end

-- ================================================================================
T.case("FFNNModel: 20-128-64-32-1, BCELoss + Adam(lr 1e-3), loss falls", function()
  T.assert_equal(param_names(pretrained), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"})
  local s = pretrained:summary()
  T.assert_equal(s.total, 20 * 128 + 128 + 128 * 64 + 64 + 64 * 32 + 32 + 32 + 1)
  assert_falls(pretrain_losses, "pre-training", true)
  -- evaluation as in the notebook: eval mode, no graph, probabilities in (0, 1)
  pretrained:eval()
  local out = lurn.no_grad(function() return pretrained(X_test) end)
  T.assert_equal(out.requires_grad, false)
  T.assert_shape(out, {50, 1})
  for _, v in ipairs(values(out)) do T.assert_equal(v > 0 and v < 1, true) end
  pretrained:train()
  -- more epochs on learnable labels make clear progress
  lurn.manual_seed(8)
  local m = FFNNModel(20)
  local losses = train(m, optim.Adam(m:parameters(), {lr = 1e-2}), nn.BCELoss(), X, y_binary, 40)
  assert_falls(losses, "lr 1e-2")
  T.assert_equal(losses[40] < 0.6 * losses[1], true, ("%.4f -> %.4f"):format(losses[1], losses[40]))
end)

T.case("fixed pre-trained model: load_state_dict from a table, same predictions", function()
  lurn.manual_seed(100)
  local fixed = FFNNModel(20)
  local before = lurn.no_grad(function() return fixed(X_test) end)
  local report = fixed:load_state_dict(saved)
  T.assert_equal(report.missing, {})
  T.assert_equal(report.unexpected, {})
  fixed:eval(); pretrained:eval()
  local a = lurn.no_grad(function() return fixed(X_test) end)
  local b = lurn.no_grad(function() return pretrained(X_test) end)
  T.assert_close(a, b, 0, 0, "identical predictions")
  T.assert_equal(changed(a, values(before)), true, "loading changed the model")
  pretrained:train()
  -- the saved table is a snapshot: training the source further does not move it
  local src = FFNNModel(20)
  src:load_state_dict(saved)
  local snapshot = {}
  for k, v in pairs(src:state_dict()) do snapshot[k] = v:clone() end
  local pred_at_save = lurn.no_grad(function() return src(X_test) end)
  train(src, optim.Adam(src:parameters(), {lr = 1e-2}), nn.BCELoss(), X, y_binary, 3)
  local copy = FFNNModel(20)
  copy:load_state_dict(snapshot)
  T.assert_close(lurn.no_grad(function() return copy(X_test) end), pred_at_save, 0, 0)
end)

T.case("freezing fc1: bit-identical after training while the others change", function()
  local m = FFNNModel(20)
  m:load_state_dict(saved)
  m:freeze("fc1")
  local snap = {}
  for name, p in m:named_parameters() do snap[name] = values(p) end
  local opt = optim.Adam(m:parameters(), {lr = 1e-3, weight_decay = 1e-2})
  local losses = train(m, opt, nn.BCELoss(), X, y_binary, 5)
  assert_falls(losses, "frozen fc1")
  bit_identical(m.fc1.weight, snap["fc1.weight"], "fc1.weight")
  bit_identical(m.fc1.bias, snap["fc1.bias"], "fc1.bias")
  T.assert_equal(m.fc1.weight.grad, nil)
  for _, name in ipairs({"fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"}) do
    local p
    for n, q in m:named_parameters() do if n == name then p = q end end
    T.assert_equal(changed(p, snap[name]), true, name .. " trains")
  end
  local s = m:summary()
  T.assert_equal(s.rows[1].trainable, "frozen")
  T.assert_equal(s.frozen, 20 * 128 + 128)
  -- the seed's way: the first two tensors of parameters()
  local m2 = FFNNModel(20)
  m2:load_state_dict(saved)
  local ps = m2:parameters()
  ps[1].requires_grad = false
  ps[2].requires_grad = false
  local w0 = values(m2.fc1.weight)
  train(m2, optim.SGD(m2:parameters(), {lr = 0.1, momentum = 0.9, weight_decay = 0.1}),
    nn.BCELoss(), X, y_binary, 5)
  bit_identical(m2.fc1.weight, w0, "seed-style frozen fc1")
end)

T.case("feature extraction: freeze all, swap the head, train it with CrossEntropyLoss", function()
  local m = FFNNClassifier(20)
  m:load_state_dict(saved)
  for _, p in ipairs(m:parameters()) do p.requires_grad = false end
  m.fc4 = nn.Linear(32, 3) -- a new, trainable head in fc4's slot
  T.assert_equal(param_names(m), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"})
  T.assert_shape(m:parameters()[7], {3, 32})
  T.assert_shape(m:parameters()[8], {3})
  T.assert_equal(m.fc4.weight.requires_grad, true)
  T.assert_equal(m.fc3.weight.requires_grad, false)
  T.assert_equal(tostring(m):find("(fc4): Linear(in_features=32, out_features=3, bias=true)", 1, true) ~= nil, true)
  local trunk = {}
  for _, n in ipairs({"fc1", "fc2", "fc3"}) do trunk[n] = values(m[n].weight) end
  local opt = optim.Adam(m.fc4:parameters(), {lr = 1e-2})
  local losses = train(m, opt, nn.CrossEntropyLoss(), X, y_class, 15)
  assert_falls(losses, "new head", true)
  T.assert_close(losses[1], math.log(3), 0.3, 0, "starts near log(3)")
  for n, w in pairs(trunk) do bit_identical(m[n].weight, w, n .. " stays pre-trained") end
  local logits = lurn.no_grad(function() return m(X_test) end)
  T.assert_shape(logits, {50, 3})
  T.assert_shape(logits:argmax(1), {50})
end)

T.case("head swap on a trainable model: all layers train with CrossEntropyLoss", function()
  local m = FFNNClassifier(20)
  m:load_state_dict(saved)
  m.fc4 = nn.Linear(32, 3)
  local snap = {}
  for name, p in m:named_parameters() do snap[name] = values(p) end
  local losses = train(m, optim.Adam(m:parameters(), {lr = 1e-3}), nn.CrossEntropyLoss(), X, y_class, 10)
  assert_falls(losses, "swapped head")
  for name, p in m:named_parameters() do T.assert_equal(changed(p, snap[name]), true, name) end
  -- swapping back to the binary head restores a loadable model
  m.fc4 = nn.Linear(32, 1)
  local r = m:load_state_dict(saved)
  T.assert_equal(r.mismatched, {})
end)

T.case("fine-tuning: freeze the first layer, add fc4 (16) and fc5 (3)", function()
  local m = FineTuned(20)
  m:load_state_dict(saved)
  local ps = m:parameters()
  ps[1].requires_grad = false
  ps[2].requires_grad = false
  m.fc4 = nn.Linear(32, 16)
  m.fc5 = nn.Linear(16, 3)
  T.assert_equal(param_names(m), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias", "fc5.weight", "fc5.bias"})
  -- only the trainable ones go to the optimizer (the seed's filter(...)); all would do too
  local trainable = {}
  for _, p in ipairs(m:parameters()) do if p.requires_grad then trainable[#trainable + 1] = p end end
  T.assert_equal(#trainable, 8)
  local w1 = values(m.fc1.weight)
  local losses = train(m, optim.Adam(trainable, {lr = 1e-3}), nn.CrossEntropyLoss(), X, y_class, 10)
  assert_falls(losses, "fine-tuning")
  bit_identical(m.fc1.weight, w1, "fc1 frozen")
  T.assert_equal(m.fc5.weight.grad ~= nil, true)
  -- the seed's mistake (fc5 defined, never called): the runtime says so
  local seed_bug = FFNNClassifier(20)
  seed_bug.fc4 = nn.Linear(32, 16)
  seed_bug.fc5 = nn.Linear(16, 3)
  local buf, saved_stderr = {}, io.stderr
  io.stderr = {write = function(self, ...) for _, s in ipairs({...}) do buf[#buf + 1] = s end return self end}
  local ok, err = pcall(function()
    F.cross_entropy(seed_bug(X), X:narrow(1, 0, 16):argmax(1)):backward()
  end)
  io.stderr = saved_stderr
  assert(ok, err)
  local text = table.concat(buf)
  T.assert_equal(text:find("fc5", 1, true) ~= nil, true, "warns about fc5: " .. text)
end)

-- ================================================================================
T.case("distillation: a smaller StudentModel learns the teacher's soft labels", function()
  local teacher = pretrained
  teacher:eval()
  teacher:zero_grad() -- drop the last pre-training step's gradients
  local soft = lurn.no_grad(function() return teacher(X) end) -- probabilities [N, 1]
  T.assert_equal(soft.requires_grad, false)
  lurn.manual_seed(11)
  local student = StudentModel(20)
  T.assert_equal(student:summary().total < teacher:summary().total / 2, true, "the student is smaller")
  T.assert_equal(param_names(student), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias"})
  local teacher_snap = values(teacher.fc1.weight)
  -- KL between Bernoulli distributions, with log-probabilities as the input (the seed
  -- passed probabilities and printed a negative KL)
  local kld = nn.KLDivLoss({reduction = "batchmean"})
  local function two(p) return lurn.cat({p, 1 - p}, 1) end
  local function loss_fn(out, target) return kld(two(out):clamp(1e-7, 1):log(), two(target)) end
  local losses = train(student, optim.Adam(student:parameters(), {lr = 1e-3}), loss_fn, X, soft, 10)
  assert_falls(losses, "student KL", true)
  for _, l in ipairs(losses) do T.assert_equal(l >= -1e-6, true, "KL is never negative") end
  bit_identical(teacher.fc1.weight, teacher_snap, "the teacher does not move")
  T.assert_equal(teacher.fc1.weight.grad, nil)
  teacher:train()
end)

T.case("distillation: F.distillation_loss with a multi-class teacher", function()
  lurn.manual_seed(12)
  local teacher = FFNNClassifier(20)
  teacher.fc4 = nn.Linear(32, 3)
  train(teacher, optim.Adam(teacher:parameters(), {lr = 1e-2}), nn.CrossEntropyLoss(), X, y_class, 20)
  teacher:eval()
  local t_logits = lurn.no_grad(function() return teacher(X) end)
  local student = StudentModel(20, 3)
  local opt = optim.Adam(student:parameters(), {lr = 5e-3})
  local losses = {}
  for epoch = 1, 15 do
    opt:zero_grad()
    local loss = F.distillation_loss(student(X), t_logits, y_class, {T = 4, alpha = 0.7})
    loss:backward()
    opt:step()
    losses[epoch] = loss:item()
  end
  assert_falls(losses, "distillation_loss")
  -- with the teacher's output still attached to its graph, no gradient reaches it
  teacher:zero_grad()
  local live = teacher(X)
  F.distillation_loss(student(X), live, y_class):backward()
  for name, p in teacher:named_parameters() do T.assert_equal(p.grad, nil, name) end
end)

-- ================================================================================
T.case("MTLModel: the loss is the sum of both task losses; both heads get gradients", function()
  lurn.manual_seed(13)
  local m = MTLModel(20)
  T.assert_equal(param_names(m), {"shared_fc1.weight", "shared_fc1.bias", "shared_fc2.weight",
    "shared_fc2.bias", "classification_fc.weight", "classification_fc.bias",
    "regression_fc.weight", "regression_fc.bias"})
  local criterion_class, criterion_reg = nn.BCELoss(), nn.MSELoss()
  local xb, ycb, yrb = X:narrow(0, 0, 32), y_binary:narrow(0, 0, 32), y_reg:narrow(0, 0, 32)
  -- gradients of each task alone
  local function grads_of(loss_fn)
    m:zero_grad()
    local c, r = m(xb)
    loss_fn(c, r):backward()
    local g = {}
    for name, p in m:named_parameters() do g[name] = p.grad and values(p.grad) or false end
    return g
  end
  local g_class = grads_of(function(c) return criterion_class(c, ycb) end)
  local g_reg = grads_of(function(_, r) return criterion_reg(r, yrb) end)
  -- each head only gets its own task's gradient
  T.assert_equal(g_class["regression_fc.weight"], false)
  T.assert_equal(g_reg["classification_fc.weight"], false)
  -- the sum
  m:zero_grad()
  local c, r = m(xb)
  local loss_class, loss_reg = criterion_class(c, ycb), criterion_reg(r, yrb)
  local loss = loss_class + loss_reg
  T.assert_close(loss:item(), loss_class:item() + loss_reg:item(), 1e-6, 1e-6)
  loss:backward()
  T.assert_equal(m.classification_fc.weight.grad ~= nil, true)
  T.assert_equal(m.regression_fc.weight.grad ~= nil, true)
  T.assert_equal(m.classification_fc.bias.grad ~= nil, true)
  T.assert_equal(m.regression_fc.bias.grad ~= nil, true)
  T.assert_close(m.classification_fc.weight.grad, {g_class["classification_fc.weight"]}, 1e-6, 1e-5)
  T.assert_close(m.regression_fc.weight.grad, {g_reg["regression_fc.weight"]}, 1e-6, 1e-5)
  -- the shared trunk gets the sum of both tasks' gradients
  for _, name in ipairs({"shared_fc1.weight", "shared_fc1.bias", "shared_fc2.weight", "shared_fc2.bias"}) do
    local p
    for n, q in m:named_parameters() do if n == name then p = q end end
    local want = {}
    for i, v in ipairs(g_class[name]) do want[i] = v + g_reg[name][i] end
    T.assert_close(values(p.grad), want, 1e-6, 1e-4, name .. " = class + reg")
  end
end)

T.case("MTLModel: mini-batch training over epochs, both losses fall", function()
  lurn.manual_seed(14)
  local m = MTLModel(20)
  local criterion_class, criterion_reg = nn.BCELoss(), nn.MSELoss()
  local opt = optim.Adam(m:parameters(), {lr = 1e-3})
  local function full_losses()
    local c, r = lurn.no_grad(function() return m(X) end)
    return criterion_class(c, y_binary):item(), criterion_reg(r, y_reg):item()
  end
  local c0, r0 = full_losses()
  local bs = 32
  for _ = 1, 8 do
    m:train()
    for start = 0, N - 1, bs do
      local n = math.min(bs, N - start)
      local xb = X:narrow(0, start, n)
      opt:zero_grad()
      local c, r = m(xb)
      local loss = criterion_class(c, y_binary:narrow(0, start, n)) + criterion_reg(r, y_reg:narrow(0, start, n))
      loss:backward()
      opt:step()
    end
  end
  m:eval()
  local c1, r1 = full_losses()
  T.assert_equal(c1 < c0, true, ("classification loss falls %.4f -> %.4f"):format(c0, c1))
  T.assert_equal(r1 < r0, true, ("regression loss falls %.4f -> %.4f"):format(r0, r1))
  -- predictions for both tasks on the test data
  local cp, rp = lurn.no_grad(function() return m(X_test) end)
  T.assert_shape(cp, {50, 1})
  T.assert_shape(rp, {50, 1})
  -- the same model restored from a state_dict table predicts the same
  local sd = {}
  for k, v in pairs(m:state_dict()) do sd[k] = v:clone() end
  local m2 = MTLModel(20)
  m2:load_state_dict(sd)
  local cp2, rp2 = lurn.no_grad(function() return m2(X_test) end)
  T.assert_close(cp2, cp, 0, 0)
  T.assert_close(rp2, rp, 0, 0)
end)

T.finish("test_seed_models.lua")
