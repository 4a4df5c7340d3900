-- Learning-rate schedules over an optimizer's groups, stepped once per epoch:
-- StepLR, CosineAnnealingLR, LambdaLR (PyTorch's closed forms).
local class = require "lurn.class"

local Scheduler = class("LRScheduler")

function Scheduler:__init(opt)
  self.optimizer = opt
  self.base_lrs = {}
  for i, g in ipairs(opt.param_groups) do self.base_lrs[i] = g.lr end
  self.last_epoch = 0
  self:apply()
end

function Scheduler:apply()
  for i, g in ipairs(self.optimizer.param_groups) do
    g.lr = self:lr_at(self.base_lrs[i], self.last_epoch, i)
  end
end

function Scheduler:step()
  self.last_epoch = self.last_epoch + 1
  self:apply()
end

function Scheduler:get_last_lr()
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr end
  return out
end

local StepLR = class("StepLR", Scheduler)
function StepLR:__init(opt, o)
  assert(o and o.step_size, "StepLR: step_size is required")
  self.step_size, self.gamma = o.step_size, o.gamma or 0.1
  Scheduler.__init(self, opt)
end
function StepLR:lr_at(base, epoch) return base * self.gamma ^ (epoch // self.step_size) end

local CosineAnnealingLR = class("CosineAnnealingLR", Scheduler)
function CosineAnnealingLR:__init(opt, o)
  assert(o and o.T_max, "CosineAnnealingLR: T_max is required")
  self.T_max, self.eta_min = o.T_max, o.eta_min or 0
  Scheduler.__init(self, opt)
end
function CosineAnnealingLR:lr_at(base, epoch)
  return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
end

local LambdaLR = class("LambdaLR", Scheduler)
function LambdaLR:__init(opt, o)
  assert(o and type(o.lr_lambda) == "function", "LambdaLR: lr_lambda function is required")
  self.lr_lambda = o.lr_lambda
  Scheduler.__init(self, opt)
end
function LambdaLR:lr_at(base, epoch) return base * self.lr_lambda(epoch) end

return {StepLR = StepLR, CosineAnnealingLR = CosineAnnealingLR, LambdaLR = LambdaLR}
