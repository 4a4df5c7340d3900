-- Adam and AdamW (decoupled weight decay), with amsgrad; PyTorch's update rules.
local lurn = require "lurn"
local class = require "lurn.class"
local Optimizer = require "lurn.optim.optimizer"

local adam_group = lurn._adam_group

local function make(name, decoupled, default_wd)
  local cls = class(name, Optimizer)
  function cls:__init(params, opts)
    if opts == nil then opts = {} end -- false is a mistake, named below
    if type(opts) ~= "table" then
      error(("%s: options must be a table such as {lr = 0.001}, got %s"):format(name, type(opts)), 3)
    end
    local betas = opts.betas or {0.9, 0.999}
    if betas[1] < 0 or betas[1] >= 1 or betas[2] < 0 or betas[2] >= 1 then
      error(name .. ": betas must be in [0, 1)", 2)
    end
    Optimizer.__init(self, params, {lr = opts.lr or 1e-3, betas = betas, eps = opts.eps or 1e-8,
      weight_decay = opts.weight_decay or default_wd, amsgrad = opts.amsgrad or false})
  end
  -- each group's update runs in C (lurn._adam_group): state tables keyed by parameter,
  -- {step, exp_avg, exp_avg_sq [, max_exp_avg_sq]}, created on a parameter's first step
  function cls:step()
    for _, g in ipairs(self.param_groups) do adam_group(g, self.state, decoupled) end
  end
  return cls
end

return {Adam = make("Adam", false, 0), AdamW = make("AdamW", true, 1e-2)}
