-- Autograd: a central-difference gradient check for every differentiable op, then the
-- semantics of the tape (accumulation, retain_graph, detach, grad mode, leaf flags).
local lurn = require "lurn"
local T = require "testing"
local close, eq, err = T.assert_close, T.assert_equal, T.assert_error
local gradcheck, case = T.gradcheck, T.case
local param, uniform, away, distinct = T.param, T.uniform, T.randn_away, T.distinct

lurn.manual_seed(2024)

-- gc(name, fn, inputs...): gradcheck with the case name in every message
local function gc(name, fn, ...)
  return gradcheck(fn, table.pack(...), {name = name})
end

-- ===================================================================== the helpers

case("the helpers catch mistakes", function()
  -- gradcheck fails when the recorded graph does not describe the forward: here one
  -- factor is detached, so the analytic gradient is half the true one
  err(function()
    gc("half", function(x) return x * x:detach() end, uniform({3}, 0.5, 2))
  end, {"half", "analytic", "numeric"})
  err(function() gc("const", function(x) return x:detach() * 2 end, param({2})) end,
      "does not require grad")
  err(function() gc("none", function(x) return x end, lurn.ones(2)) end, "no input requires grad")
  err(function() close(lurn.tensor({1.0, 2.0}), {1.0, 2.1}) end, "element 2")
  err(function() close(lurn.tensor({1.0, 2.0}), {{1.0, 2.0}}) end, "shape")
  err(function() close({0 / 0}, {1.0}) end, "element 1")
  close({0 / 0, math.huge}, {0 / 0, math.huge})
  close(lurn.tensor({true}), {true})
  err(function() close(lurn.tensor({true}), {false}) end, "element 1")
  close(1.0, 1.0 + 1e-7); close(lurn.tensor(2.0), 2.0)
  err(function() err(function() end) end, "succeeded")
  err(function() err(function() error("abc") end, "xyz") end, "does not match")
  err(function() error("shape [2, 3] bad") end, {"[2, 3]", "^.*bad$"}) -- plain and pattern
  err(function() eq({1, {2}}, {1, {3}}) end, "expected")
end)

-- ===================================================================== elementwise

case("gradcheck add/sub/mul/div, same shape", function()
  local a, b = param({2, 3}), param({2, 3})
  gc("add", function(x, y) return x + y end, a, b)
  gc("sub", function(x, y) return x - y end, a, b)
  gc("mul", function(x, y) return x * y end, a, b)
  gc("div", function(x, y) return x / y end, a, uniform({2, 3}, 0.5, 2))
  gc("div by negative", function(x, y) return x / y end, a, uniform({2, 3}, -2, -0.5))
  gc("method forms", function(x, y) return x:add(y):mul(y):sub(x):div(y + 3) end,
     a, uniform({2, 3}, 0.5, 1))
  -- only one side requires grad
  local c = lurn.randn(2, 3)
  gc("mul, rhs constant", function(x, y) return x * y end, a, c)
  gc("div, lhs constant", function(x, y) return x / y end, c, uniform({2, 3}, 0.5, 2))
  gc("sub, lhs constant", function(x, y) return x - y end, c, a)
  -- the same tensor on both sides
  gc("x * x", function(x) return x * x end, a)
  gc("x + x", function(x) return x + x end, a)
  gc("x / x", function(x) return x / x end, uniform({3}, 0.5, 2))
  gc("x - x * x", function(x) return x - x * x end, a)
end)

case("gradcheck add/sub/mul/div with broadcasting both ways", function()
  local shapes = {
    {{2, 3}, {3}}, {{3}, {2, 3}}, {{2, 1}, {1, 3}}, {{2, 3, 4}, {3, 1}}, {{1}, {2, 2}},
    {{4, 1, 3}, {2, 1}}, {{}, {2, 3}}, {{2, 3}, {}},
  }
  for _, s in ipairs(shapes) do
    local tag = T.shape_str(s[1]) .. " op " .. T.shape_str(s[2])
    local a, b = param(s[1]), uniform(s[2], 0.5, 2)
    gc("add " .. tag, function(x, y) return x + y end, a, b)
    gc("sub " .. tag, function(x, y) return x - y end, a, b)
    gc("mul " .. tag, function(x, y) return x * y end, a, b)
    gc("div " .. tag, function(x, y) return x / y end, a, b)
  end
end)

