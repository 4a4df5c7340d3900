-- Optimizers: SGD, Adam and AdamW steps against PyTorch's update rules written out by
-- hand in Lua (double precision) over three steps; parameter groups, add_param_group,
-- per-group lr, zero_grad, frozen parameters, argument errors; the lr schedulers against
-- their closed forms.
local lurn = require "lurn"
local T = require "testing"
local nn, optim = lurn.nn, lurn.optim
local sched = optim.lr_scheduler

lurn.manual_seed(2024)

local P0 = {0.5, -1.25, 2.0, 0.1}
-- three steps of gradients; some shrink so that amsgrad's running max matters
local GRADS = {
  {1.0, -2.0, 0.5, 0.3},
  {0.1, -0.1, 3.0, -0.4},
  {0.01, 1.0, -0.2, 0.05},
}

local function param(values) return lurn.tensor(values or P0, {requires_grad = true}) end

-- ---- PyTorch's rules, by hand ----
local function sgd_ref(p, grads, o)
  p = {table.unpack(p)}
  local lr, mom, damp, wd = o.lr, o.momentum or 0, o.dampening or 0, o.weight_decay or 0
  local buf
  local traj = {}
  for s, g in ipairs(grads) do
    for i = 1, #p do
      local d = g[i]
      if wd ~= 0 then d = d + wd * p[i] end
      if mom ~= 0 then
        buf = buf or {}
        if s == 1 then buf[i] = d else buf[i] = mom * buf[i] + (1 - damp) * d end
        if o.nesterov then d = d + mom * buf[i] else d = buf[i] end
      end
      p[i] = p[i] - lr * d
    end
    traj[s] = {table.unpack(p)}
  end
  return traj
end

local function adam_ref(p, grads, o, decoupled)
  p = {table.unpack(p)}
  local lr, eps = o.lr or 1e-3, o.eps or 1e-8
  local b1, b2 = (o.betas or {0.9, 0.999})[1], (o.betas or {0.9, 0.999})[2]
  local wd = o.weight_decay or (decoupled and 1e-2 or 0)
  local m, v, vmax = {}, {}, {}
  for i = 1, #p do m[i], v[i], vmax[i] = 0, 0, 0 end
  local traj = {}
  for t, g0 in ipairs(grads) do
    for i = 1, #p do
      local g = g0[i]
      if decoupled then p[i] = p[i] * (1 - lr * wd)
      elseif wd ~= 0 then g = g + wd * p[i] end
      m[i] = b1 * m[i] + (1 - b1) * g
      v[i] = b2 * v[i] + (1 - b2) * g * g
      local bc1, bc2 = 1 - b1 ^ t, 1 - b2 ^ t
      local vv = v[i]
      if o.amsgrad then vmax[i] = math.max(vmax[i], v[i]); vv = vmax[i] end
      local denom = math.sqrt(vv) / math.sqrt(bc2) + eps
      p[i] = p[i] - lr / bc1 * m[i] / denom
    end
    traj[t] = {table.unpack(p)}
  end
  return traj
end

-- run an optimizer over GRADS (assigned as .grad) and compare after every step
local function run_steps(make, ref_traj, label, tol)
  tol = tol or 1e-6
  local p = param()
  local opt = make({p})
  for s, g in ipairs(GRADS) do
    opt:zero_grad()
    p.grad = lurn.tensor(g)
    opt:step()
    T.assert_close(p, ref_traj[s], tol, tol, ("%s step %d"):format(label, s))
  end
  return p, opt
end

