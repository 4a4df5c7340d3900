-- Multi-task learning on Fashion-MNIST: a shared trunk, a 10-class head and a regression
-- head (predicting 4x the image's mean intensity), trained on the sum of both losses; then
-- the same with uncertainty weighting (Kendall et al. 2018): per-task log-variances s_i
-- are trainable parameters and the loss is sum_i exp(-s_i) * L_i + s_i.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim
local C = require "common"

lurn.manual_seed(0)
local Xtr, ytr, Xte, yte = C.load()
local EPOCHS = C.fast and 1 or 2
local rtr, rte = Xtr:mean(1, true) * 4, Xte:mean(1, true) * 4

local MTL = nn.Module:extend("MTL")
function MTL:__init()
  self.trunk = C.mlp({784, 256, 64})
  self.cls = nn.Linear(64, 10)
  self.reg = nn.Linear(64, 1)
end
function MTL:forward(x)
  local h = F.relu(self.trunk(x))
  return self.cls(h), self.reg(h)
end

local function run(name, weighting)
  local t = lurn.clock()
  local m = MTL()
  local params = m:parameters()
  local log_var
  if weighting then
    log_var = nn.Parameter(lurn.zeros(2)) -- s_cls, s_reg
    params[#params + 1] = log_var
  end
  local opt = optim.Adam(params, {lr = 1e-3})
  local n = Xtr:size(0)
  for ep = 1, EPOCHS do
    local perm = lurn.randperm(n)
    for i = 0, n - 1, 128 do
      local b = perm:narrow(0, i, math.min(128, n - i))
      local c, r = m(Xtr:index_select(0, b))
      local lc = F.cross_entropy(c, ytr:index_select(0, b))
      local lr = F.mse_loss(r, rtr:index_select(0, b))
      local loss
      if weighting then
        local s = log_var
        local w = (-s):exp()
        loss = lc * w:narrow(0, 0, 1) + lr * w:narrow(0, 1, 1) + s:sum()
        loss = loss:sum()
      else
        loss = lc + lr
      end
      lurn.check_loss(loss, "%s epoch %d step %d", name, ep, i // 128 + 1)
      opt:zero_grad(); loss:backward(); opt:step()
    end
  end
  local acc, mse = lurn.no_grad(function()
    local c, r = m(Xte)
    return c:argmax(1):eq(yte):float():mean():item(), F.mse_loss(r, rte):item()
  end)
  local extra = weighting and ("  task weights exp(-s) = %.3f, %.3f"):format(
    math.exp(-log_var:narrow(0, 0, 1):item()), math.exp(-log_var:narrow(0, 1, 1):item())) or ""
  print(("%s acc %.4f mse %.5f  %.2fs%s"):format(name, acc, mse, lurn.clock() - t, extra))
  C.report(name .. ": accuracy", acc)
  C.report(name .. ": regression MSE", mse, lurn.clock() - t)
end

run("multitask", false)
if not C.twin then run("multitask (uncertainty-weighted)", true) end
