-- Losses: every loss class and its functional twin against values computed by hand (in
-- double, in Lua) on tiny inputs, for each reduction; gradient checks w.r.t. the input;
-- target validation errors; and the distillation loss against its formula.
local lurn = require "lurn"
local T = require "testing"
local nn, F = lurn.nn, lurn.nn.functional

lurn.manual_seed(4321)

local ATOL, RTOL = 1e-5, 1e-5

-- ---- hand-computation helpers (plain Lua numbers, double precision) ----
local log, exp, abs = math.log, math.exp, math.abs

local function sum(list)
  local s = 0
  for _, v in ipairs(list) do s = s + v end
  return s
end

local function mean(list) return sum(list) / #list end

local function sigmoid(x) return 1 / (1 + exp(-x)) end

local function log_softmax_row(row)
  local m = -math.huge
  for _, v in ipairs(row) do m = math.max(m, v) end
  local s = 0
  for _, v in ipairs(row) do s = s + exp(v - m) end
  local lse = m + log(s)
  local out = {}
  for j, v in ipairs(row) do out[j] = v - lse end
  return out
end

local function softmax_row(row)
  local out = log_softmax_row(row)
  for j = 1, #out do out[j] = exp(out[j]) end
  return out
end

local function map2(a, b, fn)
  local out = {}
  for i = 1, #a do out[i] = fn(a[i], b[i], i) end
  return out
end

-- Check a loss module and its functional twin for every reduction against the
-- per-element values `elems` (reduction "none"), their sum and mean (or given values).
local function check_reductions(cls, fn, input, target, opts, elems, expect)
  expect = expect or {}
  local mean_v = expect.mean or mean(elems)
  local sum_v = expect.sum or sum(elems)
  local label = cls
  for _, red in ipairs({"none", "sum", "mean", "default"}) do
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    if red ~= "default" then o.reduction = red end
    local want = (red == "none") and elems or (red == "sum" and sum_v or mean_v)
    local got_m = nn[cls](o)(input, target)
    local got_f = fn(input, target, o)
    if red == "none" then
      -- elementwise losses keep the input's shape; the classification ones give [N]
      local classify = cls == "CrossEntropyLoss" or cls == "NLLLoss"
      local shape = classify and (input:dim() == 2 and {input:size(0)} or {}) or input.shape
      T.assert_shape(got_m, shape, label .. " none shape")
      T.assert_shape(got_f, shape, label .. " none shape (functional)")
      T.assert_close(T.values(got_m), want, ATOL, RTOL, label .. " module " .. red)
      T.assert_close(T.values(got_f), want, ATOL, RTOL, label .. " functional " .. red)
    else
      T.assert_equal(got_m:dim(), 0, label .. " " .. red .. " is a scalar")
      T.assert_close(got_m:item(), want, ATOL, RTOL, label .. " module " .. red)
      T.assert_close(got_f:item(), want, ATOL, RTOL, label .. " functional " .. red)
    end
  end
end

local function grad_in(input) return lurn.tensor(input, {requires_grad = true}) end

local capture_stderr = T.capture_stderr

-- ================================================================================
-- regression losses
T.case("MSELoss", function()
  local x, y = {0.5, -1.0, 2.0, 3.5}, {1.0, 1.0, 2.0, 0.0}
  local elems = map2(x, y, function(a, b) return (a - b) ^ 2 end)
  local xt, yt = lurn.tensor({x}), lurn.tensor({y}) -- [1, 4]
  check_reductions("MSELoss", F.mse_loss, xt, yt, nil, elems)
  T.assert_close(F.mse_loss(xt, yt):item(), (0.25 + 4 + 0 + 12.25) / 4, ATOL, RTOL)
  for _, red in ipairs({"mean", "sum", "none"}) do
    T.gradcheck(function(a) return F.mse_loss(a, yt, {reduction = red}) end,
      {T.param({1, 4})}, {name = "mse " .. red})
  end
end)

T.case("L1Loss", function()
  local x, y = {0.5, -1.0, 2.25, 3.5}, {1.0, 1.0, 2.0, 0.0}
  local elems = map2(x, y, function(a, b) return abs(a - b) end)
  check_reductions("L1Loss", F.l1_loss, lurn.tensor(x), lurn.tensor(y), nil, elems)
  T.assert_close(F.l1_loss(lurn.tensor(x), lurn.tensor(y)):item(), (0.5 + 2 + 0.25 + 3.5) / 4, ATOL, RTOL)
  local target = lurn.zeros(3, 4)
  for _, red in ipairs({"mean", "sum", "none"}) do
    T.gradcheck(function(a) return F.l1_loss(a, target, {reduction = red}) end,
      {T.randn_away({3, 4}, {0}, 0.1)}, {name = "l1 " .. red})
  end
end)

