-- SGD with momentum, dampening, Nesterov and weight decay (PyTorch's update rule).
local lurn = require "lurn"
local class = require "lurn.class"
local Optimizer = require "lurn.optim.optimizer"

local SGD = class("SGD", Optimizer)
local sgd_group = lurn._sgd_group

function SGD:__init(params, opts)
  if opts == nil then opts = {} end -- false is a mistake, named below
  if type(opts) ~= "table" then
    error(("SGD: options must be a table such as {lr = 0.01}, got %s"):format(type(opts)), 3)
  end
  local d = {lr = opts.lr or 1e-3, momentum = opts.momentum or 0, dampening = opts.dampening or 0,
             weight_decay = opts.weight_decay or 0, nesterov = opts.nesterov or false}
  if d.nesterov and (d.momentum <= 0 or d.dampening ~= 0) then
    error("SGD: nesterov needs momentum > 0 and dampening = 0", 2)
  end
  Optimizer.__init(self, params, d)
end

-- each group's update runs in C (lurn._sgd_group); state: {momentum_buffer}
function SGD:step()
  for _, g in ipairs(self.param_groups) do sgd_group(g, self.state) end
end

return SGD