case("gradcheck arithmetic with numbers on either side", function()
  local a = uniform({2, 3}, 0.5, 2)
  gc("x + 2", function(x) return x + 2 end, a)
  gc("2 + x", function(x) return 2 + x end, a)
  gc("x - 2", function(x) return x - 2 end, a)
  gc("2 - x", function(x) return 2 - x end, a)
  gc("x * 3", function(x) return x * 3 end, a)
  gc("3 * x", function(x) return 3 * x end, a)
  gc("x / 4", function(x) return x / 4 end, a)
  gc("4 / x", function(x) return 4 / x end, a)
  gc("x * 0.5 + 1 / x - 3", function(x) return x * 0.5 + 1 / x - 3 end, a)
  gc("lurn.mul(2, x)", function(x) return lurn.mul(2, x) end, a)
end)

case("gradcheck pow", function()
  local pos = uniform({2, 3}, 0.5, 2)
  gc("x ^ 2", function(x) return x ^ 2 end, param({2, 3}))
  gc("x ^ 3", function(x) return x:pow(3) end, param({4}))
  gc("x ^ 0.5", function(x) return x ^ 0.5 end, pos)
  gc("x ^ -1.5", function(x) return x ^ -1.5 end, pos)
  gc("2 ^ x", function(x) return 2 ^ x end, param({2, 3}))
  gc("x ^ y", function(x, y) return x ^ y end, pos, param({2, 3}))
  gc("x ^ y, constant base", function(x, y) return x ^ y end, uniform({3}, 0.5, 2), param({3}))
  gc("x ^ y, constant exponent", function(x, y) return x ^ y end, pos, lurn.randn(2, 3))
  gc("x ^ y broadcast", function(x, y) return x ^ y end, uniform({2, 3}, 0.5, 2), param({3}))
  gc("x ^ y broadcast (base)", function(x, y) return x ^ y end, uniform({3}, 0.5, 2), param({2, 1}))
  gc("lurn.pow", function(x) return lurn.pow(x, 2) end, param({3}))
end)

case("gradcheck unary ops", function()
  gc("neg", function(x) return -x end, param({2, 3}))
  gc("neg (method)", function(x) return x:neg() end, param({2, 3}))
  gc("exp", function(x) return x:exp() end, param({2, 3}))
  gc("log", function(x) return x:log() end, uniform({2, 3}, 0.5, 3))
  gc("sqrt", function(x) return x:sqrt() end, uniform({2, 3}, 0.5, 3))
  gc("abs", function(x) return x:abs() end, away({2, 3}))
  gc("relu", function(x) return x:relu() end, away({3, 4}))
  gc("sigmoid", function(x) return x:sigmoid() end, param({2, 3}, 3))
  gc("tanh", function(x) return x:tanh() end, param({2, 3}))
  gc("lurn.exp", function(x) return lurn.exp(x) end, param({3}))
  -- unary ops on non-contiguous views
  gc("exp of a transposed view", function(x) return x:t():exp() end, param({2, 3}))
  gc("sigmoid of a narrowed view", function(x) return x:narrow(1, 1, 2):sigmoid() end, param({2, 3}))
  gc("log of an expanded view", function(x) return x:expand(3, 2):log() end, uniform({2}, 0.5, 2))
end)

case("gradcheck clamp", function()
  local x = away({3, 4}, {-0.5, 0.5})
  gc("clamp(-0.5, 0.5)", function(v) return v:clamp(-0.5, 0.5) end, x)
  gc("clamp(min)", function(v) return v:clamp(-0.5) end, x)
  gc("clamp(nil, max)", function(v) return v:clamp(nil, 0.5) end, x)
  gc("clamp{min, max}", function(v) return v:clamp({min = -0.5, max = 0.5}) end, x)
  gc("clamp{max}", function(v) return v:clamp({max = -0.5}) end, x)
  gc("lurn.clamp", function(v) return lurn.clamp(v, -0.5, 0.5) end, x)
end)

