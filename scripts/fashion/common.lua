-- Shared by the Fashion-MNIST paradigm scripts: data, an MLP builder, a training loop
-- with a progress bar and metrics history, accuracy. Mirrors
-- ../shared/reference/fmnist_torch.py so that the numbers can be compared.
local lurn = require "lurn"
local nn, data = lurn.nn, lurn.data

local M = {}

--- --fast (or LURN_FAST=1): a quick pass with less data and fewer epochs, for tests
M.fast = os.getenv("LURN_FAST") == "1"
--- --twin: exactly the protocol of fmnist_torch.py, without the experiments beyond it
--- (what scripts/bench times against PyTorch)
M.twin = false
for _, a in ipairs(arg or {}) do
  if a == "--fast" then M.fast = true end
  if a == "--twin" then M.twin = true end
end

M.history = lurn.metrics.History()

local cache
--- train and test sets: X float32 [N, 784] in [0, 1], y int64
function M.load()
  if cache then return table.unpack(cache) end
  local t = lurn.clock()
  local Xtr, ytr = data.fashion_mnist({split = "train"})
  local Xte, yte = data.fashion_mnist({split = "test"})
  if M.fast then -- every class kept, a tenth of the rows
    Xtr, ytr = Xtr:narrow(0, 0, 6000), ytr:narrow(0, 0, 6000)
    Xte, yte = Xte:narrow(0, 0, 2000), yte:narrow(0, 0, 2000)
  end
  print(("load %.2fs"):format(lurn.clock() - t))
  lurn.empty_cache() -- the loader's scratch buffers: the data is what stays
  cache = {Xtr, ytr, Xte, yte}
  return Xtr, ytr, Xte, yte
end

--- Linear layers with ReLUs between them (none after the last), as nn.Sequential
function M.mlp(sizes)
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
    if i < #sizes - 1 then layers[#layers + 1] = nn.ReLU() end
  end
  return nn.Sequential(table.unpack(layers))
end

--- Adam over `o.params` (default: the trainable parameters), mini-batches of shuffled rows;
--- loss_fn(output, batch_indices) -> loss. Logs the mean loss per epoch under o.name.
--- o.rows: train on these rows of X only (an int64 index tensor; batch indices then count
--- within it), so that a class subset of the 188 MB training set is never copied.
function M.fit(model, X, epochs, loss_fn, o)
  o = o or {}
  local bs = o.bs or 128
  local opt = o.optimizer or lurn.optim.Adam(o.params or model:parameters(), {lr = o.lr or 1e-3})
  local rows = o.rows
  local n = rows and rows:size(0) or X:size(0)
  local batches = (n + bs - 1) // bs
  for ep = 1, epochs do
    if o.before_epoch then o.before_epoch(ep, opt) end
    local bar = lurn.progress.Bar({total = batches, desc = ("%s %d/%d"):format(o.name or "fit", ep, epochs),
                                   tty = lurn.isatty(1) and nil or false})
    bar.quiet = bar.quiet or not bar.tty -- in logs, one line per epoch (below) is enough
    local perm, total = lurn.randperm(n), 0
    for i = 0, n - 1, bs do
      local b = perm:narrow(0, i, math.min(bs, n - i))
      opt:zero_grad()
      local loss = loss_fn(model(X:index_select(0, rows and rows:index_select(0, b) or b)), b)
      -- a NaN/Inf loss stops the run here, naming it, before it reaches the weights
      local l = lurn.check_loss(loss, "%s epoch %d step %d", o.name or "fit", ep, i // bs + 1)
      loss:backward()
      opt:step()
      total = total + l
      bar:update({loss = l})
    end
    bar:close()
    M.history:log({run = o.name or "fit", epoch = ep, loss = total / batches})
    if o.verbose then print(("  %s epoch %d loss %.4f"):format(o.name or "fit", ep, total / batches)) end
  end
  return model
end

--- model(X) in blocks of rows without a tape (of X's `rows` only, when given): the
--- activations of a block are all that is alive, never those of all 60,000 images
function M.predict(model, X, rows, block)
  block = block or 1024
  return lurn.no_grad(function()
    local n, outs = rows and rows:size(0) or X:size(0), {}
    for i = 0, n - 1, block do
      local k = math.min(block, n - i)
      local xb = rows and X:index_select(0, rows:narrow(0, i, k)) or X:narrow(0, i, k)
      outs[#outs + 1] = model(xb)
    end
    return #outs == 1 and outs[1] or lurn.cat(outs, 0)
  end)
end

--- accuracy of model on X (its `rows`, when given) against labels y
function M.accuracy(model, X, y, rows)
  model:eval()
  local a = lurn.no_grad(function()
    return M.predict(model, X, rows):argmax(1):eq(y):float():mean():item()
  end)
  model:train()
  return a
end

--- the rows (int64 indices) whose label is in first..last, and their labels relabelled
--- 0..k-1: a class subset by index, without copying images
function M.classes(y, first, last)
  local list = {}
  for c = first, last do list[#list + 1] = c end
  return data.select_classes(lurn.arange(y:size(0)), y, list) -- row numbers, selected
end

--- results table, printed at the end by run_all.lua
M.results = {}
function M.report(name, value, seconds)
  M.results[#M.results + 1] = {name = name, value = value, seconds = seconds}
end

return M
