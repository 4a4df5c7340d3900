-- 20,000 forward/backward/update steps of a small MLP must run in flat memory: the Lua
-- GC is charged for tensor bytes, and backward frees the saved activations.
local lurn = require "lurn"
lurn.manual_seed(1)

local function rss_kb()
  local f = assert(io.open("/proc/self/statm"))
  local pages = f:read("*l"):match("^%d+%s+(%d+)")
  f:close()
  return tonumber(pages) * 4 -- 4 KiB pages on the machines we run on
end

local X, y = lurn.rand(64, 20), lurn.rand(64, 1)
local W1 = (lurn.randn(20, 64) * 0.1):requires_grad_()
local b1 = lurn.zeros(64, {requires_grad = true})
local W2 = (lurn.randn(64, 1) * 0.1):requires_grad_()
local b2 = lurn.zeros(1, {requires_grad = true})
local params = {W1, b1, W2, b2}

local rss_warm, live_warm
local max_live = 0
local steps = 20000
for step = 1, steps do
  local h = (X:matmul(W1) + b1):relu()
  local loss = ((h:matmul(W2) + b2):sigmoid() - y):pow(2):mean()
  loss:backward()
  lurn.no_grad(function()
    for _, p in ipairs(params) do
      p:copy_(p - 0.1 * p.grad)
      p.grad:zero_()
    end
  end)
  if step % 100 == 0 then max_live = math.max(max_live, lurn.memory().live_bytes) end
  if step == 2000 then
    collectgarbage() -- live bytes compared after full collections: what is still reachable
    rss_warm, live_warm = rss_kb(), lurn.memory().live_bytes
  end
end
collectgarbage()
local rss_end, live_end = rss_kb(), lurn.memory().live_bytes
print(("peak live tensor bytes sampled during the loop: %d"):format(max_live))
print(("rss after 2000 steps %d KiB, after %d steps %d KiB; live tensor bytes %d -> %d"):format(
  rss_warm, steps, rss_end, live_warm, live_end))
-- Garbage tensors are collected once 2 MiB of them were made (l_tensor.c, LB_GC_EVERY;
-- the working set is ~45 KiB): memory stays flat.
assert(max_live < 8 * 1024 * 1024, "tensor garbage piles up: " .. max_live .. " live bytes")
assert(rss_end - rss_warm < 8 * 1024, "resident memory grew by more than 8 MiB")
assert(live_end <= live_warm, "reachable tensor bytes grew: " .. live_warm .. " -> " .. live_end)

-- Big garbage, few Lua objects: 12 MiB of dropped tensors per iteration but only three
-- small boxes, so Lua's own GC would hardly ever run. Charged for tensor bytes, the
-- collector keeps garbage near 2 MiB; without it the 64 MiB limit fails in a few steps.
local x = lurn.rand(1024, 1024) -- 4 MiB
lurn.set_memory_limit(64 * 1024 * 1024)
max_live = 0
for _ = 1, 300 do
  local y = (x * 2 + 1):relu()
  max_live = math.max(max_live, lurn.memory().live_bytes)
end
lurn.set_memory_limit(nil)
print(("big garbage: peak live tensor bytes %d"):format(max_live))
assert(max_live < 40 * 1024 * 1024, "big tensor garbage piles up: " .. max_live .. " live bytes")

-- the limit itself: a tensor past it is refused with a clear error, and nothing is lost
collectgarbage()
lurn.set_memory_limit(lurn.memory().live_bytes + 1024 * 1024)
local ok, err = pcall(lurn.zeros, 1024, 1024)
assert(not ok and err:find("not enough memory", 1, true), tostring(err))
local small = lurn.zeros(1024) -- under the limit still works
assert(small:sum():item() == 0)
lurn.set_memory_limit(nil)
assert(lurn.memory().limit_bytes == 0)
print("ok")