T.case("SmoothL1Loss with beta", function()
  local x, y = {0.2, -1.0, 2.0, 3.5, 0.0}, {0.0, 1.0, 1.5, 0.0, 0.1}
  for _, beta in ipairs({1.0, 0.5, 2.0}) do
    local elems = map2(x, y, function(a, b)
      local d = abs(a - b)
      if d < beta then return 0.5 * d * d / beta end
      return d - 0.5 * beta
    end)
    check_reductions("SmoothL1Loss", F.smooth_l1_loss, lurn.tensor(x), lurn.tensor(y),
      beta ~= 1.0 and {beta = beta} or nil, elems)
  end
  -- default beta is 1: d = 0.2 -> 0.02, d = 2 -> 1.5
  T.assert_close(F.smooth_l1_loss(lurn.tensor({0.2, 2.0}), lurn.zeros(2), {reduction = "sum"}):item(),
    0.02 + 1.5, ATOL, RTOL)
  -- beta = 0 is the L1 loss
  T.assert_close(F.smooth_l1_loss(lurn.tensor(x), lurn.tensor(y), {beta = 0}),
    F.l1_loss(lurn.tensor(x), lurn.tensor(y)), ATOL, RTOL)
  -- gradient on both branches (stay away from |d| = beta and 0)
  local xin = grad_in(lurn.tensor({{0.3, -0.2, 1.7}, {-2.5, 0.6, -0.7}}))
  T.gradcheck(function(a) return F.smooth_l1_loss(a, lurn.zeros(2, 3), {beta = 1.0, reduction = "none"}) end,
    {xin}, {name = "smooth_l1 none"})
  T.gradcheck(function(a) return nn.SmoothL1Loss({beta = 0.5})(a, lurn.zeros(2, 3)) end,
    {xin}, {name = "smooth_l1 beta 0.5"})
end)

