-- Cell 1: pre-train the FFNN on a binary task and save its weights.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local models = require "models"

local X, y = models.synthetic(1000, 2)
y = y:float():unsqueeze(1)
local X_train, X_test, y_train, y_test = data.train_test_split(X, y, {test_size = 0.2, random_state = 42})

local model = models.FFNNModel(X_train.shape[2])
local criterion = nn.BCELoss()
local optimizer = optim.Adam(model:parameters(), {lr = 0.001})

for epoch = 1, 10 do
  model:train()
  optimizer:zero_grad()
  local loss = criterion(model(X_train), y_train)
  local l = lurn.check_loss(loss, "pre-training epoch %d", epoch) -- NaN/Inf: stop, say where
  loss:backward()
  optimizer:step()
  print(("Epoch %d, Loss: %.6f"):format(epoch, l))
end

model:eval()
local test_loss = lurn.no_grad(function() return criterion(model(X_test), y_test) end)
print(("Test Loss: %.6f"):format(test_loss:item()))

lurn.save(model:state_dict(), models.checkpoint)
print("saved " .. models.checkpoint)