case("gradcheck softmax and log_softmax", function()
  local x = param({3, 4})
  for _, d in ipairs({0, 1, -1, -2}) do
    gc("softmax dim " .. d, function(v) return v:softmax(d) end, x)
    gc("log_softmax dim " .. d, function(v) return v:log_softmax(d) end, x)
  end
  local y = param({2, 3, 4})
  for d = 0, 2 do
    gc("softmax 3-d dim " .. d, function(v) return v:softmax(d) end, y)
    gc("log_softmax 3-d dim " .. d, function(v) return v:log_softmax(d) end, y)
  end
  gc("softmax of a transposed view", function(v) return v:t():softmax(1) end, x)
  gc("log_softmax of large logits", function(v) return (v * 50):log_softmax(1) end, param({2, 3}))
  gc("softmax 1-d", function(v) return lurn.softmax(v, 0) end, param({5}))
end)

-- ===================================================================== matmul

case("gradcheck matmul in all its forms", function()
  gc("2-D @ 2-D", function(a, b) return a:matmul(b) end, param({3, 4}), param({4, 2}))
  gc("3-D @ 3-D", function(a, b) return a:matmul(b) end, param({2, 3, 4}), param({2, 4, 2}))
  gc("3-D @ 2-D", function(a, b) return a:matmul(b) end, param({2, 3, 4}), param({4, 2}))
  gc("2-D @ 3-D", function(a, b) return a:matmul(b) end, param({3, 4}), param({2, 4, 2}))
  gc("[1,M,K] @ [B,K,N]", function(a, b) return a:matmul(b) end, param({1, 3, 4}), param({2, 4, 2}))
  gc("[B,M,K] @ [1,K,N]", function(a, b) return a:matmul(b) end, param({2, 3, 4}), param({1, 4, 2}))
  gc("1-D @ 1-D", function(a, b) return a:matmul(b) end, param({4}), param({4}))
  gc("1-D @ 2-D", function(a, b) return a:matmul(b) end, param({4}), param({4, 3}))
  gc("2-D @ 1-D", function(a, b) return a:matmul(b) end, param({3, 4}), param({4}))
  gc("1-D @ 3-D", function(a, b) return a:matmul(b) end, param({4}), param({2, 4, 3}))
  gc("3-D @ 1-D", function(a, b) return a:matmul(b) end, param({2, 3, 4}), param({4}))
  gc("A^T @ B", function(a, b) return a:t():matmul(b) end, param({4, 3}), param({4, 2}))
  gc("A @ B^T", function(a, b) return a:matmul(b:t()) end, param({3, 4}), param({2, 4}))
  gc("A^T @ B^T", function(a, b) return a:t():matmul(b:t()) end, param({4, 3}), param({2, 4}))
  gc("transposed batch @ 2-D", function(a, b) return a:transpose(1, 2):matmul(b) end,
     param({2, 4, 3}), param({4, 2}))
  gc("permuted batch @ 3-D", function(a, b) return a:permute({1, 0, 2}):matmul(b) end,
     param({3, 2, 4}), param({2, 4, 2}))
  gc("narrowed operands", function(a, b) return a:narrow(1, 1, 3):matmul(b:narrow(0, 0, 3)) end,
     param({2, 5}), param({4, 2}))
  gc("a @ a", function(a) return a:matmul(a) end, param({3, 3}))
  gc("mm, lurn.matmul", function(a, b) return lurn.matmul(a, b) + a:mm(b) end,
     param({2, 3}), param({3, 2}))
  gc("rhs constant", function(a, b) return a:matmul(b) end, param({2, 3}), lurn.randn(3, 2))
  gc("lhs constant", function(a, b) return a:matmul(b) end, lurn.randn(2, 2, 3), param({3, 2}))
end)

-- ===================================================================== reductions