-- ================================================================================
-- binary losses
T.case("BCELoss: values, weight, clamped logs", function()
  local p, y = {0.2, 0.9, 0.6, 0.5}, {0.0, 1.0, 1.0, 0.3}
  local elems = map2(p, y, function(a, b) return -(b * log(a) + (1 - b) * log(1 - a)) end)
  local pt, yt = lurn.tensor({p}):t(), lurn.tensor({y}):t() -- [4, 1], non-contiguous
  check_reductions("BCELoss", F.binary_cross_entropy, pt, yt, nil, elems)
  check_reductions("BCELoss", F.binary_cross_entropy, lurn.tensor(p), lurn.tensor(y), nil, elems)
  -- per-element weight
  local w = {1.0, 2.0, 0.5, 0.0}
  local welems = map2(elems, w, function(a, b) return a * b end)
  check_reductions("BCELoss", F.binary_cross_entropy, lurn.tensor(p), lurn.tensor(y),
    {weight = lurn.tensor(w)}, welems)
  -- p = 0 or 1: the logs are clamped at -100, so the loss is finite (PyTorch's rule)
  local l = nn.BCELoss({reduction = "none"})(lurn.tensor({0.0, 1.0, 0.0, 1.0}), lurn.tensor({1.0, 0.0, 0.0, 1.0}))
  T.assert_close(l, {100.0, 100.0, 0.0, 0.0}, 1e-4, 1e-6)
  -- gradient w.r.t. p
  local target = lurn.tensor({{0.0, 1.0, 0.25}, {1.0, 0.0, 0.8}})
  for _, red in ipairs({"mean", "sum", "none"}) do
    T.gradcheck(function(a) return F.binary_cross_entropy(a, target, {reduction = red}) end,
      {T.uniform({2, 3}, 0.2, 0.8)}, {name = "bce " .. red, h = 1e-3})
  end
  T.gradcheck(function(a) return F.binary_cross_entropy(a, target, {weight = lurn.tensor({1.0, 2.0, 0.5})}) end,
    {T.uniform({2, 3}, 0.2, 0.8)}, {name = "bce weight", h = 1e-3})
end)

T.case("BCEWithLogitsLoss: values, pos_weight, weight, extreme logits", function()
  local x, y = {-1.5, 0.3, 2.0, 0.0, -0.7}, {0.0, 1.0, 0.25, 1.0, 1.0}
  local function bce_logit(a, b, pw)
    pw = pw or 1
    return -(pw * b * log(sigmoid(a)) + (1 - b) * log(1 - sigmoid(a)))
  end
  local elems = map2(x, y, function(a, b) return bce_logit(a, b) end)
  check_reductions("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits,
    lurn.tensor(x), lurn.tensor(y), nil, elems)
  -- equals BCE on sigmoid for moderate logits
  T.assert_close(F.binary_cross_entropy_with_logits(lurn.tensor(x), lurn.tensor(y)),
    F.binary_cross_entropy(lurn.sigmoid(lurn.tensor(x)), lurn.tensor(y)), 1e-5, 1e-5)
  -- pos_weight: a scalar-like [1] tensor and a per-class one over [N, C]
  local pelems = map2(x, y, function(a, b) return bce_logit(a, b, 3.0) end)
  check_reductions("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits,
    lurn.tensor(x), lurn.tensor(y), {pos_weight = lurn.tensor({3.0})}, pelems)
  local X = {{-1.0, 0.5}, {2.0, -0.25}, {0.1, 1.5}}
  local Y = {{1.0, 0.0}, {1.0, 1.0}, {0.0, 0.5}}
  local pw = {2.0, 0.5}
  local pc = {}
  for i = 1, 3 do for j = 1, 2 do pc[#pc + 1] = bce_logit(X[i][j], Y[i][j], pw[j]) end end
  check_reductions("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits,
    lurn.tensor(X), lurn.tensor(Y), {pos_weight = lurn.tensor(pw)}, pc)
  -- weight
  local w = {1.0, 0.0, 2.0, 0.5, 1.0}
  check_reductions("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits,
    lurn.tensor(x), lurn.tensor(y), {weight = lurn.tensor(w)}, map2(elems, w, function(a, b) return a * b end))
  -- extreme logits stay finite: log(1 + exp(100)) = 100 (+ 4e-44)
  local big = lurn.tensor({100.0, -100.0, 100.0, -100.0}, {requires_grad = true})
  local by = lurn.tensor({0.0, 1.0, 1.0, 0.0})
  local l = nn.BCEWithLogitsLoss({reduction = "none"})(big, by)
  T.assert_close(l, {100.0, 100.0, 0.0, 0.0}, 1e-4, 1e-6)
  local lm = nn.BCEWithLogitsLoss()(big, by)
  T.assert_close(lm:item(), 50.0, 1e-4, 1e-6)
  lm:backward()
  -- d/dx = (sigmoid(x) - y) / N
  T.assert_close(big.grad, {0.25, -0.25, 0.0, 0.0}, 1e-6, 0)
  local lp = F.binary_cross_entropy_with_logits(lurn.tensor({-100.0, 100.0}), lurn.tensor({1.0, 0.0}),
    {pos_weight = lurn.tensor({3.0}), reduction = "none"})
  T.assert_close(lp, {300.0, 100.0}, 1e-3, 1e-6)
  local huge = F.binary_cross_entropy_with_logits(lurn.tensor({1e4, -1e4}), lurn.tensor({0.0, 1.0}))
  T.assert_close(huge:item(), 1e4, 1e-1, 1e-6)
  -- gradients (also through pos_weight and weight)
  local target = lurn.tensor({{0.0, 1.0, 0.25}, {1.0, 0.0, 0.8}})
  for _, red in ipairs({"mean", "sum", "none"}) do
    T.gradcheck(function(a) return F.binary_cross_entropy_with_logits(a, target, {reduction = red}) end,
      {T.param({2, 3})}, {name = "bce_logits " .. red})
  end
  T.gradcheck(function(a)
    return nn.BCEWithLogitsLoss({pos_weight = lurn.tensor({2.0, 1.0, 0.5}), weight = lurn.tensor({1.0, 3.0, 1.0})})(a, target)
  end, {T.param({2, 3})}, {name = "bce_logits pos_weight"})
end)

-- ================================================================================
-- classification losses
local LOGITS = {{1.0, 2.0, 0.5, -1.0}, {0.0, -0.5, 3.0, 1.0}, {2.5, 0.1, 0.2, 0.3}}
local TARGET = {0, 3, 1}

local function ce_rows(logits, target, weight)
  local out, ws = {}, {}
  for i, row in ipairs(logits) do
    local lp = log_softmax_row(row)
    local w = weight and weight[target[i] + 1] or 1
    out[i], ws[i] = -w * lp[target[i] + 1], w
  end
  return out, ws
end

T.case("CrossEntropyLoss: int64 class indices", function()
  local x, t = lurn.tensor(LOGITS), lurn.tensor(TARGET, "int64")
  local elems = ce_rows(LOGITS, TARGET)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, t, nil, elems)
  -- a 1-d input with a 0-d target
  local one = F.cross_entropy(lurn.tensor(LOGITS[2]), lurn.tensor(3, "int64"))
  T.assert_close(one:item(), elems[2], ATOL, RTOL)
  -- numerically stable on huge logits
  local big = F.cross_entropy(lurn.tensor({{1000.0, 0.0, -1000.0}}), lurn.tensor({1}, "int64"))
  T.assert_close(big:item(), 1000.0, 1e-3, 1e-6)
  -- gradient: softmax - one_hot, scaled by the reduction
  local xin = grad_in(x)
  local loss = nn.CrossEntropyLoss()(xin, t)
  loss:backward()
  local g = {}
  for i, row in ipairs(LOGITS) do
    local sm = softmax_row(row)
    g[i] = {}
    for j = 1, 4 do g[i][j] = (sm[j] - ((j - 1) == TARGET[i] and 1 or 0)) / 3 end
  end
  T.assert_close(xin.grad, g, 1e-6, 1e-5)
  for _, red in ipairs({"mean", "sum", "none"}) do
    T.gradcheck(function(a) return F.cross_entropy(a, t, {reduction = red}) end,
      {T.param({3, 4})}, {name = "ce " .. red})
  end
end)

T.case("CrossEntropyLoss: class weight", function()
  local x, t = lurn.tensor(LOGITS), lurn.tensor(TARGET, "int64")
  local w = {0.5, 2.0, 1.0, 3.0}
  local elems, ws = ce_rows(LOGITS, TARGET, w)
  -- mean is normalised by the sum of the targets' weights (PyTorch)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, t, {weight = lurn.tensor(w)}, elems,
    {mean = sum(elems) / sum(ws)})
  T.gradcheck(function(a) return F.cross_entropy(a, t, {weight = lurn.tensor(w)}) end,
    {T.param({3, 4})}, {name = "ce weight"})
end)

