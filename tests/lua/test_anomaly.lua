-- lurn.detect_anomaly: off by default (NaN/Inf propagate silently, as in PyTorch); on, the
-- first op whose output holds a NaN/Inf raises naming itself and its input shapes, and
-- backward names the op whose backward produced a non-finite gradient.
local lurn = require "lurn"
local T = require "testing"
local nn, optim = lurn.nn, lurn.optim
local eq, err = T.assert_equal, T.assert_error

-- run fn with anomaly detection on, and turn it off again whatever happens
local function anomaly(fn)
  local prev = lurn.detect_anomaly(true)
  local ok, e = pcall(fn)
  lurn.detect_anomaly(prev)
  if not ok then error(e, 0) end
end

local function isnan(v) return v ~= v end

T.case("off by default: NaN and Inf propagate, no error", function()
  eq(lurn.detect_anomaly(), false)
  local y = lurn.tensor({-1.0, 1.0}):log()
  eq(isnan(y:totable()[1]), true)
  eq((lurn.zeros(2) / lurn.zeros(2)):totable()[1] ~= (lurn.zeros(2) / lurn.zeros(2)):totable()[1], true)
  eq(lurn.tensor({100.0}):exp():item(), math.huge)
  local x = lurn.zeros(3, {requires_grad = true})
  x:sqrt():sum():backward()
  eq(x.grad:totable(), {math.huge, math.huge, math.huge})
  local l = lurn.tensor({-1.0}):log():sum()
  eq(isnan(l:item()), true)
end)

T.case("set, query and restore; only booleans", function()
  eq(lurn.detect_anomaly(true), false, "returns the previous setting")
  eq(lurn.detect_anomaly(), true, "no argument: query")
  eq(lurn.detect_anomaly(false), true)
  eq(lurn.detect_anomaly(), false)
  err(function() lurn.detect_anomaly(1) end, {"detect_anomaly", "boolean expected"})
  err(function() lurn.detect_anomaly("on") end, {"detect_anomaly", "boolean expected"})
  eq(lurn.detect_anomaly(), false)
end)

T.case("forward: NaN from log of a negative number names log and its input shape", function()
  local x = lurn.tensor({{1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, -1.0, 1.0}, {1.0, 1.0, 1.0, 1.0}})
  anomaly(function()
    err(function() return x:log() end,
        "detect_anomaly: log produced nan in its output (input shape [3, 4])")
    err(function() return lurn.log(x) end, "log produced nan")
    -- also without a tape: no_grad evaluation is checked too
    err(function() return lurn.no_grad(function() return x:log() end) end, "log produced nan")
    eq(lurn.is_grad_enabled(), true)
    -- and in the middle of an expression, the first op that goes wrong is named
    err(function() return ((x * 2 - 1):sqrt() + 1):sum() end, "sqrt produced nan")
  end)
end)

T.case("forward: 0/0, x/0 and exp overflow", function()
  anomaly(function()
    err(function() return lurn.zeros(3) / lurn.zeros(3) end,
        "detect_anomaly: div produced nan in its output (input shapes [3], [3])")
    err(function() return lurn.ones(2, 3) / 0 end,
        "detect_anomaly: div produced inf in its output (input shapes [2, 3], [])")
    err(function() return lurn.tensor({1.0, 100.0}):exp() end,
        "detect_anomaly: exp produced inf in its output (input shape [2])")
    err(function() return lurn.full({2}, 1e30) * 1e30 end, "mul produced inf")
    err(function() return lurn.full({2, 2}, 1e30):matmul(lurn.full({2, 2}, 1e30)) end,
        {"matmul produced inf", "[2, 2], [2, 2]"})
    err(function() return lurn.full({4}, 3e38):sum() end, "sum produced inf")
  end)
end)

