-- Training checkpoints: a model's parameters and an optimizer's state in one safetensors
-- file, keyed by parameter *name* (so resuming after a head swap still finds fc1's
-- moments), with hyperparameters and user values kept exactly in the metadata.
--
--   lurn.save_checkpoint("run.safetensors", {model = m, optimizer = opt, extra = {epoch = 3}})
--   local info = lurn.load_checkpoint("run.safetensors", {model = m, optimizer = opt})
--   print(info.extra.epoch, #info.model.missing)
local lurn = require "lurn"

local M = {}

-- metadata values are strings: a type tag keeps numbers, booleans and lists exact
local function encode(v)
  local t = type(v)
  if t == "number" then
    return math.type(v) == "integer" and ("i:%d"):format(v) or ("n:%.17g"):format(v)
  elseif t == "boolean" then return "b:" .. tostring(v)
  elseif t == "string" then return "s:" .. v
  elseif t == "table" then
    local parts = {}
    for i, x in ipairs(v) do
      if type(x) ~= "number" then error("checkpoint: only lists of numbers can be stored", 4) end
      parts[i] = ("%.17g"):format(x)
    end
    return "l:" .. table.concat(parts, ",")
  end
  error(("checkpoint: cannot store a %s value"):format(t), 4)
end

local function decode(s)
  local tag, body = s:match("^(%a):(.*)$")
  if tag == "i" then return math.tointeger(tonumber(body)) end
  if tag == "n" then return tonumber(body) end
  if tag == "b" then return body == "true" end
  if tag == "s" then return body end
  if tag == "l" then
    local out = {}
    for x in body:gmatch("[^,]+") do out[#out + 1] = tonumber(x) end
    return out
  end
  return s -- written by someone else: leave it as the string it is
end
M.encode, M.decode = encode, decode

local function param_names(model)
  if type(model) ~= "table" or type(model.named_parameters) ~= "function" then
    error(("optimizer state: expected the model (an nn.Module) whose parameters name the state, got %s")
      :format(type(model)), 4)
  end
  local names = {}
  for name, p in model:named_parameters() do names[p] = name end
  return names
end

--- opt:state_dict(model) -> tensors, metadata. State tensors are keyed
--- "state.<param name>.<field>"; hyperparameters and step counts go to the metadata.
function M.optimizer_state(opt, model)
  local names = param_names(model)
  local tensors, meta = {}, {}
  for g, group in ipairs(opt.param_groups) do
    local members = {}
    for _, p in ipairs(group.params) do
      local name = names[p]
      if not name then
        error(("%s:state_dict: a parameter of group %d is not in the model"):format(opt.__name, g), 3)
      end
      members[#members + 1] = name
      local st = opt.state[p]
      if st then
        for field, v in pairs(st) do
          if lurn.is_tensor(v) then tensors[("state.%s.%s"):format(name, field)] = v
          else meta[("state.%s.%s"):format(name, field)] = encode(v) end
        end
      end
    end
    meta[("group.%d.params"):format(g)] = "s:" .. table.concat(members, ",")
    for k, v in pairs(group) do
      if k ~= "params" then meta[("group.%d.%s"):format(g, k)] = encode(v) end
    end
  end
  return tensors, meta
end

-- A file's optimizer entries, checked before anything changes (a file written by another
-- program, or damaged, must not leave an optimizer with lr = "abc" that fails steps later):
-- a hyperparameter decodes to a value of the type the optimizer's group holds (a number
-- for lr, a list of as many numbers for betas, a boolean for amsgrad), a state value to a
-- number (step: an integer >= 0), and a state tensor is float32.
local function check_optimizer_state(opt, tensors, meta, where)
  for key, v in pairs(meta) do
    local g, k = key:match("^group%.(%d+)%.(.+)$")
    local group = g and opt.param_groups[tonumber(g)]
    if group and k ~= "params" then
      local d, cur = decode(v), group[k]
      if d == nil or (cur ~= nil and type(d) ~= type(cur))
         or (type(d) == "table" and type(cur) == "table" and #d ~= #cur) then
        error(("%s: optimizer setting '%s' of group %s is %q, not %s"):format(where, k, g, v,
          type(cur) == "table" and ("a list of %d numbers"):format(#cur) or ("a " .. type(cur))), 0)
      end
    end
    local name, f = key:match("^state%.(.+)%.([%w_]+)$")
    if name then
      local d = decode(v)
      if type(d) ~= "number" or (f == "step" and (math.type(d) ~= "integer" or d < 0)) then
        error(("%s: optimizer state '%s' is %q, not %s"):format(where, key, v,
          f == "step" and "a step count" or "a number"), 0)
      end
    end
  end
  for key, t in pairs(tensors) do
    if key:match("^state%.") and t.dtype ~= "float32" then
      error(("%s: optimizer state '%s' is a tensor of dtype %s, not float32"):format(where, key, t.dtype), 0)
    end
  end
end

--- opt:load_state_dict(tensors, metadata, model): restores hyperparameters by group and
--- state by parameter name. State whose shape no longer matches (a swapped head) is
--- skipped and reported; returns {restored = n, skipped = {names}}.
function M.load_optimizer_state(opt, tensors, meta, model, where)
  check_optimizer_state(opt, tensors, meta, where or (opt.__name .. ":load_state_dict"))
  local by_name = {}
  for name, p in model:named_parameters() do by_name[name] = p end
  for key, v in pairs(meta) do
    local g, k = key:match("^group%.(%d+)%.(.+)$")
    local group = g and opt.param_groups[tonumber(g)]
    if group and k ~= "params" then group[k] = decode(v) end
  end
  local states, skipped = {}, {}
  local function field(name, f, v)
    local p = by_name[name]
    if not p then skipped[name] = true; return end
    states[p] = states[p] or {}
    states[p][f] = v
  end
  for key, t in pairs(tensors) do
    local name, f = key:match("^state%.(.+)%.([%w_]+)$")
    if name then field(name, f, t) end
  end
  for key, v in pairs(meta) do
    local name, f = key:match("^state%.(.+)%.([%w_]+)$")
    if name then field(name, f, decode(v)) end
  end
  local restored = 0
  for p, st in pairs(states) do
    local ok = true
    for _, v in pairs(st) do
      if lurn.is_tensor(v) and v:numel() ~= p:numel() then ok = false end
    end
    if ok then
      local copy = {}
      for f, v in pairs(st) do copy[f] = lurn.is_tensor(v) and v:clone():view(p.shape) or v end
      opt.state[p] = copy
      restored = restored + 1
    else
      for name, q in pairs(by_name) do if q == p then skipped[name] = true end end
    end
  end
  local list = {}
  for name in pairs(skipped) do list[#list + 1] = name end
  table.sort(list)
  return {restored = restored, skipped = list}
end

function M.save(path, o)
  if type(path) ~= "string" or type(o) ~= "table" or not o.model then
    error("save_checkpoint(path, {model = m, optimizer = opt, extra = {...}})", 2)
  end
  local tensors, meta = {}, {format = "s:lurn-checkpoint-1"}
  for name, t in pairs(o.model:state_dict()) do tensors["model." .. name] = t end
  if o.optimizer then
    local st, m = M.optimizer_state(o.optimizer, o.model)
    for k, t in pairs(st) do tensors["optimizer." .. k] = t end
    for k, v in pairs(m) do meta["optimizer." .. k] = v end
  end
  for k, v in pairs(o.extra or {}) do meta["extra." .. k] = encode(v) end
  lurn.save(tensors, path, {metadata = meta})
end

function M.load(path, o)
  if type(path) ~= "string" or type(o) ~= "table" or not o.model then
    error("load_checkpoint(path, {model = m, optimizer = opt})", 2)
  end
  local tensors, meta = lurn.load(path)
  local model_sd, opt_sd, opt_meta, extra = {}, {}, {}, {}
  for k, t in pairs(tensors) do
    local rest = k:match("^model%.(.+)$")
    if rest then model_sd[rest] = t end
    rest = k:match("^optimizer%.(.+)$")
    if rest then opt_sd[rest] = t end
  end
  for k, v in pairs(meta or {}) do
    local rest = k:match("^optimizer%.(.+)$")
    if rest then opt_meta[rest] = v end
    rest = k:match("^extra%.(.+)$")
    if rest then extra[rest] = decode(v) end
  end
  local info = {extra = extra}
  local where = "load_checkpoint: " .. path
  -- the optimizer's entries first: a bad one must fail before the model is changed
  if o.optimizer then check_optimizer_state(o.optimizer, opt_sd, opt_meta, where) end
  info.model = o.model:load_state_dict(model_sd, {strict = o.strict ~= false and not o.skip_mismatched,
                                                   skip_mismatched = o.skip_mismatched})
  if o.optimizer then info.optimizer = M.load_optimizer_state(o.optimizer, opt_sd, opt_meta, o.model, where) end
  return info
end

return M