T.case("CrossEntropyLoss: ignore_index", function()
  local x = lurn.tensor(LOGITS)
  local tgt = {0, -100, 1}
  local full = ce_rows(LOGITS, {0, 0, 1})
  local elems = {full[1], 0.0, full[3]}
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, lurn.tensor(tgt, "int64"), nil, elems,
    {mean = (full[1] + full[3]) / 2})
  -- a custom ignore_index (a valid class number)
  local full2 = ce_rows(LOGITS, TARGET)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, lurn.tensor({0, 3, 1}, "int64"),
    {ignore_index = 3}, {full2[1], 0.0, full2[3]}, {mean = (full2[1] + full2[3]) / 2})
  -- with a weight: the ignored row's weight is not in the denominator
  local w = {0.5, 2.0, 1.0, 3.0}
  local we = ce_rows(LOGITS, {0, 0, 1}, w)
  T.assert_close(F.cross_entropy(x, lurn.tensor(tgt, "int64"), {weight = lurn.tensor(w)}):item(),
    (we[1] + we[3]) / (0.5 + 2.0), ATOL, RTOL)
  -- the ignored row gets no gradient
  local xin = grad_in(x)
  F.cross_entropy(xin, lurn.tensor(tgt, "int64")):backward()
  T.assert_close(T.values(xin.grad:narrow(0, 1, 1)), {0.0, 0.0, 0.0, 0.0}, 0, 0)
  T.gradcheck(function(a) return F.cross_entropy(a, lurn.tensor(tgt, "int64")) end,
    {T.param({3, 4})}, {name = "ce ignore_index"})
end)

-- PyTorch's label smoothing for class indices:
--   (1 - eps) * nll + eps / C * smooth, smooth_i = sum_c -w_c logp_ic, ignored rows 0,
--   mean: nll is divided by sum of target weights, smooth by the same (or by the count of
--   non-ignored rows without a weight).
local function ce_smooth(logits, target, eps, weight, ignore)
  ignore = ignore or -100
  local C = #logits[1]
  local nll, smooth, denom = {}, {}, 0
  for i, row in ipairs(logits) do
    local lp = log_softmax_row(row)
    if target[i] == ignore then
      nll[i], smooth[i] = 0, 0
    else
      local wt = weight and weight[target[i] + 1] or 1
      nll[i] = -wt * lp[target[i] + 1]
      local s = 0
      for c = 1, C do s = s - (weight and weight[c] or 1) * lp[c] end
      smooth[i] = s
      denom = denom + wt
    end
  end
  local none = {}
  for i = 1, #logits do none[i] = (1 - eps) * nll[i] + eps / C * smooth[i] end
  return none, {sum = sum(none), mean = (1 - eps) * sum(nll) / denom + eps / C * sum(smooth) / denom}
end

