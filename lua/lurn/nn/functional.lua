-- nn.functional: activations and losses as functions. Losses validate their targets and
-- name themselves in errors; the numerically stable forms are used throughout.
local lurn = require "lurn"
local act = require "lurn.nn.activation"
local shape_str = require("lurn.nn.module").shape_str

local F = {}

F.relu, F.sigmoid, F.tanh = lurn.relu, lurn.sigmoid, lurn.tanh
F.softmax, F.log_softmax = lurn.softmax, lurn.log_softmax
F.linear = lurn.linear

function F.dropout(x, p, training)
  if training == nil then training = true end
  return act.dropout(x, p or 0.5, training)
end

--- one_hot(int64 target [N], num_classes) -> float32 [N, C]
function F.one_hot(target, num_classes)
  if not lurn.is_tensor(target) then
    error(("one_hot: target must be a tensor of int64 class indices, got %s"):format(type(target)), 2)
  end
  if target.dtype ~= "int64" then error("one_hot: target must be int64 class indices", 2) end
  if num_classes ~= nil and (math.type(num_classes) ~= "integer" or num_classes < 1) then
    error(("one_hot: num_classes must be a positive integer, got %s"):format(
      math.type(num_classes) == "integer" and num_classes or math.type(num_classes) or type(num_classes)), 2)
  end
  num_classes = num_classes or (target:max():item() + 1)
  return target:unsqueeze(-1):eq(lurn.arange(num_classes)):float()
end

-- ---- helpers ----
local function same_shape(a, b)
  local sa, sb = a.shape, b.shape
  if #sa ~= #sb then return false end
  for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
  return true
end

local function reduce(loss, reduction, name)
  if reduction == nil or reduction == "mean" then return loss:mean() end
  if reduction == "sum" then return loss:sum() end
  if reduction == "none" then return loss end
  error(("%s: reduction must be \"mean\", \"sum\" or \"none\" (got %s)"):format(name, tostring(reduction)), 3)
end

local function check_pair(name, input, target, level)
  if not lurn.is_tensor(input) or not lurn.is_tensor(target) then
    error(("%s: expected input and target tensors, got %s and %s"):format(
      name, lurn.is_tensor(input) and "tensor" or type(input),
      lurn.is_tensor(target) and "tensor" or type(target)), level + 1)
  end
  if not same_shape(input, target) then
    error(("%s: input shape %s and target shape %s differ"):format(
      name, shape_str(input.shape), shape_str(target.shape)), level + 1)
  end
  if input.dtype ~= "float32" or target.dtype ~= "float32" then
    error(("%s: expected float32 input and target, got %s and %s"):format(
      name, input.dtype, target.dtype), level + 1)
  end
end

-- A loss's options: nil reads as none; anything but a table (F.mse_loss(x, y, true)) is
-- named at the line that called the loss.
local function opt(o, name, example)
  if o == nil then return {} end
  if type(o) ~= "table" then
    error(("%s: options must be a table such as %s, got %s"):format(
      name, example or '{reduction = "sum"}', lurn.is_tensor(o) and "tensor" or type(o)), 3)
  end
  return o
end

-- ---- regression ----
function F.mse_loss(input, target, o)
  o = opt(o, "mse_loss"); check_pair(o.name or "mse_loss", input, target, 2)
  local d = input - target
  return reduce(d * d, o.reduction, o.name or "mse_loss")
end

function F.l1_loss(input, target, o)
  o = opt(o, "l1_loss"); check_pair(o.name or "l1_loss", input, target, 2)
  return reduce((input - target):abs(), o.reduction, o.name or "l1_loss")
end

function F.smooth_l1_loss(input, target, o)
  o = opt(o, "smooth_l1_loss"); check_pair(o.name or "smooth_l1_loss", input, target, 2)
  local beta = o.beta or 1.0
  local d = (input - target):abs()
  local loss = beta == 0 and d or lurn.where(d:lt(beta), d * d * (0.5 / beta), d - 0.5 * beta)
  return reduce(loss, o.reduction, o.name or "smooth_l1_loss")
end

-- ---- binary ----
function F.binary_cross_entropy(input, target, o)
  o = opt(o, "binary_cross_entropy")
  local name = o.name or "binary_cross_entropy"
  check_pair(name, input, target, 2)
  local ok, loss = pcall(lurn.binary_cross_entropy, input, target,
    {weight = o.weight, reduction = o.reduction or "mean", name = name})
  if not ok then error(loss, 2) end
  return loss
end

function F.binary_cross_entropy_with_logits(input, target, o)
  o = opt(o, "binary_cross_entropy_with_logits")
  local name = o.name or "binary_cross_entropy_with_logits"
  check_pair(name, input, target, 2)
  -- max(x, 0) - x*y + log(1 + exp(-|x|)): never exp of a large positive number
  local softplus_neg_abs = ((-input:abs()):exp() + 1):log()
  local loss
  if o.pos_weight then
    local lw = (o.pos_weight - 1) * target + 1
    loss = (1 - target) * input + lw * (softplus_neg_abs + (-input):relu())
  else
    loss = input:relu() - input * target + softplus_neg_abs
  end
  if o.weight then loss = loss * o.weight end
  return reduce(loss, o.reduction, name)
end

-- ---- classification ----
local function class_dim(input) return input:dim() == 1 and 0 or 1 end

function F.nll_loss(input, target, o)
  o = opt(o, "nll_loss")
  return lurn.nll_loss(input, target, {weight = o.weight, ignore_index = o.ignore_index,
    reduction = o.reduction, name = o.name or "nll_loss"})
end

