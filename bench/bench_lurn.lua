-- lurn's side of the training-step benchmarks (the twin of ../shared/reference/bench_torch.py):
-- the same MLPs, batch sizes, loss and optimizer. Prints one line per workload:
--   <name>: <steps/s> steps/s  (<us> us/step)
-- usage: lurn bench/bench_lurn.lua [filter]
local lurn = require "lurn"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim
lurn.manual_seed(0)
local filter = arg[1]

local function mlp(sizes)
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
    if i < #sizes - 1 then layers[#layers + 1] = nn.ReLU() end
  end
  return nn.Sequential(table.unpack(layers))
end

local function bench(name, sizes, batch, steps)
  if filter and not name:find(filter, 1, true) then return end
  local m = mlp(sizes)
  local opt = optim.Adam(m:parameters(), {lr = 1e-3})
  local x = lurn.rand(batch, sizes[1])
  local y = lurn.randint(0, sizes[#sizes], {batch})
  local function step()
    opt:zero_grad()
    local l = F.cross_entropy(m(x), y)
    l:backward()
    opt:step()
  end
  for _ = 1, 10 do step() end
  local t = lurn.clock()
  for _ = 1, steps do step() end
  local dt = lurn.clock() - t
  -- forward + backward = 3 GEMMs of 2*B*in*out flops per layer, less the first layer's
  -- input gradient (the data needs none)
  local flops = -2 * batch * sizes[1] * sizes[2]
  for i = 1, #sizes - 1 do flops = flops + 6 * batch * sizes[i] * sizes[i + 1] end
  print(("%s: %.1f steps/s  (%.1f us/step, %.1f GFLOP/s)"):format(name, steps / dt,
    dt / steps * 1e6, flops * steps / dt / 1e9))
end

bench("seed-mlp 20-128-64-32-2 b32", {20, 128, 64, 32, 2}, 32, 2000)
bench("mnist-mlp 784-512-256-10 b128", {784, 512, 256, 10}, 128, 300)
bench("mnist-mlp 784-512-256-10 b1024", {784, 512, 256, 10}, 1024, 50)
bench("wide-mlp 1024-4096-4096-1024 b256", {1024, 4096, 4096, 1024}, 256, 10)

if not filter or ("sgemm"):find(filter, 1, true) then
  local a, b = lurn.rand(2048, 2048), lurn.rand(2048, 2048)
  a:matmul(b)
  local n, t = 5, lurn.clock()
  for _ = 1, n do a:matmul(b) end
  local dt = (lurn.clock() - t) / n
  print(("sgemm 2048^3: %.1f GFLOP/s"):format(2 * 2048 ^ 3 / dt / 1e9))
end

if not filter or ("elementwise"):find(filter, 1, true) then
  -- z = x + 0.5 * y over 16M floats: two ops, 5 streams of 64 MiB in all
  local x, y = lurn.rand(16 * 1024 * 1024), lurn.rand(16 * 1024 * 1024)
  local n, t = 5, lurn.clock()
  for _ = 1, n do local z = x + y * 0.5; z:free() end
  local dt = (lurn.clock() - t) / n
  print(("elementwise x + 0.5*y (16M floats): %.1f GB/s"):format(5 * 4 * 16 * 1024 * 1024 / dt / 1e9))
  -- the kernel itself: operands and result in cache, the output buffer recycled
  x, y = lurn.rand(256 * 1024), lurn.rand(256 * 1024)
  n, t = 2000, lurn.clock()
  for _ = 1, n do local z = x + y; z:free() end
  dt = (lurn.clock() - t) / n
  print(("elementwise x + y (256K floats, in cache): %.1f GB/s"):format(3 * 4 * 256 * 1024 / dt / 1e9))
end
