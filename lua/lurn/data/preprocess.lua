-- Preprocessing users reach for: standardisation fitted on the training set, one-hot
-- labels, selecting classes, and k labelled examples per class.
local lurn = require "lurn"
local class = require "lurn.class"

local M = {}

-- an argument check that blames the caller of the public function
local function check(ok, fmt, ...)
  if not ok then error(fmt:format(...), 3) end
end
local function is_int(v) return math.type(v) == "integer" end

--- StandardScaler():fit(X) learns per-column mean and (population) std; transform(X)
--- applies them. Constant columns keep scale 1, as scikit-learn does.
local StandardScaler = class("StandardScaler")
function StandardScaler:fit(X)
  if not lurn.is_tensor(X) or X:dim() ~= 2 then error("StandardScaler: fit expects [N, D]", 2) end
  lurn.no_grad(function()
    self.mean = X:mean(0, true)
    local var = ((X - self.mean) ^ 2):mean(0, true)
    local std = var:sqrt()
    self.scale = lurn.where(std:gt(0), std, 1)
  end)
  return self
end
function StandardScaler:transform(X)
  if not self.mean then error("StandardScaler: call fit first", 2) end
  return (X - self.mean) / self.scale
end
function StandardScaler:fit_transform(X) return self:fit(X):transform(X) end
function StandardScaler:inverse_transform(X) return X * self.scale + self.mean end
M.StandardScaler = StandardScaler

--- standardize(Xtrain, Xother...): fit on the first, apply to all; returns them and the scaler
function M.standardize(Xtrain, ...)
  local s = StandardScaler():fit(Xtrain)
  local out = {s:transform(Xtrain)}
  for i = 1, select("#", ...) do out[#out + 1] = s:transform((select(i, ...))) end
  out[#out + 1] = s
  return table.unpack(out)
end

--- one_hot(int64 labels [N], num_classes) -> float32 [N, C]
function M.one_hot(y, num_classes)
  if not lurn.is_tensor(y) or y.dtype ~= "int64" then error("one_hot: expected int64 labels", 2) end
  check(num_classes == nil or is_int(num_classes),
        "one_hot: num_classes must be an integer, got %s", math.type(num_classes) or type(num_classes))
  num_classes = num_classes or y:max():item() + 1
  if y:numel() > 0 and (y:min():item() < 0 or y:max():item() >= num_classes) then
    error(("one_hot: labels must be in [0, %d)"):format(num_classes), 2)
  end
  return y:unsqueeze(-1):eq(lurn.arange(num_classes)):float()
end

--- subset(dataset_or_tensor, indices): rows by 0-based index (tensor or list)
function M.subset(ds, idx)
  check(lurn.is_tensor(ds) or (type(ds) == "table" and type(ds.subset) == "function"),
        "subset: expected a tensor or a dataset, got %s", type(ds))
  check(lurn.is_tensor(idx) or type(idx) == "table",
        "subset: indices must be an int64 tensor or a list, got %s", type(idx))
  if not lurn.is_tensor(idx) then idx = lurn.tensor(idx, "int64") end
  if lurn.is_tensor(ds) then return ds:index_select(0, idx) end
  return ds:subset(idx)
end

--- select_classes(X, y, classes, {remap = true}): the rows whose label is in `classes`
--- (a list), with labels renumbered 0..k-1 in the list's order unless remap = false
function M.select_classes(X, y, classes, opts)
  check(lurn.is_tensor(X), "select_classes: X must be a tensor, got %s", type(X))
  check(lurn.is_tensor(y) and y.dtype == "int64" and y:dim() == 1,
        "select_classes: y must be a 1-d int64 tensor of labels, got %s",
        lurn.is_tensor(y) and (y.dtype .. " of shape [" .. table.concat(y.shape, ", ") .. "]") or type(y))
  check(type(classes) == "table" and #classes > 0,
        "select_classes: classes must be a non-empty list of labels, got %s", type(classes))
  for i, c in ipairs(classes) do
    check(is_int(c), "select_classes: class %d in the list is a %s, not an integer label", i,
          math.type(c) or type(c))
  end
  check(opts == nil or type(opts) == "table", "select_classes: options must be a table, got %s", type(opts))
  opts = opts or {}
  local hits = y:eq(classes[1]):long()
  for i = 2, #classes do hits = hits + y:eq(classes[i]):long() end
  local idx = hits:nonzero()
  local Xs, ys = X:index_select(0, idx), y:index_select(0, idx)
  if opts.remap ~= false then
    local new = lurn.zeros_like(ys)
    for i, c in ipairs(classes) do new = lurn.where(ys:eq(c), i - 1, new) end
    ys = new
  end
  return Xs, ys
end

--- per_class(y, k, {seed}) -> int64 indices of k random examples of every class present,
--- class by class (a labelled subset, as "50 labels per class")
function M.per_class(y, k, opts)
  check(lurn.is_tensor(y) and y.dtype == "int64" and y:dim() == 1,
        "per_class: y must be a 1-d int64 tensor of labels, got %s",
        lurn.is_tensor(y) and (y.dtype .. " of shape [" .. table.concat(y.shape, ", ") .. "]") or type(y))
  check(is_int(k) and k >= 0, "per_class: k must be an integer >= 0, got %s", tostring(k))
  check(opts == nil or type(opts) == "table", "per_class: options must be a table, got %s", type(opts))
  opts = opts or {}
  local rng = lurn.random.RandomState(opts.seed or 0)
  local labels = y:totable()
  local by_class, classes = {}, {}
  for i, v in ipairs(labels) do
    if not by_class[v] then by_class[v] = {}; classes[#classes + 1] = v end
    local list = by_class[v]
    list[#list + 1] = i - 1
  end
  table.sort(classes)
  local out = {}
  for _, c in ipairs(classes) do
    local list = by_class[c]
    if #list < k then
      error(("per_class: class %s has %d examples, fewer than %d"):format(tostring(c), #list, k), 2)
    end
    local p = rng:permutation(#list):totable()
    for j = 1, k do out[#out + 1] = list[p[j] + 1] end
  end
  return lurn.tensor(out, "int64")
end

return M
