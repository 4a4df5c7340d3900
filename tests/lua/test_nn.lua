-- nn.Module and the layers: the class helper, named children in insertion order,
-- parameter walking with PyTorch names, modes, freezing (and that frozen weights stay
-- bit-identical under every optimizer), the unused-parameter warning, layer values and
-- errors, Sequential, the functional twins, and load_state_dict's report.
local lurn = require "lurn"
local T = require "testing"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim

lurn.manual_seed(1234)

-- ---- helpers ----
local function names_of(iter_fn)
  local out = {}
  for name in iter_fn do out[#out + 1] = name end
  return out
end

local function param_names(m) return names_of(m:named_parameters()) end

-- exact copy of a tensor's values as a flat Lua list (for bit-identical comparisons)
local function snapshot(t) return T.values(t) end

local function bit_identical(t, snap, msg)
  local now = T.values(t)
  T.assert_equal(#now, #snap, msg)
  for i = 1, #now do
    if now[i] ~= snap[i] then
      error(("%s: element %d changed from %.9g to %.9g"):format(msg, i, snap[i], now[i]), 2)
    end
  end
end

local function changed(t, snap)
  local now = T.values(t)
  for i = 1, #now do if now[i] ~= snap[i] then return true end end
  return false
end

local capture_stderr = T.capture_stderr

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

-- the seed's FFNN (with relu/sigmoid as registered children, as in the notebook)
local FFNN = nn.Module:extend("FFNN")
function FFNN:__init(n)
  self.fc1 = nn.Linear(n, 128)
  self.fc2 = nn.Linear(128, 64)
  self.fc3 = nn.Linear(64, 32)
  self.fc4 = nn.Linear(32, 1)
  self.relu = nn.ReLU()
  self.sigmoid = nn.Sigmoid()
end
function FFNN:forward(x)
  x = self.relu(self.fc1(x))
  x = self.relu(self.fc2(x))
  x = self.relu(self.fc3(x))
  return self.sigmoid(self.fc4(x))
end

-- a small model with a nested Sequential trunk and a head
local Net = nn.Module:extend("Net")
function Net:__init()
  self.trunk = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6))
  self.head = nn.Linear(6, 2)
end
function Net:forward(x) return self.head(F.relu(self.trunk(x))) end

-- ================================================================================
-- class helper
T.case("class: extend, __init, forward, callable instances", function()
  local Scale = nn.Module:extend("Scale")
  function Scale:__init(k) self.k = k end
  function Scale:forward(x) return x * self.k end
  T.assert_equal(tostring(Scale), "class Scale")
  T.assert_equal(Scale.super, nn.Module)
  local m = Scale(3)
  T.assert_equal(m.k, 3)
  T.assert_equal(m:type_name(), "Scale")
  T.assert_close(m(lurn.tensor({1.0, 2.0})), {3.0, 6.0}, 0, 0)
  T.assert_close(m:forward(lurn.tensor({1.0})), {3.0}, 0, 0)
  T.assert_equal(m.training, true)
  T.assert_equal(nn.is_module(m), true)
  T.assert_equal(nn.is_module({}), false)
  T.assert_equal(nn.is_module(lurn.tensor({1.0})), false)
  -- a module without forward says so, with its class name
  local NoFwd = nn.Module:extend("NoFwd")
  T.assert_error(function() NoFwd()(lurn.zeros(1)) end, "(NoFwd) has no forward method")
end)