case("gradcheck sum and mean", function()
  local x = param({2, 3, 4})
  gc("sum all", function(v) return v:sum() end, x)
  gc("mean all", function(v) return v:mean() end, x)
  for _, d in ipairs({0, 1, 2, -1}) do
    gc("sum dim " .. d, function(v) return v:sum(d) end, x)
    gc("mean dim " .. d, function(v) return v:mean(d) end, x)
    gc("sum dim keepdim " .. d, function(v) return v:sum(d, true) end, x)
    gc("mean dim keepdim " .. d, function(v) return v:mean(d, true) end, x)
  end
  gc("sum dims {0, 2}", function(v) return v:sum({0, 2}) end, x)
  gc("mean dims {2, 0} keepdim", function(v) return v:mean({2, 0}, true) end, x)
  gc("sum of a transposed view", function(v) return v:transpose(0, 2):sum(0) end, x)
  gc("sum 0-d", function(v) return v:sum() end, param({}))
  gc("lurn.sum / lurn.mean", function(v) return lurn.sum(v, 1) + lurn.mean(v, 1) end, param({2, 3}))
end)

case("gradcheck max and min", function()
  local x = distinct({3, 4})
  gc("max all", function(v) return v:max() end, x)
  gc("min all", function(v) return v:min() end, x)
  for _, d in ipairs({0, 1, -1}) do
    gc("max dim " .. d, function(v) return (v:max(d)) end, x)
    gc("min dim " .. d, function(v) return (v:min(d)) end, x)
    gc("max dim keepdim " .. d, function(v) return (v:max(d, true)) end, x)
    gc("min dim keepdim " .. d, function(v) return (v:min(d, true)) end, x)
  end
  local y = distinct({2, 3, 4})
  gc("max 3-d middle dim", function(v) return (v:max(1)) end, y)
  gc("min of a transposed view", function(v) return (v:transpose(0, 2):min(1)) end, y)
  gc("lurn.max", function(v) return lurn.max(v) end, x)
end)

-- ===================================================================== shape ops

case("gradcheck views and shape ops", function()
  local x = param({2, 3, 4})
  gc("view", function(v) return v:view(6, 4) * lurn.arange(4.0) end, x)
  gc("view -1", function(v) return v:view(-1, 2) end, x)
  gc("reshape", function(v) return v:reshape(4, 6) end, x)
  gc("reshape of a non-contiguous view", function(v) return v:transpose(0, 2):reshape(-1) end, x)
  local k5 = lurn.randn(2, 5, 3, 4)
  gc("unsqueeze", function(v) return v:unsqueeze(1) * k5 end, x)
  gc("unsqueeze -1", function(v) return v:unsqueeze(-1) end, x)
  gc("squeeze all", function(v) return v:squeeze() end, param({1, 3, 1, 2}))
  gc("squeeze dim", function(v) return v:squeeze(2) end, param({1, 3, 1, 2}))
  gc("transpose", function(v) return v:transpose(0, 2) end, x)
  gc("transpose negative", function(v) return v:transpose(-1, -2) end, x)
  gc("t", function(v) return v:t() end, param({3, 2}))
  gc("permute", function(v) return v:permute({2, 0, 1}) end, x)
  gc("permute then contiguous", function(v) return v:permute({1, 2, 0}):contiguous() end, x)
  gc("narrow", function(v) return v:narrow(2, 1, 2) end, x)
  gc("narrow negative start", function(v) return v:narrow(1, -2, 2) end, x)
  gc("narrow twice", function(v) return v:narrow(0, 1, 1):narrow(2, 0, 3) end, x)
  gc("expand", function(v) return v:expand(3, 4) end, param({3, 1}))
  gc("expand new dims", function(v) return v:expand(2, 3, 4) end, param({1, 4}))
  gc("expand -1", function(v) return v:expand(-1, 5) end, param({2, 1}))
  gc("expand_as", function(v) return v:expand_as(lurn.zeros(2, 3)) end, param({3}))
  gc("expand 0-d", function(v) return v:expand(2, 2) end, param({}))
  gc("index_select", function(v) return v:index_select(0, lurn.tensor({1, 0})) end, param({2, 3}))
  gc("index_select repeated indices", function(v)
    return v:index_select(1, lurn.tensor({2, 0, 2, 2})) end, x)
  gc("index_select dim -1", function(v) return v:index_select(-1, lurn.tensor({3, 3, 0})) end, x)
  gc("index_select of a view", function(v) return v:t():index_select(0, lurn.tensor({0, 0})) end,
     param({3, 2}))
  gc("lurn.* shape functions", function(v)
    return lurn.narrow(lurn.transpose(lurn.unsqueeze(v, 0), 1, 2), 2, 0, 1) end, param({2, 3}))
end)

