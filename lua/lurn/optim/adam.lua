-- Adam and AdamW (decoupled weight decay), with amsgrad; PyTorch's update rules.
local lurn = require "lurn"
local class = require "lurn.class"
local Optimizer = require "lurn.optim.optimizer"

local adam_step = lurn._adam_step

local function make(name, decoupled, default_wd)
  local cls = class(name, Optimizer)
  function cls:__init(params, opts)
    opts = opts or {}
    local betas = opts.betas or {0.9, 0.999}
    if betas[1] < 0 or betas[1] >= 1 or betas[2] < 0 or betas[2] >= 1 then
      error(name .. ": betas must be in [0, 1)", 2)
    end
    Optimizer.__init(self, params, {lr = opts.lr or 1e-3, betas = betas, eps = opts.eps or 1e-8,
      weight_decay = opts.weight_decay or default_wd, amsgrad = opts.amsgrad or false})
  end
  function cls:step()
    self:each_param(function(p, grad, st, g)
      if not st.step then
        st.step = 0
        st.exp_avg, st.exp_avg_sq = lurn.zeros_like(p), lurn.zeros_like(p)
        if g.amsgrad then st.max_exp_avg_sq = lurn.zeros_like(p) end
      end
      st.step = st.step + 1
      adam_step(p, grad, st.exp_avg, st.exp_avg_sq, g.amsgrad and st.max_exp_avg_sq or nil,
                g, st.step, decoupled)
    end)
  end
  return cls
end

return {Adam = make("Adam", false, 0), AdamW = make("AdamW", true, 1e-2)}
