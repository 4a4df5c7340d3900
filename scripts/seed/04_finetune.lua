-- Cell 4: fine-tuning. fc1 stays frozen, fc2 and fc3 train, and the head becomes two new
-- layers: fc4 (32 -> 16) and fc5 (16 -> 3).
-- Fixed from the notebook: it added fc5 but its forward never called it, so the 16-unit
-- fc4 (through a sigmoid) was fed to a 3-class loss; here forward goes through fc5.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, F, optim, data = lurn.nn, lurn.nn.functional, lurn.optim, lurn.data
local models = require "models"

local X, y = models.synthetic(400, 3)
local X_train, X_test, y_train, y_test = data.train_test_split(X, y, {test_size = 0.2, random_state = 42})

local FineTuned = models.FFNNModel:extend("FineTuned")
function FineTuned:forward(x)
  x = F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))))
  return self.fc5(F.relu(self.fc4(x)))    -- logits of the 3 classes
end

local model = FineTuned(X.shape[2])
model:load_state_dict(lurn.load(models.checkpoint))
model:freeze("fc1")
model.fc4 = nn.Linear(32, 16)
model.fc5 = nn.Linear(16, 3)

local criterion = nn.CrossEntropyLoss()
local optimizer = optim.Adam(model:parameters(), {lr = 0.001})   -- frozen fc1 is skipped

for epoch = 1, 5 do
  model:train()
  optimizer:zero_grad()
  local loss = criterion(model(X_train), y_train)
  local l = lurn.check_loss(loss, "fine-tuning epoch %d", epoch) -- NaN/Inf: stop, say where
  loss:backward()
  optimizer:step()
  print(("Epoch %d, Loss: %.6f"):format(epoch, l))
end

model:eval()
lurn.no_grad(function()
  local output = model(X_test)
  print(("Fine-tuned model test loss: %.6f"):format(criterion(output, y_test):item()))
  local accuracy = output:argmax(1):eq(y_test):float():mean():item()
  print(("Fine-tuned model accuracy: %.4f"):format(accuracy))
end)
print(model:summary())