T.case("forward: finite computations raise nothing, and give the same numbers", function()
  local function run()
    lurn.manual_seed(7)
    local m = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    local opt = optim.Adam(m:parameters(), {lr = 1e-2})
    local x, y = lurn.randn(16, 5), lurn.randint(0, 3, {16})
    local losses = {}
    for i = 1, 5 do
      opt:zero_grad()
      local loss = nn.CrossEntropyLoss()(m(x), y) + nn.MSELoss()(m(x):softmax(1), lurn.full({16, 3}, 1 / 3))
      loss:backward()
      opt:step()
      losses[i] = loss:item()
    end
    -- saturated logits stay finite in the stable losses
    local big = lurn.tensor({{1e4, -1e4}, {-1e4, 1e4}}, {requires_grad = true})
    nn.CrossEntropyLoss()(big, lurn.tensor({0, 0})):backward()
    nn.BCEWithLogitsLoss()(big, lurn.tensor({{1.0, 0.0}, {0.0, 0.0}})):backward()
    nn.KLDivLoss({reduction = "batchmean"})(big:log_softmax(1), lurn.tensor({{1.0, 0.0}, {0.5, 0.5}})):backward()
    return losses
  end
  local plain = run()
  local checked
  anomaly(function() checked = run() end)
  eq(checked, plain, "bit-identical losses with and without anomaly detection")
end)

T.case("forward: a NaN that no op produced is named as an input", function()
  local m = nn.Linear(3, 2)
  lurn.no_grad(function() m.weight:fill_(0 / 0) end) -- e.g. after a diverged optimizer step
  anomaly(function()
    err(function() return m(lurn.ones(4, 3)) end,
        {"detect_anomaly: input 2 of linear (shape [2, 3]) already contains nan",
         "optimizer step"})
    local data = lurn.tensor({1.0, math.huge})
    err(function() return data * 2 end, "input 1 of mul (shape [2]) already contains inf")
  end)
end)

T.case("forward: views compute nothing and are not checked; the op that reads one is", function()
  anomaly(function()
    local t0 = os.clock()
    -- 1e12 elements, one stored: neither expanding nor narrowing walks them
    local v = lurn.tensor({0 / 0}):expand(1000000, 1000000)
    eq(v.shape, {1000000, 1000000})
    local w = v:narrow(0, 0, 1):narrow(1, 0, 2):t()
    err(function() return w * 1 end, "input 1 of mul (shape [2, 1]) already contains nan")
    if os.clock() - t0 > 1 then error("checking views took " .. (os.clock() - t0) .. " s") end
    -- the gradient of a mean is a broadcast of one number; checking it is cheap too
    local x = lurn.zeros(1000, 1000, {requires_grad = true})
    x:mean():backward()
    eq(x.grad.shape, {1000, 1000})
  end)
end)

T.case("backward: sqrt at 0 gives an infinite gradient, named by its op", function()
  anomaly(function()
    local x = lurn.tensor({0.0, 1.0, 4.0}, {requires_grad = true})
    local y = x:sqrt():sum() -- forward is finite
    err(function() y:backward() end,
        "detect_anomaly: backward of sqrt produced inf in the gradient of input 1 (shape [3])")
    eq(x.grad, nil, "nothing accumulated into the leaf")
    -- the error leaves the modes as they were
    eq(lurn.detect_anomaly(), true)
    eq(lurn.is_grad_enabled(), true)
  end)
end)

T.case("backward: div and pow name the input whose gradient went bad", function()
  anomaly(function()
    local a = lurn.tensor({1.0, 2.0}, {requires_grad = true})
    local b = lurn.tensor({1e-20, 1.0}, {requires_grad = true})
    -- a / b is finite, but d(a/b)/db = -a/b^2 overflows; times a zero upstream gradient: nan
    local loss = (a / b * 0):sum()
    err(function() loss:backward() end,
        "detect_anomaly: backward of div produced nan in the gradient of input 2 (shape [2])")
    local loss2 = (a / b):sum()
    err(function() loss2:backward() end, "backward of div produced inf in the gradient of input 2")
    -- (-2)^2 is 4, but its derivative in the exponent needs log(-2)
    local base = lurn.tensor({-2.0})
    local e = lurn.tensor({2.0}, {requires_grad = true})
    local p = (base ^ e):sum()
    eq(p:item(), 4.0)
    err(function() p:backward() end, "backward of pow produced nan in the gradient of input 2 (shape [1])")
  end)
end)

T.case("backward: a NaN loss (made before detection was on) and a NaN seed gradient", function()
  local x = lurn.tensor({-1.0, 2.0}, {requires_grad = true})
  local loss = x:log():sum() -- nan, computed with detection off
  anomaly(function()
    err(function() loss:backward() end, "backward: the loss is nan (detect_anomaly)")
    local y = x * 2
    err(function() y:backward(lurn.tensor({1.0, math.huge})) end,
        "backward: the gradient passed to backward contains inf")
    -- a non-scalar root holding inf
    local w = lurn.tensor({1.0, 2.0}, {requires_grad = true})
    local r
    lurn.detect_anomaly(false)
    r = w * math.huge
    lurn.detect_anomaly(true)
    err(function() r:backward(lurn.ones(2)) end,
        "backward: the tensor to differentiate (shape [2]) contains inf")
  end)
  -- the same backward without detection just runs
  loss:backward()
  eq(isnan(x.grad:totable()[1]), false)
end)

