-- The Lua half of the lurn module. The C part (tensors, ops, creation functions) is
-- already in `lurn`; this file adds what is simplest to say in Lua.
local lurn = ...

local set_grad_enabled = lurn.set_grad_enabled

-- A guard that restores the previous grad mode when its scope closes:
--   local g <close> = lurn.no_grad()
local guard_mt = {__close = function(g)
  if g.prev ~= nil then set_grad_enabled(g.prev); g.prev = nil end
end}

local function with_grad_mode(on, fn, ...)
  local prev = set_grad_enabled(on)
  if fn == nil then return setmetatable({prev = prev}, guard_mt) end
  local res = table.pack(pcall(fn, ...))
  set_grad_enabled(prev)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- Run fn(...) without recording autograd history and return its results; with no
--- function, return a guard for `local g <close> = lurn.no_grad()`.
function lurn.no_grad(fn, ...) return with_grad_mode(false, fn, ...) end

--- The opposite of no_grad, for a scope that needs gradients inside a no_grad region.
function lurn.enable_grad(fn, ...) return with_grad_mode(true, fn, ...) end

--- check_loss(loss, where, ...): the loss (a one-element tensor or a number) as a number,
--- or an error when it is NaN or infinite, naming where training stopped:
---   local l = lurn.check_loss(loss, "epoch %d step %d", epoch, step)
--- `where` is a format string for `...`, formatted only on failure, so a training loop
--- pays one scalar read per step (which logging usually does anyway).
function lurn.check_loss(loss, where, ...)
  local v = loss
  if type(loss) ~= "number" then
    if not lurn.is_tensor(loss) then
      error(("check_loss: expected a loss tensor or a number, got %s"):format(type(loss)), 2)
    end
    v = loss:item()
  end
  if where ~= nil and type(where) ~= "string" then
    error(("check_loss: 'where' must be a format string, got %s"):format(type(where)), 2)
  end
  if v ~= v or v == math.huge or v == -math.huge then
    local at = where and where:format(...) or "training"
    error(("%s: the loss is %s (a diverging run, a bad input or too high a learning rate; "
      .. "lurn.detect_anomaly(true) names the op that first produced it)"):format(
      at, v ~= v and "nan" or v > 0 and "inf" or "-inf"), 2)
  end
  return v
end

--- save_checkpoint(path, {model, optimizer, extra}) / load_checkpoint(path, {model,
--- optimizer}): a training run's state in one safetensors file (lurn/checkpoint.lua)
function lurn.save_checkpoint(...) return require("lurn.checkpoint").save(...) end
function lurn.load_checkpoint(...) return require("lurn.checkpoint").load(...) end

-- Submodules load on first use (lurn.nn, lurn.optim, ...), so `require "lurn"` stays cheap
-- and they can themselves require "lurn".
setmetatable(lurn, {__index = function(t, k)
  if k == "nn" or k == "optim" or k == "data" or k == "progress" or k == "metrics" then
    local m = require("lurn." .. k)
    rawset(t, k, m)
    return m
  end
end})

return lurn
