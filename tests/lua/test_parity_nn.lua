-- Parity with PyTorch: layers, losses and 25-step training trajectories against the
-- fixtures written by tests/parity/gen_parity.py (PyTorch 1.13, float32).
local lurn = require "lurn"
local T = require "testing"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim

local fixtures = arg[0]:match("^(.*)/[^/]*$") .. "/../fixtures/"
local layers = lurn.load(fixtures .. "parity_layers.safetensors")
local losses = lurn.load(fixtures .. "parity_losses.safetensors")
local train = lurn.load(fixtures .. "parity_train.safetensors")

local ATOL, RTOL = 1e-5, 1e-5

local function set(dst, src) lurn.no_grad(function() dst:copy_(src) end) end

-- ---- layers: forward and every gradient ----
local function layer_case(name, module, params)
  T.case("layer " .. name, function()
    local fx = layers
    for i, p in ipairs(params or {}) do set(p, fx[name .. ".p" .. (i - 1)]) end
    local x = fx[name .. ".x0"]:clone():requires_grad_()
    local y = module(x)
    T.assert_close(y, fx[name .. ".y"], ATOL, RTOL, name .. " forward")
    local upstream = (y * fx[name .. ".g"]):sum()
    upstream:backward()
    T.assert_close(x.grad, fx[name .. ".gx0"], ATOL, RTOL, name .. " input grad")
    for i, p in ipairs(params or {}) do
      T.assert_close(p.grad, fx[name .. ".gp" .. (i - 1)], ATOL, RTOL, name .. " param grad " .. i)
    end
  end)
end

local lin = nn.Linear(5, 4)
layer_case("linear", lin, {lin.weight, lin.bias})
local lin3 = nn.Linear(6, 2)
layer_case("linear3d", lin3, {lin3.weight, lin3.bias})
local lnb = nn.Linear(4, 3, {bias = false})
layer_case("linear_nobias", lnb, {lnb.weight})
layer_case("relu", nn.ReLU())
layer_case("sigmoid", nn.Sigmoid())
layer_case("tanh", nn.Tanh())
layer_case("softmax", nn.Softmax(1))
layer_case("log_softmax", nn.LogSoftmax(1))
layer_case("softmax0", nn.Softmax(0))
layer_case("flatten", nn.Flatten())

-- ---- losses: value and input gradient ----
local function loss_case(name, fn)
  T.case("loss " .. name, function()
    local fx = losses
    local x = fx[name .. ".x"]:clone():requires_grad_()
    local loss = fn(x, fx[name .. ".target"], fx)
    T.assert_close(loss, fx[name .. ".loss"], ATOL, RTOL, name .. " value")
    local upstream = (loss * fx[name .. ".g"]):sum()
    upstream:backward()
    T.assert_close(x.grad, fx[name .. ".gx"], ATOL, RTOL, name .. " input grad")
  end)
end

local function module_loss(cls, opts) return function(x, t) return cls(opts)(x, t) end end
loss_case("bce", module_loss(nn.BCELoss))
loss_case("bce_sum", module_loss(nn.BCELoss, {reduction = "sum"}))
loss_case("bce_logits", module_loss(nn.BCEWithLogitsLoss))
loss_case("bce_logits_pw", function(x, t, fx)
  return nn.BCEWithLogitsLoss({pos_weight = fx["bce_logits_pw.pos_weight"]})(x, t)
end)
loss_case("ce", module_loss(nn.CrossEntropyLoss))
loss_case("ce_none", module_loss(nn.CrossEntropyLoss, {reduction = "none"}))
loss_case("ce_sum", module_loss(nn.CrossEntropyLoss, {reduction = "sum"}))
loss_case("ce_weight", function(x, t, fx)
  return nn.CrossEntropyLoss({weight = fx["ce_weight.weight"]})(x, t)
end)
loss_case("ce_ignore", module_loss(nn.CrossEntropyLoss))
loss_case("ce_smooth", module_loss(nn.CrossEntropyLoss, {label_smoothing = 0.1}))
loss_case("ce_smooth_weight", function(x, t, fx)
  return nn.CrossEntropyLoss({weight = fx["ce_smooth_weight.weight"], label_smoothing = 0.2})(x, t)
end)
loss_case("ce_probs", module_loss(nn.CrossEntropyLoss))
loss_case("nll", module_loss(nn.NLLLoss))
loss_case("mse", module_loss(nn.MSELoss))
loss_case("mse_none", module_loss(nn.MSELoss, {reduction = "none"}))
loss_case("l1", module_loss(nn.L1Loss))
loss_case("smooth_l1", module_loss(nn.SmoothL1Loss, {beta = 0.5}))
loss_case("kl_batchmean", module_loss(nn.KLDivLoss, {reduction = "batchmean"}))
loss_case("kl_log_target", module_loss(nn.KLDivLoss, {reduction = "sum", log_target = true}))
loss_case("distill", function(x, t, fx)
  return F.distillation_loss(x, fx["distill.teacher"], t, {T = 4, alpha = 0.7})
end)

