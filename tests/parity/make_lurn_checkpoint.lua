-- Writes tests/fixtures/lurn_ffnn.safetensors: a lurn-initialised seed FFNN (20-128-64-32-1)
-- for gen_checkpoint.py to load into PyTorch. Run: build/lurn tests/parity/make_lurn_checkpoint.lua
local lurn = require "lurn"
local nn = lurn.nn
local here = arg[0]:match("^(.*)/[^/]*$")

lurn.manual_seed(123)
local FFNN = nn.Module:extend("FFNNModel")
function FFNN:__init(n)
  self.fc1 = nn.Linear(n, 128); self.fc2 = nn.Linear(128, 64)
  self.fc3 = nn.Linear(64, 32); self.fc4 = nn.Linear(32, 1)
end
local m = FFNN(20)
lurn.save(m:state_dict(), here .. "/../fixtures/lurn_ffnn.safetensors",
  {metadata = {written_by = "tests/parity/make_lurn_checkpoint.lua"}})
print("wrote lurn_ffnn.safetensors")
