-- Parameter-free layers: ReLU, Sigmoid, Tanh, Softmax(dim), LogSoftmax(dim), Identity,
-- Dropout(p), Flatten(start_dim, end_dim).
local lurn = require "lurn"
local Module = require "lurn.nn.module"

local M = {}

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
  function cls:forward(x) return fn(x, self.dim) end
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
  local shape, n = x.shape, x:dim()
  local s, e = self.start_dim % math.max(n, 1), self.end_dim % math.max(n, 1)
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
