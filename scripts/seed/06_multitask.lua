-- Cell 6: multi-task learning. A shared trunk feeds a classification head and a
-- regression head; the training loss is the sum of both task losses.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local models = require "models"

local X_mtl, y_class = models.synthetic(1000, 2)
local y_reg = lurn.random.rand(1000):unsqueeze(1)     -- task 2: regression targets
y_class = y_class:float():unsqueeze(1)                -- task 1: binary labels

-- one split for all three (the notebook split twice with the same random_state)
local X_train, X_test, yc_train, yc_test, yr_train, yr_test =
  data.train_test_split(X_mtl, y_class, y_reg, {test_size = 0.2, random_state = 42})
local train_loader = data.DataLoader(data.TensorDataset(X_train, yc_train, yr_train),
                                     {batch_size = 32, shuffle = true})

local model = models.MTLModel(X_train.shape[2])
local criterion_class, criterion_reg = nn.BCELoss(), nn.MSELoss()
local optimizer = optim.Adam(model:parameters(), {lr = 0.001})

for epoch = 1, 10 do
  model:train()
  local loss_class, loss_reg
  local step = 0
  for X_batch, yc_batch, yr_batch in train_loader:iter() do
    step = step + 1
    optimizer:zero_grad()
    local class_pred, reg_pred = model(X_batch)
    loss_class = criterion_class(class_pred, yc_batch)
    loss_reg = criterion_reg(reg_pred, yr_batch)
    local loss = loss_class + loss_reg
    lurn.check_loss(loss, "multi-task epoch %d step %d", epoch, step) -- NaN/Inf: stop, say where
    loss:backward()
    optimizer:step()
  end
  print(("Epoch %d, Classification Loss: %.6f, Regression Loss: %.6f"):format(
    epoch, loss_class:item(), loss_reg:item()))
end

model:eval()
lurn.no_grad(function()
  local class_pred, reg_pred = model(X_test)
  local accuracy = class_pred:round():eq(yc_test):float():mean():item()
  print(("Test Classification Accuracy: %.4f"):format(accuracy))
  print(("Test Regression MSE: %.6f"):format(criterion_reg(reg_pred, yr_test):item()))
  print("Classification Predictions (first 5): " .. tostring(class_pred:narrow(0, 0, 5):view(-1)))
  print("Regression Predictions (first 5): " .. tostring(reg_pred:narrow(0, 0, 5):view(-1)))
end)
