-- data.DataLoader(dataset, {batch_size = 1, shuffle = false, drop_last = false, seed = nil})
--   for xb, yb in loader:iter() do ... end      -- one epoch; #loader batches
-- A TensorDataset is batched in C: one narrow (no copy) per tensor in order, or one
-- index_select per tensor when shuffled. Shuffling draws a new permutation every epoch,
-- from the loader's own generator when `seed` is given, else from lurn.manual_seed's.
local lurn = require "lurn"
local class = require "lurn.class"
local TensorDataset = require "lurn.data.dataset"

local DataLoader = class("DataLoader")

function DataLoader:__init(dataset, opts)
  opts = opts or {}
  if lurn.is_tensor(dataset) then
    error("DataLoader: expected a dataset, got a tensor; wrap tensors in data.TensorDataset(X, y)", 3)
  end
  -- a dataset (see data/dataset.lua): get(i) and #, or an integer __index and __len
  local mt = (type(dataset) == "table" or type(dataset) == "userdata") and getmetatable(dataset)
  if not mt or not (type(dataset.get) == "function" or (mt.__index and mt.__len))
      or lurn.nn.Module.is_module(dataset) then
    error(("DataLoader: expected a dataset (an object with :get(i) and #, such as "
      .. "data.TensorDataset), got %s"):format(type(dataset)), 3)
  end
  if type(opts) ~= "table" then
    error(("DataLoader: options must be a table such as {batch_size = 32}, got %s"):format(type(opts)), 3)
  end
  local bs = opts.batch_size or 1
  if math.type(bs) ~= "integer" or bs < 1 then
    error("DataLoader: batch_size must be a positive integer", 3)
  end
  for _, k in ipairs({"shuffle", "drop_last"}) do
    if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
      error(("DataLoader: %s must be true or false, got %s"):format(k, type(opts[k])), 3)
    end
  end
  if opts.seed ~= nil and math.type(opts.seed) ~= "integer" then
    error(("DataLoader: seed must be an integer, got %s"):format(tostring(opts.seed)), 3)
  end
  self.dataset, self.batch_size = dataset, bs
  self.shuffle, self.drop_last = opts.shuffle or false, opts.drop_last or false
  if opts.seed ~= nil then self.generator = lurn.random.RandomState(opts.seed) end
end

function DataLoader.__len(self)
  local n = #self.dataset
  if self.drop_last then return n // self.batch_size end
  return (n + self.batch_size - 1) // self.batch_size
end

local function order(self, n)
  if not self.shuffle then return nil end
  if self.generator then return self.generator:permutation(n) end
  return lurn.randperm(n)
end

-- generic datasets: gather samples one by one and stack each field
local function collate(dataset, idx_list)
  local fields = {}
  for j, i in ipairs(idx_list) do
    local sample = dataset.get and {dataset:get(i)} or dataset[i] -- a list {x, y, ...}
    for k, v in ipairs(sample) do
      fields[k] = fields[k] or {}
      fields[k][j] = lurn.is_tensor(v) and v or lurn.tensor(v)
    end
  end
  for k, list in ipairs(fields) do fields[k] = lurn.stack(list, 0) end
  return table.unpack(fields)
end

--- iterator over the batches of one epoch
function DataLoader:iter()
  local ds, bs = self.dataset, self.batch_size
  local n = #ds
  local nb = #self
  local perm = order(self, n)
  local tensors = getmetatable(ds) == TensorDataset and ds.tensors or nil
  local b = 0
  return function()
    if b >= nb then return nil end
    local start = b * bs
    local len = math.min(bs, n - start)
    b = b + 1
    if tensors then
      local out = {}
      local idx = perm and perm:narrow(0, start, len)
      for k, t in ipairs(tensors) do
        out[k] = idx and t:index_select(0, idx) or t:narrow(0, start, len)
      end
      return table.unpack(out)
    end
    local list = {}
    for j = 1, len do list[j] = start + j - 1 end
    if perm then
      local p = perm:narrow(0, start, len):totable()
      for j = 1, len do list[j] = p[j] end
    end
    return collate(ds, list)
  end
end

DataLoader.__call = DataLoader.iter

return DataLoader