-- ================================================================================
T.case("SGD: plain, momentum, dampening, nesterov, weight_decay over 3 steps", function()
  local configs = {
    {lr = 0.1},
    {lr = 0.1, momentum = 0.9},
    {lr = 0.05, momentum = 0.8, dampening = 0.3},
    {lr = 0.1, momentum = 0.9, nesterov = true},
    {lr = 0.1, weight_decay = 0.2},
    {lr = 0.1, momentum = 0.9, weight_decay = 0.1},
    {lr = 0.07, momentum = 0.5, nesterov = true, weight_decay = 0.3},
    {lr = 0.2, momentum = 0.9, dampening = 0.5, weight_decay = 0.05},
  }
  for _, o in ipairs(configs) do
    local parts = {}
    for _, k in ipairs({"lr", "momentum", "dampening", "nesterov", "weight_decay"}) do
      if o[k] ~= nil then parts[#parts + 1] = k .. "=" .. tostring(o[k]) end
    end
    run_steps(function(ps) return optim.SGD(ps, o) end, sgd_ref(P0, GRADS, o),
      "SGD " .. table.concat(parts, " "))
  end
  -- the same rules differ from each other (the tests can tell them apart)
  local a = sgd_ref(P0, GRADS, {lr = 0.1, momentum = 0.9})[3]
  local b = sgd_ref(P0, GRADS, {lr = 0.1, momentum = 0.9, nesterov = true})[3]
  T.assert_equal(math.abs(a[1] - b[1]) > 1e-3, true)
  -- a plain step is p - lr * g exactly
  local p = param({1.0, 2.0})
  local opt = optim.SGD({p}, {lr = 0.5})
  p.grad = lurn.tensor({0.25, -1.0})
  opt:step()
  T.assert_close(p, {0.875, 2.5}, 0, 0)
  T.assert_equal(opt.param_groups[1].lr, 0.5)
  T.assert_equal(optim.SGD({param()}).param_groups[1].lr, 1e-3)
end)

T.case("SGD: momentum buffer state, driven by autograd", function()
  local p = param()
  local w = lurn.tensor({1.0, 0.5, 2.0, -1.0})
  local opt = optim.SGD({p}, {lr = 0.05, momentum = 0.9, weight_decay = 0.01})
  -- loss = sum(w * p^2) -> grad = 2 w p (computed from the current p on both sides)
  local ref, buf = {table.unpack(P0)}, {}
  for s = 1, 3 do
    opt:zero_grad()
    local loss = (w * p * p):sum()
    loss:backward()
    opt:step()
    local wv = T.values(w)
    for i = 1, 4 do
      local d = 2 * wv[i] * ref[i] + 0.01 * ref[i]
      buf[i] = s == 1 and d or 0.9 * buf[i] + d
      ref[i] = ref[i] - 0.05 * buf[i]
    end
    T.assert_close(p, ref, 1e-6, 1e-5, "step " .. s)
    T.assert_close(opt.state[p].momentum_buffer, buf, 1e-6, 1e-5, "buffer " .. s)
  end
end)

T.case("Adam: betas, eps, weight_decay, amsgrad over 3 steps", function()
  local configs = {
    {lr = 0.1},
    {lr = 0.1, betas = {0.8, 0.9}},
    {lr = 0.05, eps = 0.1},
    {lr = 0.1, weight_decay = 0.5},
    {lr = 0.1, betas = {0.5, 0.9}, amsgrad = true},
    {lr = 0.1, betas = {0.7, 0.95}, eps = 1e-3, weight_decay = 0.2, amsgrad = true},
  }
  for _, o in ipairs(configs) do
    run_steps(function(ps) return optim.Adam(ps, o) end, adam_ref(P0, GRADS, o, false),
      "Adam " .. tostring(o.lr) .. " " .. tostring(o.amsgrad) .. " " .. tostring(o.weight_decay))
  end
  -- defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay
  run_steps(function(ps) return optim.Adam(ps) end, adam_ref(P0, GRADS, {}, false), "Adam defaults")
  local g = optim.Adam({param()}).param_groups[1]
  T.assert_equal({g.lr, g.betas[1], g.betas[2], g.eps, g.weight_decay, g.amsgrad},
    {1e-3, 0.9, 0.999, 1e-8, 0, false})
  -- amsgrad really changes the trajectory on these gradients
  local a = adam_ref(P0, GRADS, {lr = 0.1, betas = {0.5, 0.9}}, false)[3]
  local b = adam_ref(P0, GRADS, {lr = 0.1, betas = {0.5, 0.9}, amsgrad = true}, false)[3]
  local differs = false
  for i = 1, 4 do differs = differs or math.abs(a[i] - b[i]) > 1e-4 end
  T.assert_equal(differs, true, "amsgrad matters for this test")
  -- state: step count and moments
  local _, opt = run_steps(function(ps) return optim.Adam(ps, {lr = 0.1, amsgrad = true}) end,
    adam_ref(P0, GRADS, {lr = 0.1, amsgrad = true}, false), "Adam amsgrad state")
  local p = opt.param_groups[1].params[1]
  T.assert_equal(opt.state[p].step, 3)
  T.assert_shape(opt.state[p].exp_avg, {4})
  T.assert_shape(opt.state[p].max_exp_avg_sq, {4})
end)

T.case("AdamW: decoupled weight decay over 3 steps", function()
  local configs = {
    {lr = 0.1},                                  -- default weight_decay = 1e-2
    {lr = 0.1, weight_decay = 0.5},
    {lr = 0.05, betas = {0.8, 0.99}, eps = 1e-4, weight_decay = 0.3},
    {lr = 0.1, weight_decay = 0.2, amsgrad = true, betas = {0.5, 0.9}},
    {lr = 0.1, weight_decay = 0},
  }
  for _, o in ipairs(configs) do
    run_steps(function(ps) return optim.AdamW(ps, o) end, adam_ref(P0, GRADS, o, true),
      "AdamW " .. tostring(o.weight_decay) .. " " .. tostring(o.amsgrad))
  end
  T.assert_equal(optim.AdamW({param()}).param_groups[1].weight_decay, 1e-2)
  -- Adam and AdamW differ once weight decay is on, and agree without it
  local a = adam_ref(P0, GRADS, {lr = 0.1, weight_decay = 0.5}, false)[3]
  local w = adam_ref(P0, GRADS, {lr = 0.1, weight_decay = 0.5}, true)[3]
  T.assert_equal(math.abs(a[3] - w[3]) > 1e-3, true)
  local p1, p2 = param(), param()
  local o1, o2 = optim.Adam({p1}, {lr = 0.1}), optim.AdamW({p2}, {lr = 0.1, weight_decay = 0})
  for _, g in ipairs(GRADS) do
    p1.grad, p2.grad = lurn.tensor(g), lurn.tensor(g)
    o1:step(); o2:step()
  end
  T.assert_close(p1, p2, 0, 0)
end)

-- ================================================================================
T.case("param groups: own lr and hyperparameters, defaults for the rest", function()
  local a, b = param(), param({1.0, 2.0})
  local opt = optim.Adam({{params = {a}, lr = 1e-4}, {params = {b}, lr = 1e-3, betas = {0.5, 0.9}}})
  T.assert_equal(#opt.param_groups, 2)
  T.assert_equal(opt.param_groups[1].lr, 1e-4)
  T.assert_equal(opt.param_groups[2].lr, 1e-3)
  T.assert_equal(opt.param_groups[1].betas, {0.9, 0.999})
  T.assert_equal(opt:get_lr(1), 1e-4)
  T.assert_equal(opt:get_lr(2), 1e-3)
  T.assert_equal(opt:get_lr(), 1e-4)
  local ga, gb = GRADS, {{0.5, -1.0}, {0.25, 0.5}, {-1.0, 0.1}}
  local ra = adam_ref(P0, ga, {lr = 1e-4}, false)
  local rb = adam_ref({1.0, 2.0}, gb, {lr = 1e-3, betas = {0.5, 0.9}}, false)
  for s = 1, 3 do
    opt:zero_grad()
    a.grad, b.grad = lurn.tensor(ga[s]), lurn.tensor(gb[s])
    opt:step()
    T.assert_close(a, ra[s], 1e-7, 1e-6, "group 1 step " .. s)
    T.assert_close(b, rb[s], 1e-7, 1e-6, "group 2 step " .. s)
  end
  -- the second argument gives the defaults for every group
  local c, d = param(), param()
  local sgd = optim.SGD({{params = {c}}, {params = {d}, lr = 0.5, momentum = 0}}, {lr = 0.1, momentum = 0.9})
  T.assert_equal(sgd.param_groups[1].lr, 0.1)
  T.assert_equal(sgd.param_groups[1].momentum, 0.9)
  T.assert_equal(sgd.param_groups[2].lr, 0.5)
  T.assert_equal(sgd.param_groups[2].momentum, 0)
  local rc = sgd_ref(P0, GRADS, {lr = 0.1, momentum = 0.9})
  local rd = sgd_ref(P0, GRADS, {lr = 0.5})
  for s = 1, 3 do
    c.grad, d.grad = lurn.tensor(GRADS[s]), lurn.tensor(GRADS[s])
    sgd:step()
    T.assert_close(c, rc[s], 1e-6, 1e-6, "sgd group 1 step " .. s)
    T.assert_close(d, rd[s], 1e-6, 1e-6, "sgd group 2 step " .. s)
  end
  -- a group's params may be a single tensor (as in PyTorch)
  local e = param()
  local single = optim.SGD({{params = e, lr = 0.1}})
  T.assert_equal(#single.param_groups[1].params, 1)
  e.grad = lurn.tensor(GRADS[1])
  single:step()
  T.assert_close(e, sgd_ref(P0, GRADS, {lr = 0.1})[1], 1e-7, 1e-6)
  -- module parameters as groups: a backbone and a head
  local net = nn.Sequential({{"body", nn.Linear(3, 4)}, {"head", nn.Linear(4, 2)}})
  local o = optim.Adam({{params = net.body:parameters(), lr = 1e-4}, {params = net.head:parameters()}},
    {lr = 1e-2})
  T.assert_equal(#o.param_groups[1].params, 2)
  T.assert_equal(o.param_groups[2].lr, 1e-2)
end)

T.case("param groups: lr settable per group and for all", function()
  local a, b = param(), param()
  local opt = optim.SGD({{params = {a}, lr = 0.1}, {params = {b}, lr = 0.2}})
  opt.param_groups[2].lr = 0.05
  a.grad, b.grad = lurn.tensor(GRADS[1]), lurn.tensor(GRADS[1])
  opt:step()
  T.assert_close(a, sgd_ref(P0, GRADS, {lr = 0.1})[1], 1e-7, 1e-6)
  T.assert_close(b, sgd_ref(P0, GRADS, {lr = 0.05})[1], 1e-7, 1e-6)
  opt:set_lr(0.0)
  T.assert_equal(opt:get_lr(1), 0.0)
  T.assert_equal(opt:get_lr(2), 0.0)
  local before = T.values(a)
  opt:step()
  T.assert_close(a, before, 0, 0, "lr 0: no change")
end)

T.case("add_param_group", function()
  local a, b = param(), param({3.0, -3.0})
  local opt = optim.SGD({a}, {lr = 0.1, momentum = 0.9})
  opt:add_param_group({params = {b}, lr = 0.01})
  T.assert_equal(#opt.param_groups, 2)
  T.assert_equal(opt.param_groups[2].momentum, 0.9, "defaults fill the new group")
  T.assert_equal(opt.param_groups[2].lr, 0.01)
  a.grad, b.grad = lurn.tensor(GRADS[1]), lurn.tensor({1.0, 1.0})
  opt:step()
  T.assert_close(b, {3.0 - 0.01, -3.0 - 0.01}, 1e-7, 1e-6)
  T.assert_close(a, sgd_ref(P0, GRADS, {lr = 0.1, momentum = 0.9})[1], 1e-7, 1e-6)
  -- adding a parameter that is already optimized is an error
  T.assert_error(function() opt:add_param_group({params = {a}}) end, "more than one group")
  T.assert_error(function() opt:add_param_group({lr = 0.1}) end, "params")
  T.assert_error(function() opt:add_param_group({params = {param()}, lr = -1}) end, "learning rate")
  T.assert_equal(#opt.param_groups, 2)
end)

T.case("zero_grad sets grads to nil; parameters without grad are skipped", function()
  local a, b = param(), param()
  local opt = optim.Adam({a, b}, {lr = 0.1})
  a.grad, b.grad = lurn.ones(4), lurn.ones(4)
  opt:zero_grad()
  T.assert_equal(a.grad, nil)
  T.assert_equal(b.grad, nil)
  -- only a has a gradient: b is untouched and gets no state
  a.grad = lurn.ones(4)
  local b0 = T.values(b)
  opt:step()
  T.assert_close(b, b0, 0, 0)
  T.assert_equal(opt.state[b], nil)
  T.assert_equal(opt.state[a].step, 1)
end)

T.case("requires_grad = false: skipped (no decay, no momentum, no state)", function()
  for _, make in ipairs({
    function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9, weight_decay = 0.5}) end,
    function(ps) return optim.Adam(ps, {lr = 0.1, weight_decay = 0.5}) end,
    function(ps) return optim.AdamW(ps, {lr = 0.1, weight_decay = 0.5, amsgrad = true}) end,
  }) do
    local live, frozen = param(), param()
    local opt = make({live, frozen})
    local f0 = T.values(frozen)
    -- frozen after the optimizer was built, with a stale gradient still attached
    frozen.grad = lurn.ones(4)
    frozen.requires_grad = false
    for s = 1, 3 do
      live.grad = lurn.tensor(GRADS[s])
      opt:step()
    end
    T.assert_close(frozen, f0, 0, 0, "frozen parameter unchanged")
    T.assert_equal(opt.state[frozen], nil, "no state for a frozen parameter")
    T.assert_equal(opt.state[live] ~= nil, true)
    -- unfrozen: it trains from then on
    frozen.requires_grad = true
    frozen.grad = lurn.ones(4)
    opt:step()
    T.assert_equal(T.values(frozen)[1] ~= f0[1], true, "unfrozen parameter trains")
  end
  -- a model frozen before building the optimizer
  local m = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
  m:freeze("0")
  local opt = optim.SGD(m:parameters(), {lr = 0.1, weight_decay = 1.0})
  local w0 = T.values(m[0].weight)
  m(lurn.randn(4, 3)):sum():backward()
  opt:step()
  T.assert_close(T.values(m[0].weight), w0, 0, 0)
end)

T.case("errors: non-tensor, non-leaf, int64, duplicate parameters, bad options", function()
  local a = param()
  T.assert_error(function() optim.SGD({1, 2}) end, {"SGD", "parameter 1", "number", "not a tensor"})
  T.assert_error(function() optim.Adam({a, "w"}) end, {"Adam", "parameter 2", "string"})
  T.assert_error(function() optim.SGD({{params = {a, {}}}}) end, {"SGD", "parameter 2", "table"})
  T.assert_error(function() optim.SGD(nil) end, "SGD")
  T.assert_error(function() optim.SGD(5) end, "SGD")
  T.assert_error(function() optim.SGD({a * 2}) end, {"SGD", "leaf"})
  T.assert_error(function() optim.AdamW({a:sum()}) end, {"AdamW", "leaf"})
  T.assert_error(function() optim.SGD({lurn.tensor({1, 2}, "int64")}) end, {"SGD", "int64"})
  T.assert_error(function() optim.Adam({{params = {a}}, {params = {a}}}) end, "more than one group")
  T.assert_error(function() optim.SGD({a}, {lr = -0.1}) end, "learning rate")
  T.assert_error(function() optim.SGD({a}, {nesterov = true}) end, "nesterov")
  T.assert_error(function() optim.SGD({a}, {nesterov = true, momentum = 0.9, dampening = 0.1}) end, "nesterov")
  T.assert_error(function() optim.Adam({a}, {betas = {1.0, 0.999}}) end, "betas")
  T.assert_error(function() optim.Adam({a}, {betas = {0.9, -0.1}}) end, "betas")
end)

-- ================================================================================
-- schedulers
local function two_groups(lr1, lr2)
  return optim.SGD({{params = {param()}, lr = lr1}, {params = {param()}, lr = lr2}})
end

T.case("StepLR: base * gamma^(epoch // step_size)", function()
  local opt = two_groups(0.1, 0.4)
  local s = sched.StepLR(opt, {step_size = 3, gamma = 0.5})
  for epoch = 0, 10 do
    if epoch > 0 then s:step() end
    local f = 0.5 ^ (epoch // 3)
    T.assert_close(opt.param_groups[1].lr, 0.1 * f, 1e-12, 1e-12, "epoch " .. epoch)
    T.assert_close(opt.param_groups[2].lr, 0.4 * f, 1e-12, 1e-12, "epoch " .. epoch)
    T.assert_close(s:get_last_lr(), {0.1 * f, 0.4 * f}, 1e-12, 1e-12)
  end
  -- default gamma 0.1
  local o2 = two_groups(1.0, 2.0)
  local s2 = sched.StepLR(o2, {step_size = 2})
  for _ = 1, 4 do s2:step() end
  T.assert_close(s2:get_last_lr(), {0.01, 0.02}, 1e-12, 1e-9)
  T.assert_error(function() sched.StepLR(two_groups(1, 1), {}) end, "step_size")
end)

T.case("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(pi e / T_max)) / 2", function()
  local opt = two_groups(0.1, 0.5)
  local s = sched.CosineAnnealingLR(opt, {T_max = 6, eta_min = 0.01})
  for epoch = 0, 6 do
    if epoch > 0 then s:step() end
    local c = (1 + math.cos(math.pi * epoch / 6)) / 2
    T.assert_close(s:get_last_lr(), {0.01 + 0.09 * c, 0.01 + 0.49 * c}, 1e-12, 1e-9, "epoch " .. epoch)
  end
  T.assert_close(opt.param_groups[1].lr, 0.01, 1e-12, 1e-9, "reaches eta_min at T_max")
  -- eta_min defaults to 0; half-way is base / 2
  local o2 = two_groups(0.2, 0.2)
  local s2 = sched.CosineAnnealingLR(o2, {T_max = 10})
  for _ = 1, 5 do s2:step() end
  T.assert_close(o2:get_lr(), 0.1, 1e-12, 1e-9)
  for _ = 1, 5 do s2:step() end
  T.assert_close(o2:get_lr(), 0.0, 1e-12, 1e-9)
  T.assert_error(function() sched.CosineAnnealingLR(two_groups(1, 1), {}) end, "T_max")
end)

T.case("LambdaLR: base * lr_lambda(epoch)", function()
  local opt = two_groups(0.1, 0.3)
  local seen = {}
  local s = sched.LambdaLR(opt, {lr_lambda = function(e) seen[#seen + 1] = e; return 0.9 ^ e end})
  for epoch = 0, 5 do
    if epoch > 0 then s:step() end
    T.assert_close(s:get_last_lr(), {0.1 * 0.9 ^ epoch, 0.3 * 0.9 ^ epoch}, 1e-12, 1e-9, "epoch " .. epoch)
  end
  T.assert_equal(seen[1], 0, "called with epoch 0 at construction")
  -- warm-up shape
  local o2 = two_groups(1.0, 1.0)
  local s2 = sched.LambdaLR(o2, {lr_lambda = function(e) return math.min(1, (e + 1) / 4) end})
  local got = {}
  for e = 0, 5 do
    if e > 0 then s2:step() end
    got[#got + 1] = o2:get_lr()
  end
  T.assert_close(got, {0.25, 0.5, 0.75, 1.0, 1.0, 1.0}, 1e-12, 1e-12)
  T.assert_error(function() sched.LambdaLR(two_groups(1, 1), {}) end, "lr_lambda")
end)

T.case("schedulers drive the optimizer's steps", function()
  local p = param({0.0})
  local opt = optim.SGD({p}, {lr = 1.0})
  local s = sched.StepLR(opt, {step_size = 1, gamma = 0.5})
  local expected, x = {}, 0.0
  for e = 0, 3 do
    p.grad = lurn.tensor({1.0})
    opt:step()
    x = x - 0.5 ^ e
    expected[#expected + 1] = x
    T.assert_close(p, {x}, 1e-7, 0, "epoch " .. e)
    s:step()
  end
end)

T.case("loops split across threads give the same bits as one thread", function()
  -- 1.2M elements: past the size where elementwise ops and updates use every thread
  local function run(threads)
    lurn.set_num_threads(threads)
    lurn.manual_seed(3)
    local w = lurn.randn(1200, 1000):requires_grad_()
    local x = lurn.randn(1200, 1000)
    local opt = optim.Adam({w}, {lr = 1e-2, weight_decay = 0.1})
    local sgd_w = lurn.randn(1200, 1000):requires_grad_()
    local sgd = optim.SGD({sgd_w}, {lr = 0.1, momentum = 0.9, nesterov = true})
    for _ = 1, 3 do
      opt:zero_grad(); sgd:zero_grad()
      local y = ((w * x + 0.5) / 3 - x):relu() + (sgd_w * 2):sigmoid()
      y:sum():backward()
      opt:step(); sgd:step()
    end
    local z = lurn.where(x:gt(0), w, sgd_w)
    return {w:clone(), sgd_w:clone(), z}
  end
  local before = lurn.get_num_threads()
  local one, two = run(1), run(2)
  lurn.set_num_threads(before)
  for i = 1, #one do T.assert_close(one[i], two[i], 0, 0, "result " .. i) end
end)

T.finish("test_optim.lua")