T.case("CrossEntropyLoss: label_smoothing", function()
  local x, t = lurn.tensor(LOGITS), lurn.tensor(TARGET, "int64")
  local none, red = ce_smooth(LOGITS, TARGET, 0.1)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, t, {label_smoothing = 0.1}, none, red)
  -- with a class weight
  local w = {0.5, 2.0, 1.0, 3.0}
  none, red = ce_smooth(LOGITS, TARGET, 0.2, w)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, t,
    {label_smoothing = 0.2, weight = lurn.tensor(w)}, none, red)
  -- with ignore_index (the mean is over the rows that count)
  local tgt = {0, -100, 1}
  none, red = ce_smooth(LOGITS, tgt, 0.1)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, lurn.tensor(tgt, "int64"),
    {label_smoothing = 0.1}, none, red)
  none, red = ce_smooth(LOGITS, tgt, 0.3, w)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, lurn.tensor(tgt, "int64"),
    {label_smoothing = 0.3, weight = lurn.tensor(w)}, none, red)
  -- label_smoothing = 1 with uniform targets: the mean of -logp over classes
  T.gradcheck(function(a) return F.cross_entropy(a, t, {label_smoothing = 0.1}) end,
    {T.param({3, 4})}, {name = "ce label_smoothing"})
  T.gradcheck(function(a) return F.cross_entropy(a, lurn.tensor(tgt, "int64"),
      {label_smoothing = 0.2, weight = lurn.tensor(w), reduction = "none"}) end,
    {T.param({3, 4})}, {name = "ce label_smoothing weight ignore"})
end)

T.case("CrossEntropyLoss: probability targets", function()
  local P = {{0.7, 0.1, 0.1, 0.1}, {0.0, 0.0, 0.5, 0.5}, {0.25, 0.25, 0.25, 0.25}}
  local function rows(eps, weight)
    local out = {}
    for i, row in ipairs(LOGITS) do
      local lp = log_softmax_row(row)
      local s = 0
      for c = 1, 4 do
        local p = P[i][c] * (1 - eps) + eps / 4
        s = s - (weight and weight[c] or 1) * p * lp[c]
      end
      out[i] = s
    end
    return out
  end
  local x, pt = lurn.tensor(LOGITS), lurn.tensor(P)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, pt, nil, rows(0))
  local w = {0.5, 2.0, 1.0, 3.0}
  -- mean over the batch (PyTorch does not normalise by weight for probability targets)
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, pt, {weight = lurn.tensor(w)}, rows(0, w))
  check_reductions("CrossEntropyLoss", F.cross_entropy, x, pt, {label_smoothing = 0.2}, rows(0.2))
  -- one-hot probabilities equal class indices
  T.assert_close(F.cross_entropy(x, F.one_hot(lurn.tensor(TARGET, "int64"), 4)),
    F.cross_entropy(x, lurn.tensor(TARGET, "int64")), 1e-6, 1e-6)
  T.gradcheck(function(a) return F.cross_entropy(a, pt) end, {T.param({3, 4})}, {name = "ce probs"})
  T.gradcheck(function(a) return F.cross_entropy(a, pt, {weight = lurn.tensor(w), reduction = "none"}) end,
    {T.param({3, 4})}, {name = "ce probs weight"})
end)

T.case("NLLLoss", function()
  -- input: log-probabilities
  local LP = {}
  for i, row in ipairs(LOGITS) do LP[i] = log_softmax_row(row) end
  local x, t = lurn.tensor(LP), lurn.tensor(TARGET, "int64")
  local elems = {}
  for i = 1, 3 do elems[i] = -LP[i][TARGET[i] + 1] end
  check_reductions("NLLLoss", F.nll_loss, x, t, nil, elems)
  -- NLL of log_softmax is cross-entropy
  T.assert_close(F.nll_loss(lurn.log_softmax(lurn.tensor(LOGITS), 1), t),
    F.cross_entropy(lurn.tensor(LOGITS), t), 1e-6, 1e-6)
  -- it works on any input, not only log-probabilities: -x[i, t_i]
  local raw = lurn.tensor({{1.0, 2.0}, {3.0, 4.0}})
  check_reductions("NLLLoss", F.nll_loss, raw, lurn.tensor({1, 0}, "int64"), nil, {-2.0, -3.0})
  -- weight and ignore_index
  local w = {0.5, 2.0, 1.0, 3.0}
  local we = {-0.5 * LP[1][1], -3.0 * LP[2][4], -2.0 * LP[3][2]}
  check_reductions("NLLLoss", F.nll_loss, x, t, {weight = lurn.tensor(w)}, we,
    {mean = sum(we) / (0.5 + 3.0 + 2.0)})
  check_reductions("NLLLoss", F.nll_loss, x, lurn.tensor({0, 3, -100}, "int64"), nil,
    {elems[1], elems[2], 0.0}, {mean = (elems[1] + elems[2]) / 2})
  check_reductions("NLLLoss", F.nll_loss, x, t, {ignore_index = 0}, {0.0, elems[2], elems[3]},
    {mean = (elems[2] + elems[3]) / 2})
  for _, red in ipairs({"mean", "sum", "none"}) do
    T.gradcheck(function(a) return F.nll_loss(a, t, {reduction = red, weight = lurn.tensor(w)}) end,
      {T.param({3, 4})}, {name = "nll " .. red})
  end
end)