T.case("a model: the message names the op, the traceback the line", function()
  local Net = nn.Module:extend("Net")
  function Net:__init() self.fc = nn.Linear(2, 2) end
  function Net:forward(x) return self.fc(x):log() end -- log of negative logits
  local m = Net()
  lurn.no_grad(function()
    m.fc.weight:copy_(lurn.tensor({{1.0, 0.0}, {0.0, -1.0}}))
    m.fc.bias:zero_()
  end)
  anomaly(function()
    local msg = err(function() return nn.MSELoss()(m(lurn.ones(3, 2)), lurn.zeros(3, 2)) end,
                    "detect_anomaly: log produced nan in its output (input shape [3, 2])")
    eq(msg:find("test_anomaly.lua:%d+:") ~= nil, true, "the error points at the Lua line")
  end)
end)

-- ============================================================ the training helpers' check

T.case("check_loss: a finite loss comes back as a number; NaN and Inf stop with where", function()
  eq(lurn.check_loss(lurn.tensor(0.25)), 0.25)
  eq(lurn.check_loss(lurn.tensor({1.5}), "epoch %d", 1), 1.5)
  eq(lurn.check_loss(2.0, "epoch %d step %d"), 2.0, "where is formatted only on failure")
  local nan, inf = lurn.tensor(0.0) / 0, lurn.tensor(1.0) / 0
  local msg = err(function() lurn.check_loss(nan, "%s epoch %d step %d", "fit", 3, 17) end,
                  "fit epoch 3 step 17: the loss is nan")
  eq(msg:find("detect_anomaly", 1, true) ~= nil, true, "the message points at detect_anomaly")
  eq(msg:find("test_anomaly.lua:%d+:") ~= nil, true, "and at the caller's line: " .. msg)
  err(function() lurn.check_loss(inf, "epoch %d", 2) end, "epoch 2: the loss is inf")
  err(function() lurn.check_loss(-inf) end, "training: the loss is -inf")
  err(function() lurn.check_loss(0 / 0, "step %d", 5) end, "step 5: the loss is nan")
  err(function() lurn.check_loss(-math.huge, "step %d", 6) end, "step 6: the loss is -inf")
  err(function() lurn.check_loss(lurn.ones(2), "x") end, {"item", "2 elements"})
  err(function() lurn.check_loss("0.5") end, {"check_loss", "string"})
  err(function() lurn.check_loss(nil) end, {"check_loss", "nil"})
  err(function() lurn.check_loss(1.0, 42) end, {"check_loss", "where", "number"})
end)

-- the Fashion-MNIST scripts' training loop (scripts/fashion/common.lua), without the data
local root = arg[0]:match("^(.*)/tests/lua/[^/]*$") or "."
package.path = root .. "/scripts/fashion/?.lua;" .. package.path

T.case("the training helper (fashion common.fit) stops on a NaN/Inf loss naming run, epoch and step", function()
  local C = require "common"
  lurn.manual_seed(0)
  local X, y = lurn.randn(40, 3), lurn.randn(40, 1)
  for _, bad in ipairs({0 / 0, math.huge}) do
    local model = nn.Linear(3, 1)
    local calls = 0
    local before
    local function loss_fn(out, b) -- fine for 6 steps, then the loss goes bad
      calls = calls + 1
      local l = nn.functional.mse_loss(out, y:index_select(0, b))
      if calls < 7 then return l end
      before = model.weight:detach():clone()
      return l * bad
    end
    local msg = err(function()
      C.fit(model, X, 3, loss_fn, {bs = 8, name = "probe", lr = 1e-2})
    end, {"probe epoch 2 step 2: the loss is " .. (bad ~= bad and "nan" or "inf")})
    eq(msg:find("common.lua", 1, true) ~= nil, true, "raised by the loop: " .. msg)
    -- checked before backward: the bad step never reached the weights
    eq(calls, 7)
    T.assert_close(model.weight, before, 0, 0)
    eq(lurn.check_loss(model.weight:abs():sum()) >= 0, true, "weights still finite")
  end
end)

T.finish("test_anomaly")
