-- nn.Linear(in_features, out_features, {bias = true}): y = x W^T + b, with W [out, in]
-- as in PyTorch. One GEMM plus a fused bias pass in C; backward computes only the
-- gradients that are needed (none for a frozen weight, no input gradient for layer 1).
local lurn = require "lurn"
local Module = require "lurn.nn.module"

local Linear = Module:extend("Linear")
local linear_try = lurn._linear_try

function Linear:__init(in_features, out_features, opts)
  assert(math.type(in_features) == "integer" and in_features > 0, "Linear: in_features must be a positive integer")
  assert(math.type(out_features) == "integer" and out_features > 0, "Linear: out_features must be a positive integer")
  if opts == nil then opts = {} end -- false is a mistake, named below
  if type(opts) ~= "table" then -- above the class call: the caller's line
    error(("Linear: options must be a table such as {bias = false}, got %s"):format(
      lurn.is_tensor(opts) and "tensor" or type(opts)), 3)
  end
  self.in_features, self.out_features = in_features, out_features
  -- PyTorch's default: kaiming_uniform(a = sqrt(5)) on the weight, which is
  -- U(-1/sqrt(in), 1/sqrt(in)), and the same bound for the bias
  local bound = 1 / math.sqrt(in_features)
  self.weight = Module.Parameter(lurn.empty(out_features, in_features):uniform_(-bound, bound))
  if opts.bias ~= false then
    self.bias = Module.Parameter(lurn.empty(out_features):uniform_(-bound, bound))
  end
end

-- relu = true: relu(linear(x)) fused (nn.Sequential passes it for a Linear then ReLU)
function Linear:forward(x, relu)
  local v = rawget(self, "_values")
  local y, err = linear_try(x, v.weight, v.bias, relu)
  if y then return y end
  -- the core's message ("linear: input has shape ...") with the module's path and sizes
  local path = self:path() -- "" for a Linear used on its own
  error(("%s(Linear %d->%d): %s"):format(path == "" and "" or path .. " ", v.in_features, v.out_features,
    (tostring(err):gsub("^linear: ", ""))), 3)
end

function Linear:extra_repr()
  return ("in_features=%d, out_features=%d, bias=%s"):format(
    self.in_features, self.out_features, tostring(self.bias ~= nil))
end

return Linear
