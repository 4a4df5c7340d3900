-- End to end: scripts/seed/run_all.lua (the seed notebook ported) runs in a scratch
-- directory, and what it prints holds up: losses fall, the checkpoint is written and
-- reloads, the frozen layer is reported frozen, distillation's loss is a real (positive,
-- falling) divergence, multi-task prints both metrics.
local lurn = require "lurn"
local T = require "testing"

local cwd = io.popen("pwd"):read("l")
local function absolute(path) return path:sub(1, 1) == "/" and path or cwd .. "/" .. path end
local root = absolute(arg[0]):match("^(.*)/tests/lua/[^/]*$")
local exe = absolute(arg[-1])
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local p = io.popen(("cd '%s' && '%s' '%s/scripts/seed/run_all.lua' 2>&1"):format(dir, exe, root))
local out = p:read("a")
local ok = p:close()
if not ok then error("run_all.lua failed:\n" .. out) end

local function section(name)
  local s = out:match("%-%-%-%- " .. name .. "\n(.-)\n%-%-%-%-") or out:match("%-%-%-%- " .. name .. "\n(.*)$")
  assert(s, "no section " .. name .. " in:\n" .. out)
  return s
end
local function numbers(text, pattern)
  local v = {}
  for x in text:gmatch(pattern) do v[#v + 1] = tonumber(x) end
  return v
end

T.case("pre-training: 10 epochs, loss falls, checkpoint written and loadable", function()
  local s = section("01_pretrain")
  local losses = numbers(s, "Epoch %d+, Loss: ([%d.]+)")
  T.assert_equal(#losses, 10)
  assert(losses[10] < losses[1], "loss falls: " .. losses[1] .. " -> " .. losses[10])
  assert(s:find("Test Loss: [%d.]+"), s)
  local sd = lurn.load(dir .. "/pretrained_model.safetensors")
  T.assert_equal(sd["fc1.weight"].shape, {128, 20})
  T.assert_equal(sd["fc4.weight"].shape, {1, 32})
end)

T.case("fixed model: loss and five predictions in (0, 1)", function()
  local s = section("02_fixed_model")
  assert(s:find("Fixed pre%-trained model test loss: [%d.]+"), s)
  local preds = numbers(s:match("Predictions from fixed pre%-trained model: (.*)"), "([%d.]+)")
  T.assert_equal(#preds, 5)
  for _, v in ipairs(preds) do assert(v > 0 and v < 1, v) end
end)

T.case("feature extraction: only the head trains, loss falls", function()
  local s = section("03_feature_extraction")
  local losses = numbers(s, "Epoch %d+, Loss: ([%d.]+)")
  T.assert_equal(#losses, 5)
  assert(losses[5] < losses[1], "loss falls")
  local acc = tonumber(s:match("accuracy: ([%d.]+)"))
  assert(acc and acc >= 0 and acc <= 1, s)
end)

T.case("fine-tuning: fc1 frozen, fc5 used, loss falls", function()
  local s = section("04_finetune")
  local losses = numbers(s, "Epoch %d+, Loss: ([%d.]+)")
  assert(losses[5] < losses[1], "loss falls")
  assert(s:find("fc1%s+Linear%s+128%s+2688%s+frozen"), "fc1 is frozen:\n" .. s)
  assert(s:find("fc5%s+Linear%s+3%s+51%s+trainable"), "fc5 is in the model:\n" .. s)
  assert(not out:find("received no gradient"), "no unused-parameter warning: fc5 is used")
end)

T.case("distillation: teacher learns, KD loss positive and falling", function()
  local s = section("05_distillation")
  local tl = numbers(s, "Teacher Model %- Epoch %d+, BCE Loss: ([%d.]+)")
  assert(#tl == 10 and tl[10] < tl[1], "teacher loss falls")
  local kd = numbers(s, "Student Model %- Epoch %d+, KD Loss: (%-?[%d.]+)")
  T.assert_equal(#kd, 10)
  for _, v in ipairs(kd) do assert(v > 0, "a divergence is never negative: " .. v) end
  assert(kd[10] < kd[1], "KD loss falls")
end)

T.case("multi-task: both losses printed per epoch, test metrics in range", function()
  local s = section("06_multitask")
  T.assert_equal(#numbers(s, "Epoch %d+, Classification Loss: ([%d.]+)"), 10)
  local acc = tonumber(s:match("Test Classification Accuracy: ([%d.]+)"))
  local mse = tonumber(s:match("Test Regression MSE: ([%d.]+)"))
  assert(acc >= 0 and acc <= 1 and mse > 0 and mse < 0.5, s)
end)

-- A loss that turns NaN/Inf stops a cell's training loop with an error naming the cell,
-- the epoch and (for mini-batches) the step, instead of printing "Loss: nan" and going on.
-- The loss class is patched from -e so that its n-th call returns a bad value.
local function poisoned(script, loss_class, nth, bad)
  local patch = ("local nn = require('lurn').nn; local f, n = nn.%s.forward, 0; "
    .. "nn.%s.forward = function(...) n = n + 1; local l = f(...); "
    .. "if n == %d then return l * (%s) end; return l end"):format(loss_class, loss_class, nth, bad)
  local q = io.popen(("cd '%s' && '%s' -e \"%s\" '%s/scripts/seed/%s' 2>&1"):format(
    dir, exe, patch, root, script))
  local text = q:read("a")
  local okp, how, code = q:close()
  return text, okp, how, code
end

T.case("a NaN/Inf loss stops the seed cells' training, naming cell, epoch and step", function()
  local text, okp, _, code = poisoned("01_pretrain.lua", "BCELoss", 3, "0/0")
  assert(not okp and code == 1, "the script must fail:\n" .. text)
  assert(text:find("pre-training epoch 3: the loss is nan", 1, true), text)
  assert(text:find("Epoch 2, Loss") and not text:find("Epoch 3, Loss"), text)
  text, okp, _, code = poisoned("06_multitask.lua", "MSELoss", 40, "math.huge")
  assert(not okp and code == 1, "the script must fail:\n" .. text)
  -- 800 training rows, batches of 32: the 40th batch is epoch 2, step 15
  assert(text:find("multi-task epoch 2 step 15: the loss is inf", 1, true), text)
end)

os.execute("rm -rf '" .. dir .. "'")
T.finish("test_seed_scripts")
