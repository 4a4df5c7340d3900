-- Parameter-free layers: ReLU, Sigmoid, Tanh, Softmax(dim), LogSoftmax(dim), Identity,
-- Dropout(p), Flatten(start_dim, end_dim).
local lurn = require "lurn"
local Module = require "lurn.nn.module"

local M = {}
local is_tensor, shape_str = lurn.is_tensor, Module.shape_str

-- "trunk.3 (Softmax)", or "Softmax" for a module that is not inside another
local function label(m, what)
  local path = m:path()
  return path == "" and what or path .. " (" .. what .. ")"
end

-- a dim for an n-d input must be in -n..n-1 (a 0-d tensor counts as 1-d, as in PyTorch)
local function check_dim(m, what, x, d, argname)
  local n = math.max(x:dim(), 1)
  if d < -n or d >= n then
    error(("%s: %s %d is out of range for input of shape %s (expected %d..%d)"):format(
      label(m, what), argname, d, shape_str(x.shape), -n, n - 1), 3)
  end
end

local function simple(name, fn)
  local cls = Module:extend(name)
  function cls:forward(x) return fn(x) end
  M[name] = cls
end
simple("ReLU", lurn.relu)
simple("Sigmoid", lurn.sigmoid)
simple("Tanh", lurn.tanh)
simple("Identity", function(x) return x end)

local function with_dim(name, fn)
  local cls = Module:extend(name)
  function cls:__init(dim)
    assert(math.type(dim) == "integer", name .. ": dim must be given (e.g. " .. name .. "(1))")
    self.dim = dim
  end
  function cls:forward(x)
    local d = self.dim
    if is_tensor(x) then check_dim(self, name, x, d, "dim") end
    return fn(x, d)
  end
  function cls:extra_repr() return "dim=" .. self.dim end
  M[name] = cls
end
with_dim("Softmax", lurn.softmax)
with_dim("LogSoftmax", lurn.log_softmax)

--- Zeroes each element with probability p in training and scales the rest by 1/(1-p);
--- the identity in eval mode.
local function dropout(x, p, training)
  if not training or p == 0 then return x end
  if p == 1 then return x * 0 end
  local keep = lurn.rand_like(x):ge(p):float()
  return x * keep * (1 / (1 - p))
end
M.dropout = dropout

local Dropout = Module:extend("Dropout")
function Dropout:__init(p)
  p = p or 0.5
  assert(type(p) == "number" and p >= 0 and p <= 1, "Dropout: p must be in [0, 1]")
  self.p = p
end
function Dropout:forward(x) return dropout(x, self.p, self.training) end
function Dropout:extra_repr() return "p=" .. self.p end
M.Dropout = Dropout

local Flatten = Module:extend("Flatten")
function Flatten:__init(start_dim, end_dim)
  self.start_dim, self.end_dim = start_dim or 1, end_dim or -1
end
function Flatten:forward(x)
  if not is_tensor(x) then error(("%s: expected a tensor, got %s"):format(label(self, "Flatten"), type(x)), 2) end
  local shape, n = x.shape, x:dim()
  check_dim(self, "Flatten", x, self.start_dim, "start_dim")
  check_dim(self, "Flatten", x, self.end_dim, "end_dim")
  local s, e = self.start_dim % math.max(n, 1), self.end_dim % math.max(n, 1)
  if s > e then
    error(("%s: start_dim %d comes after end_dim %d for input of shape %s"):format(
      label(self, "Flatten"), self.start_dim, self.end_dim, shape_str(shape)), 2)
  end
  local out, flat = {}, 1
  for i = 0, n - 1 do
    if i < s or i > e then out[#out + 1] = shape[i + 1]
    else
      flat = flat * shape[i + 1]
      if i == e then out[#out + 1] = flat end
    end
  end
  return x:reshape(out)
end
M.Flatten = Flatten

return M
