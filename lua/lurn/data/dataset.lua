-- data.TensorDataset(X, y, ...): tensors sharing their first dim. Samples are 0-based
-- like everything else in lurn: ds:get(0) returns the first row of each tensor, ds[0]
-- the same as a list, #ds the number of samples. Any Lua object with __len and get(i)
-- (or integer __index) is a dataset too.
local lurn = require "lurn"
local class = require "lurn.class"

local TensorDataset = class("TensorDataset")

function TensorDataset:__init(...)
  local tensors = {...}
  if #tensors == 0 then error("TensorDataset: expected at least one tensor", 3) end
  for i, t in ipairs(tensors) do
    if not lurn.is_tensor(t) or t:dim() == 0 then
      error(("TensorDataset: argument %d must be a tensor with at least 1 dim"):format(i), 3)
    end
    if t:size(0) ~= tensors[1]:size(0) then
      error(("TensorDataset: tensor %d has %d rows but tensor 1 has %d"):format(
        i, t:size(0), tensors[1]:size(0)), 3)
    end
  end
  rawset(self, "tensors", tensors)
end

function TensorDataset.__len(self) return rawget(self, "tensors")[1]:size(0) end

function TensorDataset:get(i)
  local n = #self
  if math.type(i) ~= "integer" or i < -n or i >= n then
    error(("TensorDataset: index %s out of range for %d samples"):format(tostring(i), n), 2)
  end
  if i < 0 then i = i + n end
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t:narrow(0, i, 1):squeeze(0) end
  return table.unpack(out)
end

local methods_index = TensorDataset.__index
function TensorDataset.__index(self, k)
  if math.type(k) == "integer" then return {self:get(k)} end
  return methods_index[k]
end

--- the rows `idx` (an int64 tensor or a list of 0-based indices) as a new dataset
function TensorDataset:subset(idx)
  if not lurn.is_tensor(idx) then idx = lurn.tensor(idx, "int64") end
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t:index_select(0, idx) end
  return TensorDataset(table.unpack(out))
end

return TensorDataset
