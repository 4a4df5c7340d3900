-- Cell 2: use the pre-trained model as it is, on new data from the same source.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn = lurn.nn
local models = require "models"

-- the notebook draws this data right after cell 1's, without reseeding
local X_fixed, y_fixed = models.synthetic(100, 2, {{1000, 2}})
y_fixed = y_fixed:float():unsqueeze(1)

local model_fixed = models.FFNNModel(X_fixed.shape[2])
model_fixed:load_state_dict(lurn.load(models.checkpoint))
local criterion = nn.BCELoss()

model_fixed:eval()
lurn.no_grad(function()
  local output = model_fixed(X_fixed)
  print(("Fixed pre-trained model test loss: %.6f"):format(criterion(output, y_fixed):item()))
  print("Predictions from fixed pre-trained model: " .. tostring(output:narrow(0, 0, 5):squeeze()))
end)
