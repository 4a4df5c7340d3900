-- The optimizer base: parameter groups with their own hyperparameters, per-parameter
-- state, zero_grad. Parameters with requires_grad = false are skipped by every step.
local lurn = require "lurn"
local class = require "lurn.class"

local Optimizer = class("Optimizer")

function Optimizer:__init(params, defaults)
  self.defaults = defaults
  self.param_groups = {}
  self.state = {} -- parameter -> its state table
  if type(params) ~= "table" then
    error(("%s: expected a list of parameters or of parameter groups, got %s"):format(
      self.__name, lurn.is_tensor(params) and "a tensor (pass a list: {t})" or type(params)), 4) -- above SGD:__init and the class call: the caller
  end
  local mt = getmetatable(params)
  if mt and mt.__is_module then
    error(("%s: got a %s module; pass its parameters: %s(model:parameters(), ...)"):format(
      self.__name, params:type_name(), self.__name), 4)
  end
  if next(params) == nil then error(self.__name .. ": got an empty parameter list", 4) end
  if #params > 0 and not lurn.is_tensor(params[1]) and type(params[1]) == "table" then
    for _, g in ipairs(params) do self:add_param_group(g) end
  else
    self:add_param_group({params = params})
  end
end

function Optimizer:add_param_group(group)
  local name = self.__name
  local list = type(group) == "table" and group.params
  if lurn.is_tensor(list) then list = {list} end -- a single tensor, as PyTorch allows
  if type(list) ~= "table" then
    error(name .. ": a parameter group needs a 'params' list", 2)
  end
  local g = {}
  for k, v in pairs(self.defaults) do g[k] = v end
  for k, v in pairs(group) do g[k] = v end
  local params, seen = {}, {}
  for _, other in ipairs(self.param_groups) do
    for _, p in ipairs(other.params) do seen[p] = true end
  end
  for i, p in ipairs(list) do
    if not lurn.is_tensor(p) then
      error(("%s: parameter %d is a %s, not a tensor"):format(name, i, type(p)), 2)
    end
    if p.dtype ~= "float32" then
      error(("%s: parameter %d is %s; only float32 tensors can be optimized"):format(name, i, p.dtype), 2)
    end
    if not p.is_leaf then
      error(("%s: parameter %d is not a leaf tensor (it was computed from others); "
        .. "optimize the leaves, or :detach() it"):format(name, i), 2)
    end
    if seen[p] then error(("%s: parameter %d appears in more than one group"):format(name, i), 2) end
    seen[p] = true
    params[#params + 1] = p
  end
  g.params = params
  if type(g.lr) ~= "number" or g.lr < 0 then error(name .. ": invalid learning rate " .. tostring(g.lr), 2) end
  self.param_groups[#self.param_groups + 1] = g
end

function Optimizer:zero_grad()
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do p.grad = nil end
  end
end

--- fn(p, grad, state, group) for every trainable parameter that has a gradient
function Optimizer:each_param(fn)
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do
      if p.requires_grad then
        local grad = p.grad
        if grad then
          local st = self.state[p]
          if not st then st = {}; self.state[p] = st end
          fn(p, grad, st, g)
        end
      end
    end
  end
end

--- state by parameter name: tensors ("state.fc1.weight.exp_avg") and metadata (group
--- hyperparameters, step counts), ready for lurn.save(tensors, path, {metadata = meta})
function Optimizer:state_dict(model)
  if type(model) ~= "table" then error(self.__name .. ":state_dict(model): the model names the parameters", 2) end
  return require("lurn.checkpoint").optimizer_state(self, model)
end

function Optimizer:load_state_dict(tensors, meta, model)
  if type(model) ~= "table" then error(self.__name .. ":load_state_dict(tensors, meta, model)", 2) end
  return require("lurn.checkpoint").load_optimizer_state(self, tensors, meta or {}, model)
end

--- the learning rate of group i (1 by default); set_lr(v) sets every group's
function Optimizer:get_lr(i)
  local groups = self.param_groups
  local g = groups[i or 1]
  if g == nil then
    local n = #groups
    if math.type(i) == "integer" then
      error(("get_lr: group %d does not exist (the optimizer has %d group%s)"):format(
        i, n, n == 1 and "" or "s"), 2)
    end
    error(("get_lr: group must be an integer index from 1 to %d, got %s"):format(
      n, type(i) == "number" and tostring(i) or lurn.is_tensor(i) and "tensor" or type(i)), 2)
  end
  return g.lr
end

function Optimizer:set_lr(v)
  if type(v) ~= "number" or not (v >= 0) then
    error(("set_lr: learning rate must be a number >= 0, got %s"):format(
      type(v) == "number" and tostring(v) or lurn.is_tensor(v) and "tensor" or type(v)), 2)
  end
  for _, g in ipairs(self.param_groups) do g.lr = v end
end

return Optimizer