case("gradcheck cat and stack", function()
  local a, b, c = param({2, 3}), param({1, 3}), param({3, 3})
  gc("cat dim 0", function(x, y, z) return lurn.cat({x, y, z}, 0) end, a, b, c)
  gc("cat dim 1", function(x, y) return lurn.cat({x, y}, 1) end, param({2, 1}), param({2, 3}))
  gc("cat dim -1", function(x, y) return lurn.cat({x, y}, -1) end, param({2, 2}), param({2, 3}))
  gc("cat default dim", function(x, y) return lurn.cat({x, y}) end, a, b)
  gc("cat with a constant", function(x, y) return lurn.cat({x, y}) end, a, lurn.randn(2, 3))
  gc("cat the same tensor twice", function(x) return lurn.cat({x, x * 2, x}) end, a)
  local many = {}
  for i = 1, 6 do many[i] = param({1, 2}) end
  gc("cat of 6 tensors", function(...) return lurn.cat({...}, 0) end, table.unpack(many))
  gc("cat of views", function(x, y) return lurn.cat({x:t(), y:narrow(0, 0, 3)}, 1) end,
     param({2, 3}), param({4, 2}))
  gc("stack dim 0", function(x, y) return lurn.stack({x, y}) end, param({2, 3}), param({2, 3}))
  gc("stack dim 1", function(x, y) return lurn.stack({x, y}, 1) end, param({2, 3}), param({2, 3}))
  gc("stack dim -1", function(x, y, z) return lurn.stack({x, y, z}, -1) end,
     param({2}), param({2}), param({2}))
  gc("stack 0-d", function(x, y) return lurn.stack({x, y}) end, param({}), param({}))
end)

case("gradcheck where, clone, contiguous", function()
  local cond = lurn.tensor({{true, false, true}, {false, false, true}})
  gc("where", function(x, y) return lurn.where(cond, x, y) end, param({2, 3}), param({2, 3}))
  gc("where broadcast branches", function(x, y) return lurn.where(cond, x, y) end,
     param({3}), param({2, 1}))
  gc("where broadcast cond", function(x, y) return lurn.where(lurn.tensor({true, false}), x, y) end,
     param({3, 2}), param({3, 2}))
  gc("where with a number", function(x) return lurn.where(cond, x, 0) end, param({2, 3}))
  gc("where with a number first", function(x) return lurn.where(cond, 1.5, x) end, param({2, 3}))
  gc("where same tensor", function(x) return lurn.where(x:gt(0), x, x * 0.1) end, away({2, 3}))
  gc("clone", function(x) return x:clone() * x end, param({2, 3}))
  gc("clone of a view", function(x) return lurn.clone(x:t()) end, param({2, 3}))
  gc("contiguous", function(x) return x:t():contiguous() end, param({2, 3}))
  gc("contiguous (already)", function(x) return x:contiguous() * 2 end, param({2, 3}))
end)

case("gradcheck compositions", function()
  local X = lurn.randn(5, 4)
  gc("mlp", function(W1, b1, W2, b2)
    local h = (X:matmul(W1) + b1):relu()
    return (h:matmul(W2) + b2):sigmoid():mean()
  end, param({4, 6}), param({6}), param({6, 2}), param({2}))
  gc("cross entropy", function(logits)
    local lp = logits:log_softmax(1)
    return -(lp:index_select(1, lurn.tensor({0})):sum() + lp:narrow(1, 2, 1):sum()) / 2
  end, param({2, 3}))
  gc("diamond", function(x) local y = x * 2; return y * y + y:exp() end, param({3}))
  gc("mse", function(p, t) return ((p - t) ^ 2):mean() end, param({4, 2}), param({4, 2}))
  gc("deep chain", function(x)
    local y = x
    for _ = 1, 10 do y = (y * 0.9):tanh() + 0.1 * y end
    return y
  end, param({3}))
end)

-- ===================================================================== semantics