-- ================================================================================
-- KL divergence
T.case("KLDivLoss: warnings about probabilities and 'mean'", function()
  local q = lurn.tensor({{0.2, 0.8}})
  local p = lurn.tensor({{0.5, 0.5}})
  local out = capture_stderr(function() F.kl_div(q, p, {reduction = "batchmean"}) end)
  T.assert_equal(out:find("log-probabilities", 1, true) ~= nil, true, "warns: " .. out)
  local out2 = capture_stderr(function() nn.KLDivLoss()(q:log(), p) end)
  T.assert_equal(out2:find("batchmean", 1, true) ~= nil, true, "warns: " .. out2)
  -- each warning is given once
  local out3 = capture_stderr(function()
    F.kl_div(q, p, {reduction = "batchmean"})
    F.kl_div(q:log(), p)
  end)
  T.assert_equal(out3, "")
end)

T.case("KLDivLoss: values, log_target, every reduction incl. batchmean", function()
  local Q = {{0.2, 0.5, 0.3}, {0.6, 0.3, 0.1}}   -- the model's distribution
  local P = {{0.1, 0.6, 0.3}, {0.0, 0.5, 0.5}}   -- the target (a zero entry counts 0)
  local elems = {}
  for i = 1, 2 do
    for j = 1, 3 do
      local p, q = P[i][j], Q[i][j]
      elems[#elems + 1] = p == 0 and 0 or p * (log(p) - log(q))
    end
  end
  local logq = lurn.tensor(Q):log()
  local pt = lurn.tensor(P)
  check_reductions("KLDivLoss", F.kl_div, logq, pt, nil, elems)
  T.assert_close(nn.KLDivLoss({reduction = "batchmean"})(logq, pt):item(), sum(elems) / 2, ATOL, RTOL)
  T.assert_close(F.kl_div(logq, pt, {reduction = "batchmean"}):item(), sum(elems) / 2, ATOL, RTOL)
  -- the KL of a distribution with itself is 0 and KL is >= 0
  T.assert_close(F.kl_div(logq, lurn.tensor(Q), {reduction = "batchmean"}):item(), 0, 1e-6, 0)
  T.assert_equal(F.kl_div(logq, pt, {reduction = "sum"}):item() > 0, true)
  -- log_target: the target given as log-probabilities (zeros are not representable, use P2)
  local P2 = {{0.1, 0.6, 0.3}, {0.2, 0.3, 0.5}}
  local e2 = {}
  for i = 1, 2 do for j = 1, 3 do e2[#e2 + 1] = P2[i][j] * (log(P2[i][j]) - log(Q[i][j])) end end
  check_reductions("KLDivLoss", F.kl_div, logq, lurn.tensor(P2):log(), {log_target = true}, e2)
  T.assert_close(F.kl_div(logq, lurn.tensor(P2):log(), {log_target = true, reduction = "batchmean"}):item(),
    sum(e2) / 2, ATOL, RTOL)
  T.assert_close(F.kl_div(logq, lurn.tensor(P2):log(), {log_target = true, reduction = "batchmean"}),
    F.kl_div(logq, lurn.tensor(P2), {reduction = "batchmean"}), 1e-6, 1e-5)
  -- gradients w.r.t. the input (-p / N for batchmean) and through log_target
  local xin = grad_in(logq)
  F.kl_div(xin, pt, {reduction = "batchmean"}):backward()
  T.assert_close(xin.grad, {{-0.05, -0.3, -0.15}, {0.0, -0.25, -0.25}}, 1e-6, 1e-5)
  for _, red in ipairs({"batchmean", "sum", "none", "mean"}) do
    T.gradcheck(function(a) return F.kl_div(a:log_softmax(1), pt, {reduction = red}) end,
      {T.param({2, 3})}, {name = "kl " .. red})
    T.gradcheck(function(a) return F.kl_div(a:log_softmax(1), lurn.tensor(P2):log(),
        {reduction = red, log_target = true}) end, {T.param({2, 3})}, {name = "kl log_target " .. red})
  end
  T.assert_error(function() F.kl_div(logq, pt, {reduction = "avg"}) end, "reduction")
end)

-- ================================================================================
-- target validation
T.case("validation: class index out of range names the loss and the index", function()
  local x = lurn.randn(3, 4)
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({0, 4, 1}, "int64")) end,
    {"CrossEntropyLoss", "4", "out of range", "4 classes"})
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({0, 1, 7}, "int64")) end,
    {"CrossEntropyLoss", "7"})
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({-1, 1, 2}, "int64")) end,
    {"CrossEntropyLoss", "-1"})
  T.assert_error(function() F.cross_entropy(x, lurn.tensor({0, 9, 1}, "int64")) end,
    {"cross_entropy", "9"})
  T.assert_error(function() nn.NLLLoss()(x, lurn.tensor({0, 1, 5}, "int64")) end, {"NLLLoss", "5"})
  T.assert_error(function() nn.CrossEntropyLoss({label_smoothing = 0.1})(x, lurn.tensor({0, 1, 4}, "int64")) end,
    {"CrossEntropyLoss", "4"})
  -- and a wrongly shaped int64 target
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({0, 1}, "int64")) end,
    {"CrossEntropyLoss", "[3, 4]", "[2]"})
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({{0}, {1}, {2}}, "int64")) end,
    {"CrossEntropyLoss", "[3, 1]"})
