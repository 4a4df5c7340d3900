-- Cell 3: feature extraction. The pre-trained network is frozen and only a new 3-class
-- head is trained.
-- Fixed from the notebook: its forward still applied the sigmoid to the 3-class head and
-- fed those squashed values to CrossEntropyLoss, which expects logits; here the head's
-- logits go to the loss.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local models = require "models"

local X, y = models.synthetic(300, 3)
local X_train, X_test, y_train, y_test = data.train_test_split(X, y, {test_size = 0.2, random_state = 42})

local model = models.FFNNModel(X.shape[2])
model:load_state_dict(lurn.load(models.checkpoint))
model:freeze()                          -- every pre-trained layer
model.fc4 = nn.Linear(32, 3)            -- the new head, in fc4's slot (trainable)

local criterion = nn.CrossEntropyLoss()
local optimizer = optim.Adam(model.fc4:parameters(), {lr = 0.001})

for epoch = 1, 5 do
  model:train()
  optimizer:zero_grad()
  local loss = criterion(model:logits(X_train), y_train)
  local l = lurn.check_loss(loss, "feature extraction epoch %d", epoch) -- NaN/Inf: stop, say where
  loss:backward()
  optimizer:step()
  print(("Epoch %d, Loss: %.6f"):format(epoch, l))
end

model:eval()
lurn.no_grad(function()
  local logits = model:logits(X_test)
  print(("Feature extractor model test loss: %.6f"):format(criterion(logits, y_test):item()))
  local acc = logits:argmax(1):eq(y_test):float():mean():item()
  print(("Feature extractor model accuracy: %.4f"):format(acc))
end)