T.case("class: inheritance of methods and metamethods through two levels", function()
  local A = nn.Module:extend("A")
  function A:__init(k)
    self.k = k
    self.lin = nn.Linear(2, 2)
  end
  function A:forward(x) return x + self.k end
  function A:twice(v) return 2 * v end
  function A.__len(self) return 40 + self.k end
  function A.__concat(a, b) return "A..B" end
  local B = A:extend("B")
  function B:__init(k, j)
    A.__init(self, k)
    self.j = j
  end
  local C = B:extend("C")
  function C:forward(x) return B.forward(self, x) * self.j end -- overrides, calls parent

  T.assert_equal(B.super, A)
  T.assert_equal(C.super, B)
  local b, c = B(1, 5), C(2, 10)
  -- methods found through the chain
  T.assert_equal(c:twice(4), 8)
  T.assert_equal(b:twice(3), 6)
  -- __init inherited by C (C defines none) and chained by B
  T.assert_equal(c.k, 2); T.assert_equal(c.j, 10)
  T.assert_equal(nn.is_module(c.lin), true)
  T.assert_equal(param_names(c), {"lin.weight", "lin.bias"})
  -- metamethods: inherited by B and by C, plus Module's own (__tostring, __call)
  T.assert_equal(#b, 41)
  T.assert_equal(#c, 42)
  T.assert_equal(b .. c, "A..B")
  T.assert_equal(tostring(c):sub(1, 3), "C(\n")
  -- forward: B inherits A's, C overrides it
  T.assert_close(b(lurn.tensor({1.0, 2.0})), {2.0, 3.0}, 0, 0)
  T.assert_close(c(lurn.tensor({1.0, 2.0})), {30.0, 40.0}, 0, 0)
  T.assert_equal(c:type_name(), "C")
  T.assert_equal(b:type_name(), "B")
end)

T.case("class: instances do not share state", function()
  local m1, m2 = FFNN(20), FFNN(20)
  T.assert_equal(rawequal(m1.fc1, m2.fc1), false)
  m1.extra = 5
  T.assert_equal(m2.extra, nil)
  T.assert_equal(changed(m1.fc1.weight, snapshot(m2.fc1.weight)), true)
end)

-- ================================================================================
-- named children in insertion order
T.case("children: registration order and PyTorch names", function()
  local m = FFNN(20)
  T.assert_equal(param_names(m), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"})
  T.assert_equal(names_of(m:named_children()), {"fc1", "fc2", "fc3", "fc4", "relu", "sigmoid"})
  local ch = m:children()
  T.assert_equal(#ch, 6)
  T.assert_equal(rawequal(ch[1], m.fc1), true)
  T.assert_equal(rawequal(ch[6], m.sigmoid), true)
  local ps = m:parameters()
  T.assert_equal(#ps, 8)
  T.assert_equal(rawequal(ps[1], m.fc1.weight), true)
  T.assert_equal(rawequal(ps[8], m.fc4.bias), true)
  -- many names, so any pairs()-order dependence would show
  local Wide = nn.Module:extend("Wide")
  local names = {}
  function Wide:__init()
    for i = 1, 40 do
      local n = ("layer_%c%d"):format(string.byte("z") - (i % 26), i)
      names[i] = n
      self[n] = nn.Linear(1, 1, {bias = false})
    end
  end
  local w = Wide()
  T.assert_equal(names_of(w:named_children()), names)
end)

T.case("children: re-assigning a name replaces it in its slot", function()
  local m = FFNN(20)
  local old = m.fc4
  m.fc4 = nn.Linear(32, 3)
  T.assert_equal(rawequal(m.fc4, old), false)
  T.assert_shape(m.fc4.weight, {3, 32})
  T.assert_equal(param_names(m), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"})
  T.assert_equal(names_of(m:named_children()), {"fc1", "fc2", "fc3", "fc4", "relu", "sigmoid"})
  T.assert_shape(m:parameters()[7], {3, 32})
  -- re-assigning the first one too
  m.fc1 = nn.Linear(20, 128)
  T.assert_equal(names_of(m:named_children())[1], "fc1")
  -- a new name appends
  m.fc5 = nn.Linear(3, 2)
  T.assert_equal(names_of(m:named_children()), {"fc1", "fc2", "fc3", "fc4", "relu", "sigmoid", "fc5"})
  T.assert_equal(param_names(m)[9], "fc5.weight")
  T.assert_equal(param_names(m)[10], "fc5.bias")
  -- nil removes
  m.fc2 = nil
  T.assert_equal(m.fc2, nil)
  T.assert_equal(names_of(m:named_children()), {"fc1", "fc3", "fc4", "relu", "sigmoid", "fc5"})
  T.assert_equal(param_names(m), {"fc1.weight", "fc1.bias", "fc3.weight", "fc3.bias",
    "fc4.weight", "fc4.bias", "fc5.weight", "fc5.bias"})
  -- re-adding a removed name appends at the end
  m.fc2 = nn.Linear(128, 64)
  T.assert_equal(names_of(m:named_children()), {"fc1", "fc3", "fc4", "relu", "sigmoid", "fc5", "fc2"})
  -- removing a name that was never set is harmless
  m.nothing = nil
  T.assert_equal(#m:children(), 7)
end)

T.case("children: parameters and plain values", function()
  local M = nn.Module:extend("M")
  function M:__init()
    self.scale = nn.Parameter(lurn.ones(3))
    self.lin = nn.Linear(3, 3)
    self.frozen_p = nn.Parameter(lurn.zeros(2), false)
    self.n = 7
    self.label = "hello"
    self.cfg = {a = 1}
    self.plain = lurn.zeros(4) -- a tensor that is not a Parameter is not registered
  end
  function M:forward(x) return self.lin(x * self.scale) end
  local m = M()
  -- as PyTorch: a module's own parameters (in order), then each child's
  T.assert_equal(param_names(m), {"scale", "frozen_p", "lin.weight", "lin.bias"})
  T.assert_equal(m.scale.requires_grad, true)
  T.assert_equal(m.frozen_p.requires_grad, false)
  T.assert_equal(m.n, 7)
  T.assert_equal(m.label, "hello")
  T.assert_equal(m.cfg.a, 1)
  T.assert_equal(#m:children(), 1)
  T.assert_equal(lurn.is_tensor(m.plain), true)
  local sd_keys = {}
  for k in pairs(m:state_dict()) do sd_keys[#sd_keys + 1] = k end
  table.sort(sd_keys)
  T.assert_equal(sd_keys, {"frozen_p", "lin.bias", "lin.weight", "scale"})
  -- a plain value over a parameter's name unregisters it
  m.scale = 2
  T.assert_equal(param_names(m), {"frozen_p", "lin.weight", "lin.bias"})
  -- a new Parameter under an existing plain name registers it at the end
  m.n = nn.Parameter(lurn.zeros(1))
  T.assert_equal(param_names(m), {"frozen_p", "n", "lin.weight", "lin.bias"})
  -- register_parameter / add_module
  m:register_parameter("extra", lurn.zeros(2))
  m:add_module("act", nn.ReLU())
  T.assert_equal(param_names(m), {"frozen_p", "n", "extra", "lin.weight", "lin.bias"})
  T.assert_equal(names_of(m:named_children()), {"lin", "act"})
  T.assert_error(function() m:add_module("x", 5) end, "add_module: expected a Module")
  -- buffers: in state_dict and named_buffers, not in parameters
  m:register_buffer("running", lurn.zeros(3))
  T.assert_equal(names_of(m:named_buffers()), {"running"})
  T.assert_equal(m:state_dict().running ~= nil, true)
  T.assert_equal(#m:parameters(), 5)
  local other = M()
  other:register_buffer("running", lurn.ones(3))
  m:load_state_dict(other:state_dict(), {strict = false})
  T.assert_close(m.running, {1.0, 1.0, 1.0}, 0, 0)
end)

T.case("children: a tensor assigned over a parameter stays a parameter", function()
  -- surgery: m.fc1.weight = w keeps the slot, the name and the trainability
  local l = nn.Linear(3, 2)
  l.weight = lurn.full({2, 3}, 0.5)
  T.assert_equal(param_names(l), {"weight", "bias"})
  T.assert_equal(l.weight.requires_grad, true, "a replaced trainable parameter still trains")
  T.assert_equal(rawequal(l:parameters()[1], l.weight), true)
  local before = T.values(l.weight)
  local opt = optim.SGD(l:parameters(), {lr = 0.1})
  l(lurn.ones(4, 3)):sum():backward()
  opt:step()
  T.assert_equal(changed(l.weight, before), true)
  -- a frozen one stays frozen
  local f = nn.Linear(3, 2)
  f:freeze()
  f.bias = lurn.zeros(2)
  T.assert_equal(f.bias.requires_grad, false, "a replaced frozen parameter stays frozen")
  -- a plain tensor under a new name is not registered
  f.scratch = lurn.zeros(2)
  T.assert_equal(param_names(f), {"weight", "bias"})
end)

T.case("walking: named_modules, modules, shared modules counted once", function()
  local n = Net()
  local names = names_of(n:named_modules())
  T.assert_equal(names, {"", "trunk", "trunk.0", "trunk.1", "trunk.2", "head"})
  local mods = n:modules()
  T.assert_equal(#mods, 6)
  T.assert_equal(rawequal(mods[1], n), true)
  T.assert_equal(rawequal(mods[3], n.trunk[0]), true)
  T.assert_equal(param_names(n), {"trunk.0.weight", "trunk.0.bias", "trunk.2.weight",
    "trunk.2.bias", "head.weight", "head.bias"})
  T.assert_equal(names_of(n:named_children()), {"trunk", "head"})
  -- a module registered twice is walked and its parameters listed once
  local Tied = nn.Module:extend("Tied")
  function Tied:__init()
    self.a = nn.Linear(2, 2)
    self.b = self.a
  end
  local t = Tied()
  T.assert_equal(#t:parameters(), 2)
  T.assert_equal(param_names(t), {"a.weight", "a.bias"})
end)

T.case("modes: train/eval propagate to every descendant", function()
  local n = Net()
  T.assert_equal(n.training, true)
  local ret = n:eval()
  T.assert_equal(rawequal(ret, n), true)
  for name, m in n:named_modules() do T.assert_equal(m.training, false, "eval " .. name) end
  n:train()
  for name, m in n:named_modules() do T.assert_equal(m.training, true, "train " .. name) end
  n:train(false)
  for name, m in n:named_modules() do T.assert_equal(m.training, false, "train(false) " .. name) end
  -- a submodule's eval does not touch its parent
  n:train()
  n.trunk:eval()
  T.assert_equal(n.training, true)
  T.assert_equal(n.head.training, true)
  T.assert_equal(n.trunk[1].training, false)
end)

T.case("zero_grad clears every parameter's grad", function()
  local n = Net()
  local loss = n(lurn.randn(5, 4)):sum()
  loss:backward()
  for name, p in n:named_parameters() do T.assert_equal(p.grad ~= nil, true, name) end
  n:zero_grad()
  for name, p in n:named_parameters() do T.assert_equal(p.grad, nil, name) end
end)

T.case("apply: children before parents, returns self", function()
  local n = Net()
  local order = {}
  local path = {}
  for name, m in n:named_modules() do path[m] = name end
  local ret = n:apply(function(m) order[#order + 1] = path[m] end)
  T.assert_equal(rawequal(ret, n), true)
  T.assert_equal(order, {"trunk.0", "trunk.1", "trunk.2", "trunk", "head", ""})
  -- apply as an initializer
  n:apply(function(m)
    if m:type_name() == "Linear" then lurn.no_grad(function() m.weight:fill_(0.5) end) end
  end)
  T.assert_close(n.head.weight, lurn.full({2, 6}, 0.5), 0, 0)
  T.assert_close(n.trunk[0].weight, lurn.full({8, 4}, 0.5), 0, 0)
end)

T.case("summary: rows, status, totals, printable", function()
  local m = FFNN(20)
  m:freeze("fc1")
  m.fc2.bias.requires_grad = false
  local s = m:summary()
  local names = {}
  for i, r in ipairs(s.rows) do names[i] = r.name end
  T.assert_equal(names, {"fc1", "fc2", "fc3", "fc4", "relu", "sigmoid"})
  local r1, r2, r3, r5 = s.rows[1], s.rows[2], s.rows[3], s.rows[5]
  T.assert_equal(r1.layer, "Linear")
  T.assert_equal(r1.out_features, 128)
  T.assert_equal(r1.params, 20 * 128 + 128)
  T.assert_equal(r1.trainable, "frozen")
  T.assert_equal(r2.params, 128 * 64 + 64)
  T.assert_equal(r2.trainable, "partly frozen")
  T.assert_equal(r3.trainable, "trainable")
  T.assert_equal(s.rows[4].out_features, 1)
  T.assert_equal(r5.layer, "ReLU")
  T.assert_equal(r5.params, 0)
  local total = (20 * 128 + 128) + (128 * 64 + 64) + (64 * 32 + 32) + (32 + 1)
  T.assert_equal(s.total, total)
  T.assert_equal(s.frozen, 20 * 128 + 128 + 64)
  T.assert_equal(s.trainable, total - s.frozen)
  local text = tostring(s)
  T.assert_equal(type(text), "string")
  T.assert_equal(text:find("fc1", 1, true) ~= nil, true)
  T.assert_equal(text:find("frozen", 1, true) ~= nil, true)
  T.assert_equal(text:find(tostring(total), 1, true) ~= nil, true)
  T.assert_equal(count(text, "\n") >= 7, true)
  -- nested: rows name the full path
  local ns = Net():summary()
  local nn_names = {}
  for i, r in ipairs(ns.rows) do nn_names[i] = r.name end
  T.assert_equal(nn_names, {"trunk.0", "trunk.1", "trunk.2", "head"})
  T.assert_equal(ns.total, (4 * 8 + 8) + (8 * 6 + 6) + (6 * 2 + 2))
end)

T.case("printing: tostring(model) lists children with their reprs", function()
  local m = FFNN(20)
  local s = tostring(m)
  T.assert_equal(s:sub(1, 6), "FFNN(\n")
  T.assert_equal(s:sub(-2), "\n)")
  T.assert_equal(s:find("(fc1): Linear(in_features=20, out_features=128, bias=true)", 1, true) ~= nil, true)
  T.assert_equal(s:find("(fc4): Linear(in_features=32, out_features=1, bias=true)", 1, true) ~= nil, true)
  T.assert_equal(s:find("(relu): ReLU()", 1, true) ~= nil, true)
  -- order follows registration
  T.assert_equal(s:find("(fc1)", 1, true) < s:find("(fc2)", 1, true), true)
  T.assert_equal(s:find("(fc4)", 1, true) < s:find("(relu)", 1, true), true)
  T.assert_equal(tostring(nn.Linear(3, 2, {bias = false})), "Linear(in_features=3, out_features=2, bias=false)")
  local n = tostring(Net())
  T.assert_equal(n:find("(trunk): Sequential", 1, true) ~= nil, true)
  T.assert_equal(n:find("\n    (0): Linear(in_features=4, out_features=8, bias=true)", 1, true) ~= nil, true)
  T.assert_equal(tostring(nn.Softmax(1)), "Softmax(dim=1)")
  T.assert_equal(tostring(nn.Dropout(0.25)), "Dropout(p=0.25)")
end)

-- ================================================================================
-- freezing
local function all_requires_grad(m)
  local out = {}
  for name, p in m:named_parameters() do out[name] = p.requires_grad end
  return out
end

T.case("freeze/unfreeze by name, whole module, nested path", function()
  local m = FFNN(20)
  local ret = m:freeze("fc1", "fc2")
  T.assert_equal(rawequal(ret, m), true)
  local rg = all_requires_grad(m)
  T.assert_equal(rg["fc1.weight"], false); T.assert_equal(rg["fc1.bias"], false)
  T.assert_equal(rg["fc2.weight"], false); T.assert_equal(rg["fc2.bias"], false)
  T.assert_equal(rg["fc3.weight"], true); T.assert_equal(rg["fc4.bias"], true)
  m:unfreeze("fc2")
  T.assert_equal(m.fc2.weight.requires_grad, true)
  T.assert_equal(m.fc1.weight.requires_grad, false)
  m:unfreeze() -- no names: everything
  for name, on in pairs(all_requires_grad(m)) do T.assert_equal(on, true, name) end
  m:freeze() -- no names: everything
  for name, on in pairs(all_requires_grad(m)) do T.assert_equal(on, false, name) end
  m:unfreeze()
  m.fc3:freeze() -- a module freezing itself
  T.assert_equal(m.fc3.weight.requires_grad, false)
  T.assert_equal(m.fc3.bias.requires_grad, false)
  T.assert_equal(m.fc4.weight.requires_grad, true)
  -- a nested path
  local n = Net()
  n:freeze("trunk.0")
  T.assert_equal(n.trunk[0].weight.requires_grad, false)
  T.assert_equal(n.trunk[0].bias.requires_grad, false)
  T.assert_equal(n.trunk[2].weight.requires_grad, true)
  T.assert_equal(n.head.weight.requires_grad, true)
  n:freeze("trunk")
  T.assert_equal(n.trunk[2].bias.requires_grad, false)
  T.assert_equal(n.head.bias.requires_grad, true)
  -- unknown names are errors naming the path, and freeze nothing
  local m2 = FFNN(20)
  T.assert_error(function() m2:freeze("fc9") end, "fc9")
  T.assert_error(function() m2:freeze("fc1", "nope") end, "nope")
  T.assert_error(function() n:freeze("trunk.7") end, "trunk.7")
  T.assert_error(function() m2:unfreeze("fc1.weight") end, "fc1.weight")
  T.assert_equal(m2.fc1.weight.requires_grad, true)
end)

T.case("frozen: no gradient after backward, p.requires_grad = false too", function()
  local m = FFNN(20)
  m:freeze("fc1")
  m.fc3.weight.requires_grad = false
  local x, y = lurn.rand(16, 20), lurn.randint(0, 2, {16, 1}):float()
  nn.BCELoss()(m(x), y):backward()
  T.assert_equal(m.fc1.weight.grad, nil)
  T.assert_equal(m.fc1.bias.grad, nil)
  T.assert_equal(m.fc3.weight.grad, nil)
  T.assert_equal(m.fc3.bias.grad ~= nil, true)
  T.assert_equal(m.fc2.weight.grad ~= nil, true)
  T.assert_equal(m.fc4.weight.grad ~= nil, true)
end)

local function frozen_bit_identical(make_opt, label)
  local m = FFNN(20)
  m:freeze("fc1")
  m.fc3.bias.requires_grad = false
  local s_w, s_b, s3b = snapshot(m.fc1.weight), snapshot(m.fc1.bias), snapshot(m.fc3.bias)
  local s2 = snapshot(m.fc2.weight)
  local opt = make_opt(m:parameters())
  local x, y = lurn.rand(16, 20), lurn.randint(0, 2, {16, 1}):float()
  -- a stale gradient on a frozen parameter must not be applied either
  m.fc1.weight.grad = lurn.ones(128, 20)
  for _ = 1, 5 do
    opt:zero_grad()
    m.fc1.bias.grad = lurn.ones(128) -- stale: set after zero_grad, before step
    nn.BCELoss()(m(x), y):backward()
    opt:step()
  end
  bit_identical(m.fc1.weight, s_w, label .. " fc1.weight")
  bit_identical(m.fc1.bias, s_b, label .. " fc1.bias")
  bit_identical(m.fc3.bias, s3b, label .. " fc3.bias")
  T.assert_equal(changed(m.fc2.weight, s2), true, label .. ": fc2 trains")
  T.assert_equal(opt.state[m.fc1.weight], nil, label .. ": no state for a frozen parameter")
end

T.case("frozen: bit-identical under SGD with momentum, nesterov and weight decay", function()
  frozen_bit_identical(function(ps)
    return optim.SGD(ps, {lr = 0.1, momentum = 0.9, weight_decay = 0.1})
  end, "SGD")
  frozen_bit_identical(function(ps)
    return optim.SGD(ps, {lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.05})
  end, "SGD nesterov")
end)

T.case("frozen: bit-identical under Adam and AdamW with weight decay", function()
  frozen_bit_identical(function(ps) return optim.Adam(ps, {lr = 1e-2, weight_decay = 0.1}) end, "Adam")
  frozen_bit_identical(function(ps)
    return optim.Adam(ps, {lr = 1e-2, weight_decay = 0.1, amsgrad = true})
  end, "Adam amsgrad")
  frozen_bit_identical(function(ps) return optim.AdamW(ps, {lr = 1e-2, weight_decay = 0.5}) end, "AdamW")
end)

T.case("frozen then unfrozen: trains again", function()
  local m = FFNN(20)
  m:freeze("fc1")
  local opt = optim.SGD(m:parameters(), {lr = 0.5})
  local x, y = lurn.rand(8, 20), lurn.randint(0, 2, {8, 1}):float()
  local s = snapshot(m.fc1.weight)
  nn.BCELoss()(m(x), y):backward(); opt:step()
  bit_identical(m.fc1.weight, s, "frozen")
  m:unfreeze("fc1")
  opt:zero_grad()
  nn.BCELoss()(m(x), y):backward(); opt:step()
  T.assert_equal(changed(m.fc1.weight, s), true)
end)

-- ================================================================================
-- the unused-parameter warning
T.case("warning: a parameter that never received a gradient is named once", function()
  local Fine = nn.Module:extend("FineTune")
  function Fine:__init()
    self.fc1 = nn.Linear(6, 8)
    self.fc4 = nn.Linear(8, 4)
    self.fc5 = nn.Linear(4, 3) -- defined, never called (the seed's fine-tuning cell)
  end
  function Fine:forward(x) return self.fc4(F.relu(self.fc1(x))) end
  local m = Fine()
  local x, y = lurn.randn(5, 6), lurn.tensor({0, 1, 2, 3, 0}, "int64")
  local out = capture_stderr(function() nn.CrossEntropyLoss()(m(x), y):backward() end)
  T.assert_equal(out:find("fc5", 1, true) ~= nil, true, "warning names fc5: " .. out)
  T.assert_equal(out:find("warning", 1, true) ~= nil, true, out)
  T.assert_equal(out:find("fc1", 1, true), nil, out)
  T.assert_equal(out:find("fc4", 1, true), nil, out)
  -- one warning naming both of fc5's parameters, never repeated
  T.assert_equal(count(out, "warning"), 1, out)
  T.assert_equal(count(out, "fc5%.weight"), 1, out)
  T.assert_equal(count(out, "fc5%.bias"), 1, out)
  local again = capture_stderr(function()
    m:zero_grad()
    nn.CrossEntropyLoss()(m(x), y):backward()
  end)
  T.assert_equal(again, "", "warned only once")
end)

T.case("warning: nothing for a model whose parameters are all used, or frozen", function()
  local m = FFNN(20)
  local x, y = lurn.rand(4, 20), lurn.ones(4, 1)
  local out = capture_stderr(function()
    nn.BCELoss()(m(x), y):backward()
    m:zero_grad()
    nn.BCELoss()(m(x), y):backward()
  end)
  T.assert_equal(out, "")
  -- frozen and unused: not reported
  local Fr = nn.Module:extend("Fr")
  function Fr:__init() self.a = nn.Linear(3, 3); self.b = nn.Linear(3, 3); self.b:freeze() end
  function Fr:forward(x) return self.a(x) end
  local fr = Fr()
  local out2 = capture_stderr(function() fr(lurn.randn(2, 3)):sum():backward() end)
  T.assert_equal(out2, "")
  -- a nested module: named by its full path
  local Nested = nn.Module:extend("Nested")
  function Nested:__init()
    self.trunk = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    self.heads = nn.Sequential({{"a", nn.Linear(3, 1)}, {"b", nn.Linear(3, 1)}})
  end
  function Nested:forward(x) return self.heads.a(self.trunk(x)) end
  local ne = Nested()
  local out3 = capture_stderr(function() ne(lurn.randn(2, 3)):sum():backward() end)
  T.assert_equal(out3:find("heads.b.weight", 1, true) ~= nil, true, out3)
  T.assert_equal(out3:find("heads.a", 1, true), nil, out3)
  T.assert_equal(out3:find("trunk", 1, true), nil, out3)
end)

T.case("warning: not triggered by no_grad evaluation (a distillation teacher)", function()
  local teacher, student = FFNN(20), FFNN(20)
  local x, y = lurn.rand(4, 20), lurn.ones(4, 1)
  local out = capture_stderr(function()
    local t = lurn.no_grad(function() return teacher(x) end)
    local s = student(x);
    (nn.BCELoss()(s, y) + nn.MSELoss()(s, t)):backward()
  end)
  T.assert_equal(out, "")
  -- a teacher with a layer it never calls, run without a tape, is not reported either
  local Teacher = nn.Module:extend("Teacher")
  function Teacher:__init() self.fc1 = nn.Linear(20, 1); self.spare = nn.Linear(3, 3) end
  function Teacher:forward(v) return lurn.sigmoid(self.fc1(v)) end
  local t2 = Teacher()
  local out2 = capture_stderr(function()
    local t = lurn.no_grad(function() return t2(x) end)
    local s = student(x);
    (nn.BCELoss()(s, y) + nn.MSELoss()(s, t)):backward()
  end)
  T.assert_equal(out2, "")
end)

-- ================================================================================
-- layers
T.case("Linear: default init bounds, shapes, bias=false", function()
  lurn.manual_seed(7)
  local l = nn.Linear(100, 50)
  T.assert_shape(l.weight, {50, 100})
  T.assert_shape(l.bias, {50})
  T.assert_equal(l.in_features, 100)
  T.assert_equal(l.out_features, 50)
  local bound = 1 / math.sqrt(100)
  local w, b = T.values(l.weight), T.values(l.bias)
  local wmin, wmax = math.huge, -math.huge
  for _, v in ipairs(w) do wmin, wmax = math.min(wmin, v), math.max(wmax, v) end
  T.assert_equal(wmin >= -bound and wmax <= bound, true, "weight within +-1/sqrt(in)")
  -- uniform over the whole range, not a tiny one (5000 samples)
  T.assert_equal(wmin < -0.9 * bound and wmax > 0.9 * bound, true, "weight spans the range")
  local mean, var = 0, 0
  for _, v in ipairs(w) do mean = mean + v end
  mean = mean / #w
  for _, v in ipairs(w) do var = var + (v - mean) ^ 2 end
  var = var / #w
  T.assert_close(mean, 0, 0.005, 0, "weight mean")
  T.assert_close(var, bound * bound / 3, 0.1 * bound * bound / 3, 0, "weight variance of U(-b, b)")
  for _, v in ipairs(b) do T.assert_equal(v >= -bound and v <= bound, true, "bias bound") end
  T.assert_equal(l.weight.requires_grad, true)
  T.assert_equal(l.bias.requires_grad, true)
  local nb = nn.Linear(3, 2, {bias = false})
  T.assert_equal(nb.bias, nil)
  T.assert_equal(param_names(nb), {"weight"})
  T.assert_error(function() nn.Linear(0, 2) end, "in_features")
  T.assert_error(function() nn.Linear(2, 1.5) end, "out_features")
end)

T.case("Linear: forward equals x @ W^T + b (2-D and 3-D input), gradients", function()
  local l = nn.Linear(3, 2)
  lurn.no_grad(function()
    l.weight:copy_(lurn.tensor({{1.0, 2.0, 3.0}, {-1.0, 0.5, 0.0}}))
    l.bias:copy_(lurn.tensor({0.5, -2.0}))
  end)
  local x = lurn.tensor({{1.0, 0.0, -1.0}, {2.0, 1.0, 0.5}})
  T.assert_close(l(x), {{1 - 3 + 0.5, -1 - 2}, {2 + 2 + 1.5 + 0.5, -2 + 0.5 - 2}}, 1e-6, 0)
  T.assert_close(l(x), x:matmul(l.weight:t()) + l.bias, 1e-6, 1e-6)
  local x3 = lurn.randn(2, 4, 3)
  local y3 = l(x3)
  T.assert_shape(y3, {2, 4, 2})
  T.assert_close(y3:reshape({8, 2}), x3:reshape({8, 3}):matmul(l.weight:t()) + l.bias, 1e-5, 1e-5)
  local nb = nn.Linear(3, 2, {bias = false})
  T.assert_close(nb(x), x:matmul(nb.weight:t()), 1e-6, 1e-6)
  -- a 1-d input is one sample
  T.assert_close(l(lurn.tensor({1.0, 0.0, -1.0})), {1 - 3 + 0.5, -1 - 2}, 1e-6, 0)
  -- gradient of input, weight and bias
  local xin = T.param({4, 3})
  local lw = lurn.tensor(lurn.randn(2, 3), {requires_grad = true})
  local lb = lurn.tensor(lurn.randn(2), {requires_grad = true})
  T.gradcheck(function(a, w, b) return F.linear(a, w, b) end, {xin, lw, lb}, {name = "F.linear"})
end)

T.case("Linear: wrong input width names the module path and the shapes", function()
  local m = FFNN(20)
  T.assert_error(function() m(lurn.rand(32, 19)) end,
    "fc1 (Linear 20->128): input has shape [32, 19], expected [*, 20]")
  local n = Net()
  T.assert_error(function() n(lurn.rand(5, 3)) end,
    "trunk.0 (Linear 4->8): input has shape [5, 3], expected [*, 4]")
  -- a mismatch deeper in the model names that layer
  local B = nn.Module:extend("Broken")
  function B:__init() self.enc = nn.Sequential({{"fc1", nn.Linear(4, 8)}, {"fc2", nn.Linear(7, 2)}}) end
  function B:forward(x) return self.enc(x) end
  T.assert_error(function() B()(lurn.rand(2, 4)) end,
    "enc.fc2 (Linear 7->2): input has shape [2, 8], expected [*, 7]")
  -- a 0-d input
  T.assert_error(function() nn.Linear(2, 2)(lurn.tensor(1.0)) end, "expected [*, 2]")
end)

T.case("activations: values", function()
  local x = lurn.tensor({{-2.0, -0.5, 0.0}, {0.5, 1.0, 3.0}})
  local xv = T.values(x)
  local function map(fn)
    local out = {}
    for i, v in ipairs(xv) do out[i] = fn(v) end
    return {{out[1], out[2], out[3]}, {out[4], out[5], out[6]}}
  end
  T.assert_close(nn.ReLU()(x), map(function(v) return math.max(v, 0) end), 0, 0)
  T.assert_close(nn.Sigmoid()(x), map(function(v) return 1 / (1 + math.exp(-v)) end), 1e-6, 1e-6)
  local tanh = function(v) return (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)) end
  T.assert_close(nn.Tanh()(x), map(tanh), 1e-6, 1e-6)
  T.assert_close(nn.Identity()(x), x, 0, 0)
  -- softmax over dim 1 (rows) and dim 0 (columns)
  local function softmax_rows(rows)
    local out = {}
    for i, r in ipairs(rows) do
      local m, s = -math.huge, 0
      for _, v in ipairs(r) do m = math.max(m, v) end
      for _, v in ipairs(r) do s = s + math.exp(v - m) end
      out[i] = {}
      for j, v in ipairs(r) do out[i][j] = math.exp(v - m) / s end
    end
    return out
  end
  local rows = {{-2.0, -0.5, 0.0}, {0.5, 1.0, 3.0}}
  local sm = softmax_rows(rows)
  T.assert_close(nn.Softmax(1)(x), sm, 1e-6, 1e-5)
  T.assert_close(nn.Softmax(-1)(x), sm, 1e-6, 1e-5)
  local lsm = {}
  for i, r in ipairs(sm) do lsm[i] = {}; for j, v in ipairs(r) do lsm[i][j] = math.log(v) end end
  T.assert_close(nn.LogSoftmax(1)(x), lsm, 1e-5, 1e-5)
  local cols = softmax_rows({{-2.0, 0.5}, {-0.5, 1.0}, {0.0, 3.0}}) -- transposed
  T.assert_close(nn.Softmax(0)(x), {{cols[1][1], cols[2][1], cols[3][1]},
                                    {cols[1][2], cols[2][2], cols[3][2]}}, 1e-6, 1e-5)
  -- large logits stay finite
  local big = nn.LogSoftmax(1)(lurn.tensor({{1000.0, 0.0}}))
  T.assert_close(big, {{0.0, -1000.0}}, 1e-3, 1e-6)
  T.assert_error(function() nn.Softmax() end, "dim must be given")
end)

T.case("Flatten: default start_dim = 1, explicit dims", function()
  local x = lurn.arange(24):float():reshape({2, 3, 4})
  local y = nn.Flatten()(x)
  T.assert_shape(y, {2, 12})
  T.assert_close(y, x:reshape({2, 12}), 0, 0)
  T.assert_shape(nn.Flatten(0)(x), {24})
  T.assert_shape(nn.Flatten(0, 1)(x), {6, 4})
  T.assert_shape(nn.Flatten(1, 1)(x), {2, 3, 4})
  T.assert_shape(nn.Flatten()(lurn.zeros(5, 2, 2, 2)), {5, 8})
  T.assert_shape(nn.Flatten(-2, -1)(lurn.zeros(5, 2, 3)), {5, 6})
end)

T.case("Dropout: zeroes about p, scales the rest, identity in eval and for p = 0", function()
  lurn.manual_seed(99)
  local p = 0.3
  local d = nn.Dropout(p)
  local x = lurn.full({200, 100}, 2.0)
  local y = d(x)
  local zeros, scaled, other = 0, 0, 0
  local keep_value = 2.0 / (1 - p)
  for _, v in ipairs(T.values(y)) do
    if v == 0 then zeros = zeros + 1
    elseif math.abs(v - keep_value) < 1e-5 then scaled = scaled + 1
    else other = other + 1 end
  end
  T.assert_equal(other, 0, "every element is 0 or x/(1-p)")
  -- 20000 Bernoulli(0.3): sd ~ 0.0032, so +-0.02 is > 6 sd
  T.assert_close(zeros / 20000, p, 0.02, 0, "fraction zeroed")
  -- gradient: the same mask, the same scale
  local xg = lurn.tensor(lurn.ones(50, 40), {requires_grad = true})
  local yg = d(xg)
  yg:sum():backward()
  T.assert_close(xg.grad, yg:detach(), 1e-6, 1e-6)
  -- eval: the identity
  d:eval()
  T.assert_close(d(x), x, 0, 0)
  d:train()
  T.assert_equal(changed(d(x), T.values(x)), true)
  -- p = 0: identity even in training
  T.assert_close(nn.Dropout(0)(x), x, 0, 0)
  -- p = 1: all zero
  T.assert_close(nn.Dropout(1)(lurn.ones(3, 3)), lurn.zeros(3, 3), 0, 0)
  T.assert_equal(nn.Dropout().p, 0.5)
  T.assert_error(function() nn.Dropout(1.5) end, "p must be in")
  -- in a model: eval turns it off
  local seq = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
  local xi = lurn.randn(3, 4)
  seq:eval()
  local a, b = seq(xi), seq(xi)
  T.assert_close(a, b, 0, 0)
  T.assert_close(a, seq[0](xi), 0, 0)
end)

-- ================================================================================
-- Sequential
T.case("Sequential: positional children, 0-based indexing, #, append", function()
  local s = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
  T.assert_equal(#s, 3)
  T.assert_equal(names_of(s:named_children()), {"0", "1", "2"})
  T.assert_equal(s[0]:type_name(), "Linear")
  T.assert_equal(s[1]:type_name(), "ReLU")
  T.assert_equal(s[2].out_features, 2)
  T.assert_equal(s[3], nil)
  T.assert_equal(rawequal(s[-1], s[2]), true, "negative indices count from the end")
  T.assert_equal(rawequal(s[-3], s[0]), true)
  T.assert_equal(s[-4], nil)
  T.assert_equal(rawequal(s[0], s["0"]), true)
  T.assert_equal(param_names(s), {"0.weight", "0.bias", "2.weight", "2.bias"})
  local x = lurn.randn(5, 4)
  T.assert_close(s(x), s[2](s[1](s[0](x))), 0, 0)
  local ret = s:append(nn.Sigmoid())
  T.assert_equal(rawequal(ret, s), true)
  T.assert_equal(#s, 4)
  T.assert_equal(s[3]:type_name(), "Sigmoid")
  T.assert_equal(names_of(s:named_children()), {"0", "1", "2", "3"})
  local y = s(x)
  T.assert_close(y, lurn.sigmoid(s[2](s[1](s[0](x)))), 0, 0)
  -- replacing a positional child keeps its slot
  s["1"] = nn.Tanh()
  T.assert_equal(s[1]:type_name(), "Tanh")
  T.assert_close(s(x), lurn.sigmoid(s[2](lurn.tanh(s[0](x)))), 0, 0)
  T.assert_error(function() s:append(5) end, "expected a Module")
  T.assert_equal(#nn.Sequential(), 0)
  T.assert_close(nn.Sequential()(x), x, 0, 0)
end)

T.case("Sequential: named form", function()
  local s = nn.Sequential({{"fc1", nn.Linear(4, 8)}, {"act", nn.ReLU()}, {"fc2", nn.Linear(8, 3)}})
  T.assert_equal(names_of(s:named_children()), {"fc1", "act", "fc2"})
  T.assert_equal(param_names(s), {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"})
  T.assert_equal(rawequal(s[0], s.fc1), true)
  T.assert_equal(rawequal(s[2], s.fc2), true)
  T.assert_equal(#s, 3)
  local x = lurn.randn(2, 4)
  T.assert_close(s(x), s.fc2(F.relu(s.fc1(x))), 0, 0)
  T.assert_error(function() nn.Sequential({{"a", 3}}) end, "entry 1")
  -- nested Sequentials give dotted names
  local outer = nn.Sequential(s, nn.Linear(3, 1))
  T.assert_equal(param_names(outer), {"0.fc1.weight", "0.fc1.bias", "0.fc2.weight",
    "0.fc2.bias", "1.weight", "1.bias"})
end)

-- ================================================================================
-- functional twins
T.case("functional: twins equal the modules", function()
  local x = lurn.randn(3, 5)
  T.assert_close(F.relu(x), nn.ReLU()(x), 0, 0)
  T.assert_close(F.sigmoid(x), nn.Sigmoid()(x), 0, 0)
  T.assert_close(F.tanh(x), nn.Tanh()(x), 0, 0)
  T.assert_close(F.softmax(x, 1), nn.Softmax(1)(x), 0, 0)
  T.assert_close(F.log_softmax(x, 0), nn.LogSoftmax(0)(x), 0, 0)
  T.assert_close(F.softmax(x, 1):sum(1), lurn.ones(3), 1e-6, 1e-6)
  local l = nn.Linear(5, 2)
  T.assert_close(F.linear(x, l.weight, l.bias), l(x), 0, 0)
  T.assert_close(F.linear(x, l.weight), x:matmul(l.weight:t()), 1e-6, 1e-6)
  T.assert_close(F.dropout(x, 0.5, false), x, 0, 0)
  T.assert_close(F.dropout(x, 0.0), x, 0, 0)
  local d = T.values(F.dropout(lurn.ones(1000), 0.5))
  local z = 0
  for _, v in ipairs(d) do if v == 0 then z = z + 1 else T.assert_close(v, 2.0, 1e-6, 0) end end
  T.assert_equal(z > 400 and z < 600, true, "about half zeroed: " .. z)
  T.assert_close(F.one_hot(lurn.tensor({0, 2, 1}, "int64"), 3),
    {{1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}, {0.0, 1.0, 0.0}}, 0, 0)
  -- gradients of the activations
  T.gradcheck(function(a) return F.relu(a) end, {T.randn_away({3, 4})}, {name = "F.relu"})
  T.gradcheck(function(a) return F.sigmoid(a) end, {T.param({3, 4})}, {name = "F.sigmoid"})
  T.gradcheck(function(a) return F.tanh(a) end, {T.param({3, 4})}, {name = "F.tanh"})
  T.gradcheck(function(a) return F.softmax(a, 1) end, {T.param({3, 4})}, {name = "F.softmax"})
  T.gradcheck(function(a) return F.log_softmax(a, 1) end, {T.param({3, 4})}, {name = "F.log_softmax"})
end)

-- ================================================================================
-- state_dict / load_state_dict
T.case("state_dict: PyTorch keys and layouts", function()
  local sd = Net():state_dict()
  local keys = {}
  for k in pairs(sd) do keys[#keys + 1] = k end
  table.sort(keys)
  T.assert_equal(keys, {"head.bias", "head.weight", "trunk.0.bias", "trunk.0.weight",
    "trunk.2.bias", "trunk.2.weight"})
  T.assert_shape(sd["trunk.0.weight"], {8, 4})
  T.assert_shape(sd["head.weight"], {2, 6})
end)

T.case("load_state_dict: round trip between two models", function()
  local a, b = FFNN(20), FFNN(20)
  local x = lurn.rand(6, 20)
  T.assert_equal(changed(a(x), T.values(b(x))), true)
  local report = b:load_state_dict(a:state_dict())
  T.assert_equal(report.missing, {})
  T.assert_equal(report.unexpected, {})
  T.assert_equal(report.mismatched, {})
  for name, p in b:named_parameters() do
    T.assert_close(p, a:state_dict()[name], 0, 0, name)
  end
  T.assert_close(b(x), a(x), 0, 0)
  -- a copy, not shared storage; and the loaded tensors stay parameters
  lurn.no_grad(function() a.fc1.weight:fill_(0) end)
  T.assert_equal(changed(b.fc1.weight, T.values(a.fc1.weight)), true)
  T.assert_equal(b.fc1.weight.requires_grad, true)
  T.assert_equal(b.fc1.weight.is_leaf, true)
  -- frozen state is kept through a load
  b:freeze("fc2")
  b:load_state_dict(a:state_dict())
  T.assert_equal(b.fc2.weight.requires_grad, false)
  -- a plain table of tensors (e.g. cloned values) works as well
  local sd = {}
  for k, v in pairs(a:state_dict()) do sd[k] = v:clone() end
  local c = FFNN(20)
  c:load_state_dict(sd)
  T.assert_close(c(x), a(x), 0, 0)
end)

T.case("load_state_dict: report with strict = false; strict raises listing all", function()
  local a = FFNN(20)
  local sd = {}
  for k, v in pairs(a:state_dict()) do sd[k] = v end
  sd["fc3.bias"] = nil                 -- missing
  sd["fc9.weight"] = lurn.zeros(2, 2)  -- unexpected
  sd["extra"] = lurn.zeros(1)          -- unexpected
  local b = FFNN(20)
  local before3 = snapshot(b.fc3.bias)
  local r = b:load_state_dict(sd, {strict = false})
  T.assert_equal(r.missing, {"fc3.bias"})
  local unexpected = r.unexpected
  table.sort(unexpected)
  T.assert_equal(unexpected, {"extra", "fc9.weight"})
  T.assert_equal(r.mismatched, {})
  bit_identical(b.fc3.bias, before3, "a missing entry keeps its value")
  T.assert_close(b.fc1.weight, a.fc1.weight, 0, 0)
  -- strict: one error listing every problem, nothing loaded
  sd["fc4.weight"] = lurn.zeros(3, 32) -- mismatched too
  local c = FFNN(20)
  local c1 = snapshot(c.fc1.weight)
  local err = T.assert_error(function() c:load_state_dict(sd) end, {
    "load_state_dict", "FFNN", "fc3.bias", "fc9.weight", "extra",
    "fc4.weight", "[1, 32]", "[3, 32]", "missing", "unexpected", "mismatch"})
  T.assert_equal(err:find("\n", 1, true) ~= nil, true, "one problem per line")
  bit_identical(c.fc1.weight, c1, "strict failure loads nothing")
  T.assert_error(function() c:load_state_dict(sd, {strict = true}) end, "fc3.bias")
  -- a non-tensor entry is an error naming it
  local bad = {["fc1.weight"] = "oops"}
  T.assert_error(function() c:load_state_dict(bad, {strict = false}) end, "fc1.weight")
end)

T.case("load_state_dict: skip_mismatched loads a pretrained trunk under a new head", function()
  local src = FFNN(20)
  local dst = FFNN(20)
  dst.fc4 = nn.Linear(32, 3)
  local head_w, head_b = snapshot(dst.fc4.weight), snapshot(dst.fc4.bias)
  -- without skipping, the mismatch is an error
  T.assert_error(function() dst:load_state_dict(src:state_dict()) end,
    {"fc4.weight", "[3, 32]", "[1, 32]"})
  T.assert_error(function() dst:load_state_dict(src:state_dict(), {strict = false}) end, "fc4.weight")
  bit_identical(dst.fc4.weight, head_w, "failed load leaves the head")
  local r = dst:load_state_dict(src:state_dict(), {skip_mismatched = true})
  table.sort(r.mismatched, function(p, q) return p[1] < q[1] end)
  T.assert_equal(#r.mismatched, 2)
  T.assert_equal(r.mismatched[1], {"fc4.bias", "[3]", "[1]"})
  T.assert_equal(r.mismatched[2], {"fc4.weight", "[3, 32]", "[1, 32]"})
  T.assert_equal(r.missing, {})
  T.assert_equal(r.unexpected, {})
  for _, n in ipairs({"fc1", "fc2", "fc3"}) do
    T.assert_close(dst[n].weight, src[n].weight, 0, 0, n)
    T.assert_close(dst[n].bias, src[n].bias, 0, 0, n)
  end
  bit_identical(dst.fc4.weight, head_w, "head keeps its own init")
  bit_identical(dst.fc4.bias, head_b, "head bias keeps its own init")
  -- the trunk's features now equal the source's
  local x = lurn.rand(3, 20)
  local function feats(m) return F.relu(m.fc3(F.relu(m.fc2(F.relu(m.fc1(x)))))) end
  T.assert_close(feats(dst), feats(src), 0, 0)
end)

T.case("Sequential fuses Linear+ReLU: same values and gradients as the ops one by one", function()
  lurn.manual_seed(7)
  local seq = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
  local x = lurn.randn(6, 5)
  local y = seq(x)
  local w = T.values(lurn.randn(6, 3))
  local wt = lurn.tensor(w):reshape(6, 3)
  local loss = (y * wt):sum()
  loss:backward()
  local fused = {}
  for name, p in seq:named_parameters() do fused[name] = T.values(p.grad); p.grad = nil end
  -- the unfused composition through the public ops
  local h = F.relu(F.linear(x, seq[0].weight, seq[0].bias))
  h = F.relu(F.linear(h, seq[2].weight, seq[2].bias))
  local y2 = F.linear(h, seq[4].weight, seq[4].bias)
  T.assert_close(y, y2, 0, 0, "fused forward")
  loss = (y2 * wt):sum()
  loss:backward()
  for name, p in seq:named_parameters() do
    local g = T.values(p.grad)
    for i = 1, #g do T.assert_equal(fused[name][i], g[i], name .. " gradient element " .. i) end
  end
  -- the fused node is one op, and the gradient flows to the input too
  T.assert_equal(seq[0](x):relu().grad_fn, "relu")
  T.assert_equal(seq(x).grad_fn, "linear")
  local xr = lurn.randn(2, 5):requires_grad_()
  T.gradcheck(function(a) return seq(a) end, {xr})
  T.assert_equal(nn.Sequential(nn.Linear(5, 4), nn.ReLU())(x).grad_fn, "linear_relu")
  -- a ReLU with its own forward set on the instance is not fused
  local s2 = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
  s2[1].forward = function(_, z) return z * 3 end
  T.assert_close(s2(x), s2[0](x) * 3, 0, 0, "instance forward respected")
end)

T.case("Sequential's fused pair counts both modules as called (no unused warning)", function()
  local seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
  local out = capture_stderr(function() seq(lurn.randn(2, 3)):sum():backward() end)
  T.assert_equal(out, "", "no warning")
  -- and replacing a child invalidates the cached child list
  seq[2] = nn.Linear(4, 2)
  T.assert_shape(seq(lurn.randn(2, 3)), {2, 2})
end)

T.case("unused-parameter check: a module left out later in training is still reported", function()
  local Net = nn.Module:extend("LateSkip")
  function Net:__init() self.a = nn.Linear(3, 3); self.b = nn.Linear(3, 3) end
  function Net:forward(x, skip) local h = self.a(x); if skip then return h end return self.b(h) end
  local net = Net()
  local x = lurn.randn(2, 3)
  local out = capture_stderr(function()
    for _ = 1, 20 do net:zero_grad(); net(x):sum():backward() end  -- both used: quiet
  end)
  T.assert_equal(out, "", "no warning while every module is used")
  out = capture_stderr(function()
    for _ = 1, 70 do net:zero_grad(); net(x, true):sum():backward() end -- b left out
  end)
  assert(out:find("b.weight, b.bias of LateSkip received no gradient", 1, true), out)
end)

T.case("Sequential's Linear chain: a failing middle layer is named, a new weight is used", function()
  local seq = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5), nn.Linear(5, 2))
  local x = lurn.randn(3, 4)
  T.assert_shape(seq(x), {3, 2})
  -- surgery on a middle weight: the cached plan must see it
  lurn.no_grad(function() seq[2].weight = lurn.zeros(5, 6) end)
  local y = seq(x)
  local expected = lurn.linear(lurn.zeros(3, 5) + seq[2].bias, seq[3].weight, seq[3].bias)
  T.assert_close(y, expected, 1e-6, 1e-6, "zero weight: layer 2 outputs its bias")
  -- a weight of the wrong shape fails in layer 2, and the message says which
  lurn.no_grad(function() seq[2].weight = lurn.zeros(5, 7) end)
  T.assert_error(function() return seq(x) end, "2 %(Linear 6%->5%): input has shape %[3, 6%], expected %[%*, 7%]")
end)

T.case("Sequential:append after a removal never replaces a child", function()
  local a, b, c, d = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Tanh()
  local seq = nn.Sequential(a, b, c)
  seq[1] = nil -- children "0" and "2" remain
  seq:append(d)
  T.assert_equal(#seq, 3)
  T.assert_equal(seq[0], a); T.assert_equal(seq[1], c); T.assert_equal(seq[2], d)
  T.assert_equal(table.concat(names_of(seq:named_children()), ","), "0,2,3")
end)

T.case("tied modules: state_dict has both names (as PyTorch), parameters lists the tensor once", function()
  local Tied = nn.Module:extend("Tied")
  function Tied:__init()
    self.embed = nn.Linear(3, 4)
    self.head = nn.Sequential(nn.ReLU())
    self.head.shared = self.embed -- the same module under a second path
  end
  function Tied:forward(x) return self.head.shared(self.embed(x):relu():narrow(1, 0, 3)) end
  local m = Tied()
  local sd = m:state_dict()
  assert(sd["embed.weight"] and sd["head.shared.weight"], "both names present")
  T.assert_equal(sd["embed.weight"], sd["head.shared.weight"], "the same tensor")
  T.assert_equal(#m:parameters(), 2, "weight and bias once")
  -- a checkpoint with both keys loads strictly, and one key missing is reported
  local m2 = Tied()
  m2:load_state_dict(sd)
  T.assert_close(m2.embed.weight, m.embed.weight, 0, 0)
  local partial = {}
  for k, v in pairs(sd) do if k ~= "head.shared.bias" then partial[k] = v end end
  T.assert_error(function() m2:load_state_dict(partial) end, "missing keys: head.shared.bias")
end)

T.finish("test_nn.lua")