end)

T.case("validation: float labels given to CrossEntropyLoss", function()
  local x = lurn.randn(3, 4)
  -- class numbers as floats (the shape of indices, not of probabilities)
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({0.0, 1.0, 2.0})) end,
    {"CrossEntropyLoss", "[3]", "[3, 4]"})
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({{0.0}, {1.0}, {2.0}})) end,
    {"CrossEntropyLoss", "[3, 1]", "[3, 4]"})
  -- a bool target is neither
  T.assert_error(function() nn.CrossEntropyLoss()(x, lurn.tensor({true, false, true})) end,
    "CrossEntropyLoss")
  T.assert_error(function() nn.CrossEntropyLoss()(lurn.randn(2, 3, 4), lurn.tensor({0, 1}, "int64")) end,
    {"CrossEntropyLoss", "[2, 3, 4]"})
end)

T.case("validation: shape mismatch and dtype in the elementwise losses", function()
  local a, b = lurn.zeros(3, 1), lurn.zeros(3)
  T.assert_error(function() nn.MSELoss()(a, b) end, {"MSELoss", "[3, 1]", "[3]"})
  T.assert_error(function() F.mse_loss(a, b) end, {"mse_loss", "[3, 1]", "[3]"})
  T.assert_error(function() nn.L1Loss()(a, lurn.zeros(1, 3)) end, {"L1Loss", "[3, 1]", "[1, 3]"})
  T.assert_error(function() nn.SmoothL1Loss()(a, b) end, {"SmoothL1Loss", "[3, 1]", "[3]"})
  T.assert_error(function() nn.BCELoss()(lurn.full({4}, 0.5), lurn.zeros(4, 1)) end,
    {"BCELoss", "[4]", "[4, 1]"})
  T.assert_error(function() nn.BCEWithLogitsLoss()(a, b) end, {"BCEWithLogitsLoss", "[3, 1]", "[3]"})
  T.assert_error(function() nn.KLDivLoss()(a, b) end, {"KLDivLoss", "[3, 1]", "[3]"})
  -- int64 labels in BCE
  T.assert_error(function() nn.BCELoss()(lurn.full({2}, 0.5), lurn.tensor({0, 1}, "int64")) end,
    {"BCELoss", "int64"})
  T.assert_error(function() nn.MSELoss()(a, nil) end, "MSELoss")
  T.assert_error(function() nn.MSELoss({reduction = "avg"})(a, a) end, {"MSELoss", "reduction"})
  T.assert_error(function() nn.CrossEntropyLoss({reduction = "avg"})(lurn.zeros(2, 3), lurn.tensor({0, 1}, "int64")) end,
    "reduction")
end)

T.case("validation: BCELoss given values outside [0, 1]", function()
  T.assert_error(function() nn.BCELoss()(lurn.tensor({0.5, 1.5}), lurn.tensor({0.0, 1.0})) end,
    {"BCELoss", "[0, 1]"})
  T.assert_error(function() nn.BCELoss()(lurn.tensor({-0.1, 0.5}), lurn.tensor({0.0, 1.0})) end,
    {"BCELoss", "[0, 1]"})
  -- logits by mistake: the message points to the fix
  T.assert_error(function() F.binary_cross_entropy(lurn.tensor({2.0, -3.0}), lurn.tensor({1.0, 0.0})) end,
    {"binary_cross_entropy", "BCEWithLogitsLoss"})
  T.assert_error(function() nn.BCELoss()(lurn.tensor({0 / 0, 0.5}), lurn.tensor({0.0, 1.0})) end, "BCELoss")
end)