case("gradients accumulate over two backward calls", function()
  local x = lurn.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
  ;(x * x):sum():backward()
  close(x.grad, {2, 4, 6})
  ;(x * x):sum():backward()
  close(x.grad, {4, 8, 12}, 0, 0, "second backward adds")
  ;(x * 3):sum():backward()
  close(x.grad, {7, 11, 15})
  x.grad = nil
  eq(x.grad, nil, "x.grad = nil resets")
  ;(x * 3):sum():backward()
  close(x.grad, {3, 3, 3}, 0, 0, "fresh gradient after reset")
  -- zeroing in place keeps the tensor
  local g = x.grad
  lurn.no_grad(function() x.grad:zero_() end)
  ;(x * 2):sum():backward()
  close(g, {2, 2, 2}, 0, 0, "accumulates into the same grad tensor")
  eq(x.grad.requires_grad, false, "a gradient carries no history")
end)

case("backward with an explicit gradient tensor", function()
  local x = lurn.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
  local y = x * x
  y:backward(lurn.tensor({1.0, 0.5, -1.0}))
  close(x.grad, {2, 2, -6})
  local a = lurn.tensor({{1.0, 2.0}, {3.0, 4.0}}, {requires_grad = true})
  a:t():matmul(lurn.ones(2, 1)):backward(lurn.tensor({{1.0}, {2.0}}))
  close(a.grad, {{1, 2}, {1, 2}})
  -- a leaf root
  local l = lurn.ones(2, {requires_grad = true})
  l:backward(lurn.tensor({3.0, 4.0}))
  close(l.grad, {3, 4})
  local one = lurn.tensor({5.0}, {requires_grad = true})
  one:backward()
  close(one.grad, {1}, 0, 0, "a one-element leaf gets grad 1")
  -- a one-element non-0-d root does not need a gradient
  local s = lurn.tensor({2.0}, {requires_grad = true})
  ;(s * s):backward()
  close(s.grad, {4})
  err(function() x:mul(2):backward(lurn.ones(2)) end, {"backward", "[2]", "[3]"},
      "gradient of the wrong shape")
end)

case("retain_graph", function()
  local x = lurn.tensor({1.0, 2.0}, {requires_grad = true})
  local y = (x * x):exp():sum()
  y:backward({retain_graph = true})
  local g1 = x.grad:totable()
  y:backward()
  close(x.grad, {2 * g1[1], 2 * g1[2]}, 1e-5, 1e-6, "second backward with a retained graph")
  err(function() y:backward() end, "retain_graph", "a third backward after the graph was freed")
  local z = (x * 3):sum()
  z:backward(nil, {retain_graph = true})
  z:backward(nil, {retain_graph = true})
  z:backward()
  local msg = err(function() z:backward() end, "retain_graph")
  eq(msg:find("second time") ~= nil, true, "message says why: " .. msg)
  -- the freed graph of an intermediate result is detected too
  local w = x * 2
  local u = (w * w):sum()
  u:backward()
  err(function() (w * 1):sum():backward() end, "retain_graph")
end)

case("detach stops gradients", function()
  local x = lurn.tensor({1.0, 2.0}, {requires_grad = true})
  local d = x:detach()
  eq(d.requires_grad, false); eq(d.is_leaf, true); eq(d.grad_fn, nil)
  local z = (x * 2 + d * x + lurn.detach(x * 5)):sum()
  z:backward()
  close(x.grad, {3, 4}, 0, 0, "the detached factor is a constant")
  eq(d.grad, nil)
  local only = (d * 3):sum()
  eq(only.requires_grad, false)
  err(function() only:backward() end, "does not require grad")
end)

