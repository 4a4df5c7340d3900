-- The seed notebook's models, shared by the scripts in this folder. The notebook defines
-- the same FFNN four times under four names (FFNNModel, FFNNModelFixed, ...); one class
-- does here. forward returns probabilities as the notebook's does; logits() is the same
-- network without the final sigmoid, for the losses that want logits.
local lurn = require "lurn"
local nn, F = lurn.nn, lurn.nn.functional

local M = {}

M.FFNNModel = nn.Module:extend("FFNNModel")
function M.FFNNModel:__init(input_size)
  self.fc1 = nn.Linear(input_size, 128)
  self.fc2 = nn.Linear(128, 64)
  self.fc3 = nn.Linear(64, 32)
  self.fc4 = nn.Linear(32, 1)
end
function M.FFNNModel:logits(x)
  x = F.relu(self.fc1(x))
  x = F.relu(self.fc2(x))
  x = F.relu(self.fc3(x))
  return self.fc4(x)
end
function M.FFNNModel:forward(x) return self:logits(x):sigmoid() end

M.StudentModel = nn.Module:extend("StudentModel")
function M.StudentModel:__init(input_size)
  self.fc1 = nn.Linear(input_size, 64)
  self.fc2 = nn.Linear(64, 32)
  self.fc3 = nn.Linear(32, 1)
end
function M.StudentModel:logits(x) return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))) end
function M.StudentModel:forward(x) return self:logits(x):sigmoid() end

M.MTLModel = nn.Module:extend("MTLModel")
function M.MTLModel:__init(input_size)
  self.shared_fc1 = nn.Linear(input_size, 64)     -- shared trunk
  self.shared_fc2 = nn.Linear(64, 32)
  self.classification_fc = nn.Linear(32, 1)       -- task 1: binary classification
  self.regression_fc = nn.Linear(32, 1)           -- task 2: regression
end
function M.MTLModel:forward(x)
  local shared = F.relu(self.shared_fc2(F.relu(self.shared_fc1(x))))
  return self.classification_fc(shared):sigmoid(), self.regression_fc(shared)
end

--- The notebook's data: np.random.seed(42) then rand(n, 20) and randint(k, size=n), as
--- float32 tensors. `skip` lists earlier draws {n, k} to replay first, for the cells that
--- continue the notebook's random stream without reseeding.
function M.synthetic(n, classes, skip)
  lurn.random.seed(42)
  for _, s in ipairs(skip or {}) do
    lurn.random.rand(s[1], 20)
    lurn.random.randint(s[2], {s[1]})
  end
  return lurn.random.rand(n, 20), lurn.random.randint(classes, {n})
end

M.checkpoint = "pretrained_model.safetensors"
return M