-- ================================================================================
-- distillation
T.case("distillation_loss: Hinton et al. from lurn primitives", function()
  local s = lurn.tensor({{1.0, -0.5, 2.0}, {0.3, 0.8, -1.2}, {-2.0, 0.0, 1.0}, {0.5, 0.5, 0.5}})
  local t = lurn.tensor({{2.0, 0.0, 1.0}, {-1.0, 3.0, 0.5}, {0.0, 0.2, 0.1}, {1.5, -0.5, 0.0}})
  local y = lurn.tensor({2, 1, 0, 1}, "int64")
  local N = 4
  local function by_hand(Tt, alpha)
    local soft_t = (t / Tt):softmax(1)
    local log_s = (s / Tt):log_softmax(1)
    local kl = (soft_t * (soft_t:log() - log_s)):sum() / N
    local ce = -(s:log_softmax(1) * F.one_hot(y, 3)):sum() / N
    return alpha * Tt * Tt * kl:item() + (1 - alpha) * ce:item()
  end
  -- and once more in plain Lua numbers
  local function in_lua(Tt, alpha)
    local S, Tl = s:totable(), t:totable()
    local kl, ce = 0, 0
    for i = 1, N do
      local st, tt = {}, {}
      for j = 1, 3 do st[j], tt[j] = S[i][j] / Tt, Tl[i][j] / Tt end
      local pt, ls = softmax_row(tt), log_softmax_row(st)
      for j = 1, 3 do kl = kl + pt[j] * (log(pt[j]) - ls[j]) end
      ce = ce - log_softmax_row(S[i])[y:totable()[i] + 1]
    end
    return alpha * Tt * Tt * kl / N + (1 - alpha) * ce / N
  end
  T.assert_close(F.distillation_loss(s, t, y):item(), by_hand(4, 0.7), 1e-5, 1e-5, "defaults T=4, alpha=0.7")
  T.assert_close(F.distillation_loss(s, t, y):item(), in_lua(4, 0.7), 1e-5, 1e-5)
  for _, c in ipairs({{1, 0.5}, {2, 0.0}, {3, 1.0}, {10, 0.9}}) do
    local Tt, alpha = c[1], c[2]
    local got = F.distillation_loss(s, t, y, {T = Tt, alpha = alpha}):item()
    T.assert_close(got, by_hand(Tt, alpha), 1e-5, 1e-5, ("T=%g alpha=%g"):format(Tt, alpha))
    T.assert_close(got, in_lua(Tt, alpha), 1e-5, 1e-5, ("T=%g alpha=%g (lua)"):format(Tt, alpha))
  end
  -- alpha = 0 is plain cross-entropy; equal logits make the KL term 0
  T.assert_close(F.distillation_loss(s, t, y, {alpha = 0}), F.cross_entropy(s, y), 1e-6, 1e-6)
  T.assert_close(F.distillation_loss(s, s, y, {alpha = 1}):item(), 0, 1e-6, 0)
end)

T.case("distillation_loss: gradient reaches the student only", function()
  local s = T.param({4, 3})
  local t = T.param({4, 3}) -- even a teacher output that requires grad gets none
  local y = lurn.tensor({2, 1, 0, 1}, "int64")
  local loss = F.distillation_loss(s, t, y, {T = 2, alpha = 0.6})
  loss:backward()
  T.assert_equal(t.grad, nil, "no gradient into the teacher logits")
  T.assert_equal(s.grad ~= nil, true)
  s.grad = nil
  -- a teacher model's parameters get none either
  local teacher = nn.Linear(5, 3)
  local student = nn.Linear(5, 3)
  local x = lurn.randn(4, 5)
  F.distillation_loss(student(x), teacher(x), y):backward()
  T.assert_equal(teacher.weight.grad, nil)
  T.assert_equal(teacher.bias.grad, nil)
  T.assert_equal(student.weight.grad ~= nil, true)
  -- the student's gradient is right (teacher held fixed)
  local tfix = lurn.randn(4, 3)
  T.gradcheck(function(a) return F.distillation_loss(a, tfix, y, {T = 3, alpha = 0.7}) end,
    {T.param({4, 3})}, {name = "distillation"})
  T.gradcheck(function(a) return F.distillation_loss(a, tfix, y, {T = 1, alpha = 0.3}) end,
    {T.param({4, 3})}, {name = "distillation T=1"})
end)

T.finish("test_losses.lua")