case("no_grad(fn) and the <close> guard", function()
  local x = lurn.ones(2, {requires_grad = true})
  eq(lurn.is_grad_enabled(), true)
  local y, extra = lurn.no_grad(function(a, b)
    eq(lurn.is_grad_enabled(), false, "off inside no_grad")
    return a * 2, b
  end, x, "passed")
  eq(y.requires_grad, false, "no graph recorded"); eq(y.grad_fn, nil); eq(extra, "passed")
  eq(lurn.is_grad_enabled(), true, "restored after no_grad")
  -- restored after an error inside fn, and the error passes through
  local ok, e = pcall(lurn.no_grad, function() error("boom inside") end)
  eq(ok, false); eq(tostring(e):find("boom inside") ~= nil, true, "error passes through: " .. tostring(e))
  eq(lurn.is_grad_enabled(), true, "restored after an error")
  -- nesting: enable_grad inside no_grad, and no_grad inside no_grad
  lurn.no_grad(function()
    local r = lurn.enable_grad(function()
      eq(lurn.is_grad_enabled(), true)
      return x * 3
    end)
    eq(r.requires_grad, true, "enable_grad records")
    eq(lurn.is_grad_enabled(), false, "back to no_grad")
    lurn.no_grad(function() end)
    eq(lurn.is_grad_enabled(), false, "inner no_grad restores no_grad")
  end)
  eq(lurn.is_grad_enabled(), true)
  -- the guard
  do
    local g <close> = lurn.no_grad()
    eq(lurn.is_grad_enabled(), false, "off inside the guarded scope")
    eq((x * 2).requires_grad, false)
  end
  eq(lurn.is_grad_enabled(), true, "guard restores on scope exit")
  local ok2 = pcall(function()
    local g <close> = lurn.no_grad()
    error("boom in scope")
  end)
  eq(ok2, false); eq(lurn.is_grad_enabled(), true, "guard restores after an error")
  do
    local g1 <close> = lurn.no_grad()
    do
      local g2 <close> = lurn.enable_grad()
      eq(lurn.is_grad_enabled(), true)
    end
    eq(lurn.is_grad_enabled(), false)
  end
  eq(lurn.is_grad_enabled(), true)
  -- set_grad_enabled returns the previous mode
  eq(lurn.set_grad_enabled(false), true)
  eq((x * 2).requires_grad, false)
  eq(lurn.set_grad_enabled(true), false)
  eq((x * 2).requires_grad, true)
  -- parameters can be updated in place under no_grad
  lurn.no_grad(function() x:copy_(x - 0.5) end)
  close(x, {0.5, 0.5}); eq(x.is_leaf, true); eq(x.requires_grad, true)
end)

case("requires_grad flags, leaves and grad_fn", function()
  local x = lurn.ones(3)
  eq(x.requires_grad, false)
  eq(x:requires_grad_(), x, "requires_grad_ returns self")
  eq(x.requires_grad, true)
  x:requires_grad_(false); eq(x.requires_grad, false)
  x.requires_grad = true; eq(x.requires_grad, true)
  x.requires_grad = false; eq(x.requires_grad, false)
  x.requires_grad = true
  local y = x * 2
  eq(y.requires_grad, true); eq(y.is_leaf, false); eq(y.grad_fn, "mul")
  eq((x + 1).grad_fn, "add"); eq(x:exp().grad_fn, "exp"); eq(x:sum().grad_fn, "sum")
  eq(x:view(3, 1).grad_fn, "view"); eq(lurn.cat({x, x}).grad_fn, "cat")
  err(function() y.requires_grad = false end, "detach")
  y:requires_grad_(true)   -- no-op on a non-leaf that already requires grad
  -- results of ops on tensors without requires_grad record nothing
  local c = lurn.ones(3) * 2
  eq(c.requires_grad, false); eq(c.grad_fn, nil)
  -- gradients reach only leaves that require grad; intermediates keep no .grad
  local w = lurn.ones(3, {requires_grad = true})
  local k = lurn.ones(3)
  local mid = w * 2
  local out = (mid * k):sum()
  out:backward()
  close(w.grad, {2, 2, 2}); eq(k.grad, nil, "a constant gets no grad")
  eq(mid.grad, nil, "a non-leaf keeps no .grad")
  -- assigning a gradient
  w.grad = lurn.tensor({1.0, 2.0, 3.0}); close(w.grad, {1, 2, 3})
  ;(w * 1):sum():backward(); close(w.grad, {2, 3, 4}, 0, 0, "accumulates into an assigned grad")
  err(function() w.grad = lurn.ones(2) end, {"grad", "[2]", "[3]"})
  err(function() w.grad = lurn.ones(3, "int64") end, "int64")
  -- int and bool tensors cannot require grad
  err(function() lurn.tensor({1, 2}):requires_grad_() end, {"requires_grad", "float32", "int64"})
  err(function() local i = lurn.tensor({1, 2}); i.requires_grad = true end, "int64")
  err(function() lurn.zeros(2, {dtype = "int64", requires_grad = true}) end, "requires_grad")
  err(function() lurn.tensor({true}):requires_grad_() end, "bool")
  err(function() lurn.tensor({1, 2}, {requires_grad = true}) end, "requires_grad")
  lurn.tensor({1, 2}):requires_grad_(false) -- turning it off is fine
  -- in-place ops on a leaf that requires grad must happen under no_grad
  err(function() w:fill_(0) end, {"fill_", "no_grad"})
  err(function() w:copy_(lurn.zeros(3)) end, {"copy_", "no_grad"})
  err(function() w:zero_() end, "no_grad")
end)