-- ---- 25 full-batch optimizer steps from PyTorch's initial weights ----
local MLP = nn.Module:extend("MLP")
function MLP:__init(k)
  self.fc1 = nn.Linear(20, 128); self.fc2 = nn.Linear(128, 64)
  self.fc3 = nn.Linear(64, 32); self.fc4 = nn.Linear(32, k)
end
function MLP:forward(x)
  x = F.relu(self.fc1(x)); x = F.relu(self.fc2(x)); x = F.relu(self.fc3(x))
  return self.fc4(x)
end

local function state_with_prefix(fx, prefix)
  local sd = {}
  for k, v in pairs(fx) do
    local name = k:match("^" .. prefix:gsub("%p", "%%%0") .. "(.*)$")
    if name then sd[name] = v end
  end
  return sd
end

local function train_case(name, k, make_opt, loss_fn, target, freeze)
  T.case("train " .. name, function()
    local m = MLP(k)
    local report = m:load_state_dict(state_with_prefix(train, name .. ".init."))
    assert(#report.missing == 0 and #report.unexpected == 0, "fixture keys match the model")
    if freeze then m:freeze(freeze) end
    local frozen_before = freeze and m[freeze].weight:clone()
    local opt = make_opt(m:parameters())
    local got = {}
    for step = 1, 25 do
      opt:zero_grad()
      local loss = loss_fn(m(train.X), target)
      loss:backward()
      opt:step()
      got[step] = loss:item()
    end
    T.assert_close(got, train[name .. ".losses"], 0, 1e-5, name .. " loss trajectory")
    for pname, p in m:named_parameters() do
      T.assert_close(p, train[name .. ".final." .. pname], 1e-5, 1e-4, name .. " final " .. pname)
    end
    if freeze then
      T.assert_equal((m[freeze].weight - frozen_before):abs():max():item(), 0.0,
        "frozen weights are bit-identical after 25 steps with weight decay")
    end
  end)
end

local function bce(o, y) return F.binary_cross_entropy(o:sigmoid(), y) end
train_case("adam_bce", 1, function(p) return optim.Adam(p, {lr = 1e-3}) end, bce, train.y_binary)
train_case("sgd_ce", 3, function(p)
  return optim.SGD(p, {lr = 0.05, momentum = 0.9, weight_decay = 1e-3})
end, F.cross_entropy, train.y_class, "fc1")
train_case("sgd_nesterov", 3, function(p)
  return optim.SGD(p, {lr = 0.05, momentum = 0.9, nesterov = true})
end, F.cross_entropy, train.y_class)
train_case("adamw_amsgrad", 3, function(p)
  return optim.AdamW(p, {lr = 2e-3, weight_decay = 0.05, amsgrad = true})
end, F.cross_entropy, train.y_class)
train_case("adam_wd", 1, function(p)
  return optim.Adam(p, {lr = 1e-3, betas = {0.8, 0.99}, weight_decay = 1e-2})
end, bce, train.y_binary)

T.finish("test_parity_nn")
