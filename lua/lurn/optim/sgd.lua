-- SGD with momentum, dampening, Nesterov and weight decay (PyTorch's update rule).
local lurn = require "lurn"
local class = require "lurn.class"
local Optimizer = require "lurn.optim.optimizer"

local SGD = class("SGD", Optimizer)
local sgd_step = lurn._sgd_step

function SGD:__init(params, opts)
  opts = opts or {}
  local d = {lr = opts.lr or 1e-3, momentum = opts.momentum or 0, dampening = opts.dampening or 0,
             weight_decay = opts.weight_decay or 0, nesterov = opts.nesterov or false}
  if d.nesterov and (d.momentum <= 0 or d.dampening ~= 0) then
    error("SGD: nesterov needs momentum > 0 and dampening = 0", 2)
  end
  Optimizer.__init(self, params, d)
end

function SGD:step()
  self:each_param(function(p, grad, st, g)
    local buf, first = st.momentum_buffer, false
    if g.momentum ~= 0 and not buf then
      buf = lurn.zeros_like(p)
      st.momentum_buffer, first = buf, true
    end
    sgd_step(p, grad, g.momentum ~= 0 and buf or nil, g, first)
  end)
end

return SGD