--- Cross-entropy from logits (fused log-softmax + NLL). target: int64 class indices, or
--- float class probabilities of the input's shape. Options: weight, ignore_index (-100),
--- label_smoothing, reduction.
function F.cross_entropy(input, target, o)
  o = opt(o, "cross_entropy")
  local name = o.name or "cross_entropy"
  if not lurn.is_tensor(input) or not lurn.is_tensor(target) then
    error(name .. ": expected input and target tensors", 2)
  end
  if input:dim() ~= 1 and input:dim() ~= 2 then
    error(("%s: input must be [N, C] logits (or [C]), got %s"):format(name, shape_str(input.shape)), 2)
  end
  local eps = o.label_smoothing or 0
  if eps == 0 and target.dtype == "int64" then -- the common case, in one C call
    local ok, loss = pcall(lurn._cross_entropy, input, target, o.weight, o.ignore_index or -100,
                           o.reduction or "mean", name)
    if not ok then error(loss, 2) end
    return loss
  end
  if input.dtype ~= "float32" then
    error(("%s: input must be float32 logits, got %s %s"):format(name, input.dtype, shape_str(input.shape)), 2)
  end
  local cdim = class_dim(input)
  local C = input:size(cdim)
  local logp = input:log_softmax(cdim)
  if target.dtype == "float32" then -- class probabilities
    if not same_shape(input, target) then
      error(("%s: probability target shape %s differs from input shape %s"):format(
        name, shape_str(target.shape), shape_str(input.shape)), 2)
    end
    if eps > 0 then target = target * (1 - eps) + eps / C end
    local prod = logp * target
    if o.weight then prod = prod * o.weight end
    local loss = -prod:sum(cdim)
    return reduce(loss, o.reduction, name)
  end
  local reduction = o.reduction or "mean"
  local ignore = o.ignore_index or -100
  local ok, nll = pcall(lurn.nll_loss, logp, target,
    {weight = o.weight, ignore_index = ignore, reduction = reduction, name = name})
  if not ok then error(nll, 2) end
  if eps == 0 then return nll end
  -- label smoothing, as PyTorch: (1 - eps) * nll + eps / C * sum_c(-w_c logp_c)
  local smooth = -(o.weight and logp * o.weight or logp):sum(cdim)
  local keep = target:ne(ignore):float()
  smooth = smooth * keep
  local red
  if reduction == "mean" then
    if o.weight then
      local w = o.weight:index_select(0, target:clamp(0, C - 1):view(-1)):view(target.shape)
      red = smooth:sum() / (w * keep):sum()
    else
      red = smooth:sum() / keep:sum() -- the rows that count, as nll's mean (PyTorch)
    end
  else
    red = reduce(smooth, reduction, name)
  end
  return nll * (1 - eps) + red * (eps / C)
end

local warned = {}
local function warn_once(key, msg)
  if not warned[key] then
    warned[key] = true
    io.stderr:write("lurn: warning: " .. msg .. "\n")
  end
end

--- KL(target || q) where input = log q (log-probabilities, as PyTorch's kl_div).
--- target: probabilities, or log-probabilities with log_target = true.
--- reduction "batchmean" is the true KL divergence per sample; "mean" divides by the
--- number of elements (PyTorch's default, kept for parity, with a warning).
function F.kl_div(input, target, o)
  o = opt(o, "kl_div")
  local name = o.name or "kl_div"
  check_pair(name, input, target, 2)
  if input:numel() > 0 and input:max():item() > 1e-6 then
    warn_once("kl_input", name .. " expects log-probabilities as input but got positive "
      .. "values; did you pass probabilities? (use log_softmax)")
  end
  local loss
  if o.log_target then
    loss = target:exp() * (target - input)
  else
    -- 0 * log 0 = 0: where the target is 0 the term is 0
    loss = lurn.where(target:gt(0), target * (target:clamp(1e-38):log() - input), 0)
  end
  local reduction = o.reduction or "mean"
  if reduction == "batchmean" then
    local n = input:dim() > 0 and input:size(0) or 1
    return loss:sum() / n
  end
  if reduction == "mean" then
    warn_once("kl_mean", name .. ": reduction \"mean\" divides by the number of elements, "
      .. "not the batch size; use reduction = \"batchmean\" for the KL divergence")
  end
  return reduce(loss, reduction, name)
end

--- Response-based knowledge distillation (Hinton et al., 2015):
--- alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y).
--- The teacher's logits are detached; T^2 keeps the soft term's gradients at the scale
--- of the hard term's as T grows.
function F.distillation_loss(student_logits, teacher_logits, target, o)
  o = opt(o, "distillation_loss", "{T = 4, alpha = 0.7}")
  if not lurn.is_tensor(student_logits) then
    error(("distillation_loss: student_logits must be a tensor, got %s"):format(type(student_logits)), 2)
  end
  if not lurn.is_tensor(teacher_logits) then
    error(("distillation_loss: teacher_logits must be a tensor, got %s"):format(type(teacher_logits)), 2)
  end
  local T, alpha = o.T or 4, o.alpha or 0.7
  if type(T) ~= "number" or not (T > 0) then
    error(("distillation_loss: T must be a positive number, got %s"):format(
      type(T) == "number" and tostring(T) or type(T)), 2)
  end
  if type(alpha) ~= "number" or not (alpha >= 0 and alpha <= 1) then
    error(("distillation_loss: alpha must be a number in [0, 1], got %s"):format(
      type(alpha) == "number" and tostring(alpha) or type(alpha)), 2)
  end
  local soft_t = (teacher_logits:detach() / T):softmax(1)
  local log_s = (student_logits / T):log_softmax(1)
  local kd = F.kl_div(log_s, soft_t, {reduction = "batchmean", name = "distillation_loss"})
  local ce = F.cross_entropy(student_logits, target, {name = "distillation_loss"})
  return kd * (alpha * T * T) + ce * (1 - alpha)
end

return F
