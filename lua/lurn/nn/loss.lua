-- Loss modules: thin callable wrappers over nn.functional, named in their errors.
local lurn = require "lurn"
local Module = require "lurn.nn.module"
local F = require "lurn.nn.functional"

local M = {}

local function loss_class(name, fn)
  local cls = Module:extend(name)
  function cls:__init(opts)
    if opts ~= nil and type(opts) ~= "table" then -- above the class call: the caller's line
      error(("%s: options must be a table such as {reduction = \"sum\"}, got %s"):format(
        name, lurn.is_tensor(opts) and "tensor" or type(opts)), 3)
    end
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    o.name = name
    self.opts = o
  end
  function cls:forward(input, target) return fn(input, target, self.opts) end
  function cls:extra_repr() return "reduction=" .. tostring(self.opts.reduction or "mean") end
  M[name] = cls
end

loss_class("MSELoss", F.mse_loss)
loss_class("L1Loss", F.l1_loss)
loss_class("SmoothL1Loss", F.smooth_l1_loss)
loss_class("BCELoss", F.binary_cross_entropy)
loss_class("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits)
loss_class("CrossEntropyLoss", F.cross_entropy)
loss_class("NLLLoss", F.nll_loss)
loss_class("KLDivLoss", F.kl_div)

return M
