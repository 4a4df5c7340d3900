-- Learning-rate schedules over an optimizer's groups, stepped once per epoch:
-- StepLR, CosineAnnealingLR, LambdaLR (PyTorch's closed forms).
local lurn = require "lurn"
local class = require "lurn.class"

local function got(v) return lurn.is_tensor(v) and "tensor" or type(v) end

-- The arguments every constructor takes: (optimizer, options). Raised above the class
-- call (__init, then class's __call): at the caller's line.
local function check_args(name, opt, o, example)
  if type(opt) ~= "table" or type(opt.param_groups) ~= "table" then
    error(("%s: expected an optimizer such as optim.SGD(model:parameters(), {lr = 0.1}), got %s"):format(
      name, got(opt)), 4)
  end
  if type(o) ~= "table" then
    error(("%s: options must be a table such as %s, got %s"):format(name, example, got(o)), 4)
  end
end

-- a number option of a constructor: > min, or >= min when inclusive
local function check_number(name, key, v, min, inclusive)
  if type(v) ~= "number" or v ~= v or v < min or (not inclusive and v == min) then
    error(("%s: %s must be a number %s %s, got %s"):format(name, key, inclusive and ">=" or ">", min,
      type(v) == "number" and tostring(v) or got(v)), 4)
  end
end

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

-- lr_at(base_lr, epoch): the learning rate at an epoch of a group that started at base_lr
local function check_lr_at(self, base, epoch)
  if type(base) ~= "number" or type(epoch) ~= "number" then
    error(("%s:lr_at(base_lr, epoch): expected two numbers, got %s and %s"):format(
      self.__name, got(base), got(epoch)), 3)
  end
end

local StepLR = class("StepLR", Scheduler)
function StepLR:__init(opt, o)
  check_args("StepLR", opt, o, "{step_size = 10, gamma = 0.1}")
  if o.step_size == nil then error("StepLR: step_size is required", 3) end
  if math.type(o.step_size) ~= "integer" or o.step_size < 1 then
    error(("StepLR: step_size must be a positive integer, got %s"):format(
      type(o.step_size) == "number" and tostring(o.step_size) or got(o.step_size)), 3)
  end
  if o.gamma ~= nil then check_number("StepLR", "gamma", o.gamma, 0, true) end
  self.step_size, self.gamma = o.step_size, o.gamma or 0.1
  Scheduler.__init(self, opt)
end
function StepLR:lr_at(base, epoch)
  check_lr_at(self, base, epoch)
  return base * self.gamma ^ (epoch // self.step_size)
end

local CosineAnnealingLR = class("CosineAnnealingLR", Scheduler)
function CosineAnnealingLR:__init(opt, o)
  check_args("CosineAnnealingLR", opt, o, "{T_max = 50}")
  if o.T_max == nil then error("CosineAnnealingLR: T_max is required", 3) end
  check_number("CosineAnnealingLR", "T_max", o.T_max, 0, false)
  if o.eta_min ~= nil then check_number("CosineAnnealingLR", "eta_min", o.eta_min, 0, true) end
  self.T_max, self.eta_min = o.T_max, o.eta_min or 0
  Scheduler.__init(self, opt)
end
function CosineAnnealingLR:lr_at(base, epoch)
  check_lr_at(self, base, epoch)
  return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
end

local LambdaLR = class("LambdaLR", Scheduler)
function LambdaLR:__init(opt, o)
  check_args("LambdaLR", opt, o, "{lr_lambda = function(epoch) return 0.95 ^ epoch end}")
  if type(o.lr_lambda) ~= "function" then
    error(("LambdaLR: lr_lambda function is required, got %s"):format(got(o.lr_lambda)), 3)
  end
  self.lr_lambda = o.lr_lambda
  Scheduler.__init(self, opt)
end
function LambdaLR:lr_at(base, epoch)
  check_lr_at(self, base, epoch)
  local f = self.lr_lambda(epoch)
  if type(f) ~= "number" then
    error(("LambdaLR: lr_lambda(%s) returned %s, expected a number (the factor on the base learning rate)")
      :format(tostring(epoch), got(f)), 2)
  end
  return base * f
end

return {StepLR = StepLR, CosineAnnealingLR = CosineAnnealingLR, LambdaLR = LambdaLR}
