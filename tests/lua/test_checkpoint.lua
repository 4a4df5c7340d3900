-- Checkpoints: PyTorch <-> lurn in both directions, the seed's save -> load -> freeze/swap
-- flow, load_state_dict reports, optimizer state by name, bit-identical resume.
local lurn = require "lurn"
local T = require "testing"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim

local here = arg[0]:match("^(.*)/[^/]*$")
local fixtures = here .. "/../fixtures/"
local tmp = os.tmpname()
os.remove(tmp)
local function scratch(name) return tmp .. "-" .. name .. ".safetensors" end

local FFNN = nn.Module:extend("FFNNModel")
function FFNN:__init(n)
  self.fc1 = nn.Linear(n, 128); self.fc2 = nn.Linear(128, 64)
  self.fc3 = nn.Linear(64, 32); self.fc4 = nn.Linear(32, 1)
end
function FFNN:forward(x)
  x = F.relu(self.fc1(x)); x = F.relu(self.fc2(x)); x = F.relu(self.fc3(x))
  return self.fc4(x):sigmoid()
end

T.case("a PyTorch state_dict loads into the lurn model and predicts the same", function()
  local m = FFNN(20)
  local report = m:load_state_dict(lurn.load(fixtures .. "torch_ffnn.safetensors"))
  T.assert_equal(#report.missing + #report.unexpected + #report.mismatched, 0)
  local io_ = lurn.load(fixtures .. "torch_ffnn_io.safetensors")
  T.assert_close(lurn.no_grad(m, io_.X), io_.pred, 1e-6, 1e-5, "predictions")
end)

T.case("a lurn file loads into PyTorch and predicts the same, and lurn still writes it", function()
  -- make_lurn_checkpoint.lua wrote lurn_ffnn.safetensors; gen_checkpoint.py loaded it into
  -- PyTorch and recorded PyTorch's predictions
  local sd, meta = lurn.load(fixtures .. "lurn_ffnn.safetensors")
  local m = FFNN(20)
  m:load_state_dict(sd)
  local X = lurn.load(fixtures .. "torch_ffnn_io.safetensors").X
  T.assert_close(lurn.no_grad(m, X), lurn.load(fixtures .. "torch_preds_of_lurn.safetensors").pred,
    1e-6, 1e-5, "PyTorch's predictions from lurn's file")
  -- the writer has not drifted: saving the same tensors gives the same bytes
  local path = scratch("rewrite")
  lurn.save(sd, path, {metadata = meta})
  local a, b = io.open(path, "rb"), io.open(fixtures .. "lurn_ffnn.safetensors", "rb")
  local same = a:read("a") == b:read("a")
  a:close(); b:close(); os.remove(path)
  assert(same, "lurn.save output differs from the committed file")
end)

T.case("the seed's flow: pretrain, save, load, freeze, swap the head, train", function()
  lurn.manual_seed(0)
  local X, y = lurn.rand(64, 20), lurn.randint(0, 2, {64}):float():unsqueeze(1)
  local pre = FFNN(20)
  local opt = optim.Adam(pre:parameters(), {lr = 1e-3})
  for _ = 1, 5 do
    opt:zero_grad(); F.binary_cross_entropy(pre(X), y):backward(); opt:step()
  end
  local path = scratch("pretrained")
  lurn.save(pre:state_dict(), path)

  local m = FFNN(20)
  m:load_state_dict(lurn.load(path))
  T.assert_close(lurn.no_grad(m, X), lurn.no_grad(pre, X), 0, 0, "reloaded model predicts the same")
  m:freeze("fc1", "fc2", "fc3")
  m.fc4 = nn.Linear(32, 3)
  local names = {}
  for n in m:named_parameters() do names[#names + 1] = n end
  T.assert_equal(names, {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight",
    "fc3.bias", "fc4.weight", "fc4.bias"}, "the new head takes fc4's slot")
  local before = m.fc1.weight:clone()
  local classes = lurn.randint(0, 3, {64})
  local opt2 = optim.SGD(m:parameters(), {lr = 0.1, momentum = 0.9, weight_decay = 1e-2})
  local function logits(x)
    local h = F.relu(m.fc3(F.relu(m.fc2(F.relu(m.fc1(x))))))
    return m.fc4(h)
  end
  local first, last
  for _ = 1, 20 do
    opt2:zero_grad()
    local loss = F.cross_entropy(logits(X), classes)
    loss:backward(); opt2:step()
    first = first or loss:item(); last = loss:item()
  end
  assert(last < first, "the new head learns")
  T.assert_equal((m.fc1.weight - before):abs():max():item(), 0.0, "frozen layers unchanged")
  -- loading the pretrained file into the swapped model: strict lists the mismatch
  T.assert_error(function() m:load_state_dict(lurn.load(path)) end,
    "size mismatch for fc4.weight: expected [3, 32], got [1, 32]")
  local report = m:load_state_dict(lurn.load(path), {skip_mismatched = true})
  T.assert_equal(#report.mismatched, 2)
  T.assert_equal(report.mismatched[1], {"fc4.bias", "[3]", "[1]"})
  os.remove(path)
end)

T.case("load_state_dict reports missing and unexpected keys; strict lists all problems", function()
  local m = FFNN(4)
  local sd = m:state_dict()
  sd["fc4.bias"] = nil
  sd["extra.weight"] = lurn.zeros(2)
  local report = FFNN(4):load_state_dict(sd, {strict = false})
  T.assert_equal(report.missing, {"fc4.bias"})
  T.assert_equal(report.unexpected, {"extra.weight"})
  local msg = T.assert_error(function() FFNN(4):load_state_dict(sd) end, "missing keys: fc4.bias")
  assert(msg:find("unexpected keys: extra.weight", 1, true), msg)
end)

local function run(make_opt, total, split)
  local function setup()
    lurn.manual_seed(7)
    local m = nn.Sequential({{"fc1", nn.Linear(6, 16)}, {"act", nn.Tanh()}, {"head", nn.Linear(16, 3)}})
    return m, make_opt(m)
  end
  lurn.manual_seed(99)
  local X, y = lurn.randn(40, 6), lurn.randint(0, 3, {40})
  local function steps(m, opt, n)
    for _ = 1, n do opt:zero_grad(); F.cross_entropy(m(X), y):backward(); opt:step() end
  end
  local a, oa = setup()
  steps(a, oa, total)
  local b, ob = setup()
  steps(b, ob, split)
  local path = scratch("resume")
  lurn.save_checkpoint(path, {model = b, optimizer = ob, extra = {step = split, lr = 0.1, tag = "x"}})
  local c, oc = setup()
  local info = lurn.load_checkpoint(path, {model = c, optimizer = oc})
  os.remove(path)
  T.assert_equal(info.extra, {step = split, lr = 0.1, tag = "x"}, "extra values come back exactly")
  steps(c, oc, total - split)
  for name, p in a:named_parameters() do
    T.assert_equal((p - c:state_dict()[name]):abs():max():item(), 0.0, "bit-identical " .. name)
  end
  return oc
end

T.case("resume from a checkpoint is bit-identical: Adam (amsgrad, weight decay)", function()
  run(function(m) return optim.Adam(m:parameters(), {lr = 3e-3, weight_decay = 1e-3, amsgrad = true}) end, 15, 6)
end)

T.case("resume is bit-identical: SGD with Nesterov momentum and two param groups", function()
  local opt = run(function(m)
    return optim.SGD({{params = m.fc1:parameters(), lr = 0.05},
                      {params = m.head:parameters(), lr = 0.2}}, {momentum = 0.9, nesterov = true})
  end, 12, 5)
  T.assert_equal(opt.param_groups[2].lr, 0.2, "group hyperparameters restored")
end)

T.case("optimizer state is keyed by name: a swapped head's state is skipped", function()
  lurn.manual_seed(1)
  local m = nn.Sequential({{"fc1", nn.Linear(3, 4)}, {"head", nn.Linear(4, 2)}})
  local opt = optim.Adam(m:parameters())
  opt:zero_grad(); m(lurn.rand(5, 3)):sum():backward(); opt:step()
  local tensors, meta = opt:state_dict(m)
  assert(tensors["state.fc1.weight.exp_avg"], "moments keyed by parameter name")
  T.assert_equal(meta["state.fc1.weight.step"], "i:1")
  local path = scratch("opt")
  lurn.save(tensors, path, {metadata = meta})
  local t2, m2 = lurn.load(path)
  os.remove(path)
  m.head = nn.Linear(4, 5)
  local opt2 = optim.Adam(m:parameters())
  local report = opt2:load_state_dict(t2, m2, m)
  T.assert_equal(report.restored, 2)
  T.assert_equal(report.skipped, {"head.bias", "head.weight"})
  T.assert_close(opt2.state[m.fc1.weight].exp_avg, opt.state[m.fc1.weight].exp_avg, 0, 0)
end)

T.case("a damaged or foreign checkpoint's optimizer entries are refused before anything changes", function()
  lurn.manual_seed(2)
  local m = nn.Sequential({{"fc1", nn.Linear(3, 4)}, {"head", nn.Linear(4, 2)}})
  local opt = optim.Adam(m:parameters(), {lr = 0.01, amsgrad = true})
  opt:zero_grad(); m(lurn.rand(5, 3)):sum():backward(); opt:step()
  local path, bad = scratch("good"), scratch("bad")
  lurn.save_checkpoint(path, {model = m, optimizer = opt})
  local tensors, meta = lurn.load(path)
  os.remove(path)
  local cases = {
    {"optimizer.group.1.lr", "s:abc", "optimizer setting 'lr' of group 1 is \"s:abc\", not a number"},
    {"optimizer.group.1.lr", "0.1", "'lr' of group 1 is \"0.1\", not a number"}, -- untagged: a string
    {"optimizer.group.1.eps", "i:", "'eps' of group 1 is \"i:\", not a number"},
    {"optimizer.group.1.betas", "l:0.9", "'betas' of group 1 is \"l:0.9\", not a list of 2 numbers"},
    {"optimizer.group.1.amsgrad", "i:1", "'amsgrad' of group 1 is \"i:1\", not a boolean"},
    {"optimizer.state.fc1.weight.step", "n:1.5", "state 'state.fc1.weight.step' is \"n:1.5\", not a step count"},
    {"optimizer.state.fc1.weight.step", "i:-3", "not a step count"},
    {"optimizer.state.fc1.weight.step", "i:99999999999999999999", "not a step count"},
  }
  for _, c in ipairs(cases) do
    local m2 = {}
    for k, v in pairs(meta) do m2[k] = v end
    m2[c[1]] = c[2]
    lurn.save(tensors, bad, {metadata = m2})
    local fresh = nn.Sequential({{"fc1", nn.Linear(3, 4)}, {"head", nn.Linear(4, 2)}})
    local w0 = fresh.fc1.weight:clone()
    local opt2 = optim.Adam(fresh:parameters(), {lr = 0.5})
    T.assert_error(function() lurn.load_checkpoint(bad, {model = fresh, optimizer = opt2}) end,
      {"load_checkpoint: " .. bad, c[3]}, c[1] .. " = " .. c[2])
    T.assert_close(fresh.fc1.weight, w0, 0, 0, "the model is left as it was")
    T.assert_equal(opt2.param_groups[1].lr, 0.5, "the optimizer is left as it was")
    T.assert_equal(next(opt2.state), nil, "no state restored")
    -- the same through opt:load_state_dict
    local t3, m3 = {}, {}
    for k, v in pairs(tensors) do local r = k:match("^optimizer%.(.+)$"); if r then t3[r] = v end end
    for k, v in pairs(m2) do local r = k:match("^optimizer%.(.+)$"); if r then m3[r] = v end end
    T.assert_error(function() opt2:load_state_dict(t3, m3, fresh) end, {"Adam:load_state_dict", c[3]})
  end
  -- a state tensor of another dtype
  local t4 = {}
  for k, v in pairs(tensors) do t4[k] = v end
  t4["optimizer.state.fc1.weight.exp_avg"] = tensors["optimizer.state.fc1.weight.exp_avg"]:long()
  lurn.save(t4, bad, {metadata = meta})
  local fresh = nn.Sequential({{"fc1", nn.Linear(3, 4)}, {"head", nn.Linear(4, 2)}})
  T.assert_error(function()
    lurn.load_checkpoint(bad, {model = fresh, optimizer = optim.Adam(fresh:parameters())})
  end, "optimizer state 'state.fc1.weight.exp_avg' is a tensor of dtype int64, not float32")
  -- and the untouched file still resumes
  lurn.save(tensors, bad, {metadata = meta})
  local opt3 = optim.Adam(fresh:parameters(), {lr = 0.5})
  lurn.load_checkpoint(bad, {model = fresh, optimizer = opt3})
  T.assert_equal(opt3.param_groups[1].lr, 0.01)
  T.assert_equal(opt3.param_groups[1].amsgrad, true)
  os.remove(bad)
end)

T.finish("test_checkpoint")
