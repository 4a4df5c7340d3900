-- End to end: scripts/fashion/run_all.lua --fast (every paradigm on a tenth of
-- Fashion-MNIST, fewer epochs) runs and reaches stated accuracy floors; the metrics CSV
-- and the SVG curve are written. Skipped only when the dataset is not installed.
local lurn = require "lurn"
local T = require "testing"

local probe = io.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb")
if not probe and not os.getenv("LURN_FASHION_MNIST") then
  print("skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
  os.exit(77) -- ctest SKIP_RETURN_CODE
end
if probe then probe:close() end

local cwd = io.popen("pwd"):read("l")
local function absolute(path) return path:sub(1, 1) == "/" and path or cwd .. "/" .. path end
local root = absolute(arg[0]):match("^(.*)/tests/lua/[^/]*$")
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local p = io.popen(("cd '%s' && '%s' '%s/scripts/fashion/run_all.lua' --fast 2>&1"):format(
  dir, absolute(arg[-1]), root))
local out = p:read("a")
if not p:close() then error("run_all.lua --fast failed:\n" .. out) end
print(out:match("summary.*$"))

local function result(name)
  local v = out:match("\n" .. name:gsub("%p", "%%%0") .. "%s+([%d.]+)")
  assert(v, "no result for " .. name .. " in:\n" .. out)
  return tonumber(v)
end

-- floors for the fast mode (6,000 training images, 1-8 epochs); full runs are far above
T.case("transfer: pre-training and every target-task variant learn", function()
  assert(result("transfer: pretrain (0-4)") > 0.65)
  assert(result("transfer: scratch (250 labels)") > 0.7)
  assert(result("transfer: feature extraction") > 0.25)
  assert(result("transfer: fine-tuning") > 0.4)
  assert(result("transfer: gradual unfreezing") > 0.6)
end)

T.case("distillation: teacher and both students learn", function()
  assert(result("distillation: teacher") > 0.65)
  assert(result("distillation: student alone") > 0.45)
  assert(result("distillation: student with KD") > 0.45)
end)

T.case("multi-task: both heads learn, with and without uncertainty weighting", function()
  assert(result("multitask: accuracy") > 0.5)
  assert(result("multitask: regression MSE") < 0.05)
  assert(result("multitask (uncertainty-weighted): accuracy") > 0.5)
  assert(out:find("task weights exp%(%-s%) = [%d.]+, [%d.]+"), "learned task weights printed")
end)

T.case("metrics history CSV and SVG curve written", function()
  local f = assert(io.open(dir .. "/fashion_history.csv"))
  local header = f:read("l")
  local rows = 0
  for _ in f:lines() do rows = rows + 1 end
  f:close()
  T.assert_equal(header, "run,epoch,loss")
  assert(rows >= 10, "one row per epoch and run")
  local svg = assert(io.open(dir .. "/fashion_loss.svg")):read("a")
  assert(svg:find("^<svg") and svg:find("polyline") and svg:find("teacher"), "an SVG with curves")
end)

T.case("--twin runs exactly the PyTorch twin's protocol, with the same numbers", function()
  local q = io.popen(("cd '%s' && '%s' '%s/scripts/fashion/run_all.lua' --fast --twin 2>&1"):format(
    dir, absolute(arg[-1]), root))
  local twin = q:read("a")
  if not q:close() then error("run_all.lua --fast --twin failed:\n" .. twin) end
  for _, line in ipairs({"pretrain%(0%-4%) acc", "target%(5%-9, 250 labels%)", "distill teacher",
                         "multitask acc"}) do
    assert(twin:find(line), line .. " missing from the twin run")
  end
  for _, extra in ipairs({"discriminative", "related", "uncertainty"}) do
    assert(not twin:find(extra), extra .. " is beyond the twin but ran")
  end
  -- the protocol's results do not depend on what else runs
  for _, name in ipairs({"transfer: fine%-tuning", "distillation: student with KD", "multitask: accuracy"}) do
    T.assert_equal(twin:match("\n" .. name .. "%s+([%d.]+)"), out:match("\n" .. name .. "%s+([%d.]+)"), name)
  end
end)

os.execute("rm -rf '" .. dir .. "'")
T.finish("test_fashion_scripts")