case("backward errors", function()
  local x = lurn.ones(2, 3, {requires_grad = true})
  local y = x * 2
  err(function() y:backward() end, {"scalar", "[2, 3]"}, "non-scalar backward without gradient")
  err(function() lurn.ones(3):sum():backward() end, "does not require grad")
  err(function() y:backward(lurn.ones(3, 2)) end, {"[3, 2]", "[2, 3]"})
  err(function() y:backward("nope") end, "tensor")
  -- ops with integer results do not enter the graph
  local am = x:argmax()
  eq(am.requires_grad, false)
  local cmp = x:gt(0)
  eq(cmp.requires_grad, false)
  eq(x:long().requires_grad, false)
end)

case("ops under no_grad and int inputs record nothing", function()
  local x = lurn.ones(2, 2, {requires_grad = true})
  lurn.no_grad(function()
    for _, r in ipairs({x + 1, x:exp(), x:sum(), x:t(), x:view(4), lurn.cat({x, x}),
                        x:matmul(x), x:softmax(1), (x:max(1)), x:clone(), lurn.where(x:gt(0), x, x)}) do
      eq(r.requires_grad, false); eq(r.grad_fn, nil)
    end
  end)
  local y = x:sum()
  y:backward()
  close(x.grad, {{1, 1}, {1, 1}})
end)

T.case("leaf gradients never share storage (backward takes unshared gradients, copies shared ones)", function()
  local a = lurn.ones(3, {requires_grad = true})
  local b = lurn.ones(3, {requires_grad = true})
  local y = (a + b):sum() -- add's backward hands the same gradient to both inputs
  y:backward()
  a.grad:zero_()
  T.assert_close(b.grad, lurn.ones(3), 0, 0, "b.grad after zeroing a.grad")
  local c = lurn.ones(3, {requires_grad = true})
  local z = (c + c):sum()
  z:backward()
  T.assert_close(c.grad, lurn.full({3}, 2), 0, 0, "c + c")
  -- a second backward accumulates into the gradient the first one took
  local w = lurn.ones(2, 2, {requires_grad = true})
  local x = lurn.ones(4, 2)
  lurn.linear(x, w):sum():backward()
  local first = w.grad
  lurn.linear(x, w):sum():backward()
  T.assert_close(w.grad, lurn.full({2, 2}, 8), 0, 0, "accumulated")
  T.assert_close(first, lurn.full({2, 2}, 8), 0, 0, "in place, as PyTorch's .grad")
end)

T.case("a gradient the user still holds is never reused after grad = nil", function()
  local w = lurn.ones(2, 3, {requires_grad = true})
  local x = lurn.ones(4, 3)
  lurn.linear(x, w):sum():backward()
  local kept = w.grad -- the user holds the old gradient
  w.grad = nil
  lurn.linear(x * 2, w):sum():backward()
  T.assert_close(kept, lurn.full({2, 3}, 4), 0, 0, "held gradient unchanged")
  T.assert_close(w.grad, lurn.full({2, 3}, 8), 0, 0, "new gradient")
  -- not held: its buffer is reused, and the values are the new ones
  w.grad = nil
  lurn.linear(x * 3, w):sum():backward()
  T.assert_close(w.grad, lurn.full({2, 3}, 12), 0, 0, "gradient in a reused buffer")
end)

T.finish("test_autograd")
