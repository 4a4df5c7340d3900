-- nn.Module: the base of every layer and model.
--
-- A Module instance is a proxy: Lua's __newindex fires only for absent keys, so fields
-- live in a store (`_values`) and registered names (children, parameters, buffers) in an
-- insertion-ordered list (`_order`). Assigning `model.fc4 = nn.Linear(32, 3)` replaces fc4
-- in its slot, a new name appends, nil removes. Everything that walks a model
-- (parameters, state_dict, summary, printing) follows that order, never pairs().
local lurn = require "lurn"

local is_tensor = lurn.is_tensor
local PARAMS = setmetatable({}, {__mode = "k"})   -- tensors marked as parameters
local PARENT = setmetatable({}, {__mode = "k"})   -- module -> parent module
local NAME = setmetatable({}, {__mode = "k"})     -- module -> name in its parent
local CALLED = setmetatable({}, {__mode = "k"})   -- modules called since the last backward
local WARNED = setmetatable({}, {__mode = "k"})   -- parameters already reported unused
local structure_version = 0                          -- bumped by every assignment to a module
-- Modules are marked as called (for the unused-parameter check after backward) on the
-- first backwards after a change to any model, then on one step in 64: a model that
-- leaves a module out shows it at once, and a training step pays nothing the other 63.
local marking, backwards = true, 0

local Module = {__name = "Module", __is_module = true}

local function is_module(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  return mt ~= nil and rawget(v, "_values") ~= nil and mt.__is_module == true
end

local function Parameter(t, requires_grad)
  assert(is_tensor(t), "nn.Parameter: expected a tensor")
  if requires_grad == nil then requires_grad = true end
  t.requires_grad = requires_grad
  PARAMS[t] = true
  return t
end

local function kind_of(v)
  if is_module(v) then return "module" end
  if is_tensor(v) and PARAMS[v] then return "param" end
  return nil
end

-- ---- the proxy ----
function Module.__index(self, k)
  local v = rawget(self, "_values")[k]
  if v ~= nil then return v end
  return getmetatable(self)[k]
end

function Module.__newindex(self, k, v)
  local values, kinds, order = rawget(self, "_values"), rawget(self, "_kinds"), rawget(self, "_order")
  if k == nil or k ~= k then -- nil or NaN: no field can have that name
    error(("%s: cannot assign to a field named %s"):format(getmetatable(self).__name, k == nil and "nil" or "NaN"), 2)
  end
  local old = kinds[k]
  local kind = kind_of(v)
  -- a tensor assigned over a parameter or buffer takes its role (surgery: m.fc1.weight = w),
  -- trainable or frozen as the parameter it replaces
  if kind == nil and is_tensor(v) and old == "param" then
    kind = "param"
    Parameter(v, values[k].requires_grad)
  end
  if kind == nil and is_tensor(v) and old == "buffer" then kind = "buffer" end
  if kind and not old then
    order[#order + 1] = k
  elseif old and not kind then
    for i = 1, #order do if order[i] == k then table.remove(order, i); break end end
  end
  kinds[k] = kind
  -- any assignment may change what a cached plan relies on (children, parameters, an
  -- instance's own forward)
  structure_version = structure_version + 1
  marking, backwards = true, 0
  if kind == "module" then PARENT[v], NAME[v] = self, k end
  values[k] = v
end

-- Module paths name modules in error messages: "trunk.0 (Linear 20->128)".
local function module_path(m)
  local parts = {}
  while PARENT[m] and NAME[m] do
    table.insert(parts, 1, NAME[m])
    m = PARENT[m]
  end
  return table.concat(parts, ".")
end

local is_grad_enabled = lurn.is_grad_enabled
function Module.__call(self, ...)
  if marking and is_grad_enabled() then CALLED[self] = true end
  local forward = self.forward
  if forward == nil then
    error(("%s (%s) has no forward method"):format(module_path(self), self:type_name()), 2)
  end
  return forward(self, ...)
end

local function construct(cls, ...)
  local obj = setmetatable({_values = {training = true}, _kinds = {}, _order = {}}, cls)
  local init = cls.__init
  if init then init(obj, ...) end
  return obj
end

local function class_tostring(cls) return "class " .. rawget(cls, "__name") end

--- Make a subclass: local FFNN = nn.Module:extend("FFNN")
function Module:extend(name)
  assert(type(name) == "string", "extend: expected a class name")
  local cls = {}
  for k, v in pairs(self) do
    if type(k) == "string" and k:sub(1, 2) == "__" and k ~= "__init" then cls[k] = v end
  end
  cls.__name = name
  cls.super = self
  return setmetatable(cls, {__index = self, __call = construct, __tostring = class_tostring})
end

function Module:type_name() return getmetatable(self).__name end
function Module:path() return module_path(self) end

-- ---- registration ----
-- a name to register under: a non-empty string without "." (dots separate the parts of
-- "fc1.weight" in state dicts)
local function check_name(fn, name, example)
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    error(("%s: name must be a string such as \"%s\" (no dots), got %s"):format(fn, example,
      type(name) ~= "string" and type(name) or ("%q"):format(name)), 3)
  end
end

local function got(v) return is_tensor(v) and "tensor" or type(v) end

function Module:register_parameter(name, t)
  check_name("register_parameter", name, "weight")
  if t ~= nil and not is_tensor(t) then
    error(("register_parameter: expected a tensor (or nil), got %s"):format(type(t)), 2)
  end
  if t ~= nil then Parameter(t, t.requires_grad) end
  self[name] = t
end

function Module:register_buffer(name, t)
  check_name("register_buffer", name, "running_mean")
  if not is_tensor(t) then error(("register_buffer: expected a tensor, got %s"):format(type(t)), 2) end
  local kinds, order = rawget(self, "_kinds"), rawget(self, "_order")
  if not kinds[name] then order[#order + 1] = name end
  kinds[name] = "buffer"
  rawget(self, "_values")[name] = t
end

function Module:add_module(name, m)
  check_name("add_module", name, "fc1")
  if not is_module(m) then error(("add_module: expected a Module, got %s"):format(got(m)), 2) end
  self[name] = m
end

-- ---- walking ----
local function entries(self, kind)
  local values, kinds, order = rawget(self, "_values"), rawget(self, "_kinds"), rawget(self, "_order")
  local i = 0
  return function()
    while true do
      i = i + 1
      local k = order[i]
      if k == nil then return nil end
      if kinds[k] == kind then return k, values[k] end
    end
  end
end

--- Iterator over (name, child) in order.
function Module:named_children() return entries(self, "module") end

--- memo(build): a function of a module that returns build(module), built again only
--- after the next assignment to any module: for what every training step asks of a model
--- (its children, its forward plan) but changes only with surgery.
local function memo(build)
  local store = setmetatable({}, {__mode = "k"}) -- module -> {version, value}
  return function(m)
    local e = store[m]
    if e and e[1] == structure_version then return e[2] end
    local v = build(m)
    store[m] = {structure_version, v}
    return v
  end
end

-- the children as an array (nn.Sequential's forward)
local child_list = memo(function(self)
  local list = {}
  for _, m in entries(self, "module") do list[#list + 1] = m end
  return list
end)

function Module:children()
  local out = {}
  for _, m in entries(self, "module") do out[#out + 1] = m end
  return out
end

local function walk_modules(m, prefix, out, seen)
  if seen[m] then return end
  seen[m] = true
  out[#out + 1] = {prefix, m}
  for name, child in entries(m, "module") do
    walk_modules(child, prefix == "" and name or prefix .. "." .. name, out, seen)
  end
end

local function list_iter(list)
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2] end
  end
end

--- Iterator over (name, module) for this module ("") and all descendants, depth first.
function Module:named_modules()
  local out = {}
  walk_modules(self, "", out, {})
  return list_iter(out)
end

function Module:modules()
  local out = {}
  for _, m in self:named_modules() do out[#out + 1] = m end
  return out
end

local function named_tensors(self, kind)
  local out, seen = {}, {}
  for prefix, m in self:named_modules() do
    for name, t in entries(m, kind) do
      if not seen[t] then
        seen[t] = true
        out[#out + 1] = {prefix == "" and name or prefix .. "." .. name, t}
      end
    end
  end
  return out
end

--- Iterator over (name, parameter) with PyTorch names: "fc1.weight", "trunk.0.bias".
function Module:named_parameters() return list_iter(named_tensors(self, "param")) end
function Module:named_buffers() return list_iter(named_tensors(self, "buffer")) end

function Module:parameters()
  local out = {}
  for _, e in ipairs(named_tensors(self, "param")) do out[#out + 1] = e[2] end
  return out
end

-- ---- modes and gradients ----
function Module:train(mode)
  if mode == nil then mode = true end
  if type(mode) ~= "boolean" then
    error(("train: mode must be true or false, got %s"):format(got(mode)), 2)
  end
  for _, m in self:named_modules() do rawget(m, "_values").training = mode end
  return self
end

function Module:eval() return self:train(false) end

function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad = nil end
end

--- fn(module) on every descendant, children before parents (as PyTorch); returns self.
function Module:apply(fn)
  local mt = getmetatable(fn)
  if type(fn) ~= "function" and not (type(mt) == "table" and mt.__call) then
    error(("apply: expected a function to call on every module, got %s"):format(got(fn)), 2)
  end
  for _, child in entries(self, "module") do child:apply(fn) end
  fn(self)
  return self
end

-- what: "freeze" or "unfreeze"; errors are raised at the caller of self:freeze(...)
-- (a tail call to set_trainable, so two levels up)
local function find_module(self, path, what)
  if math.type(path) == "integer" then path = tostring(path) end -- seq:freeze(0)
  if type(path) ~= "string" or path == "" then
    error(("%s: expected submodule names such as \"fc1\", got %s"):format(what,
      path == "" and "an empty string" or got(path)), 3)
  end
  local m = self
  for part in path:gmatch("[^.]+") do
    local child = rawget(m, "_kinds")[part] == "module" and rawget(m, "_values")[part] or nil
    if not child then
      error(("%s: %s has no submodule '%s'"):format(what, self:type_name(), path), 3)
    end
    m = child
  end
  return m
end

local function set_trainable(self, on, ...)
  local targets = select("#", ...) == 0 and {self} or {}
  local what = on and "unfreeze" or "freeze"
  for i = 1, select("#", ...) do targets[#targets + 1] = find_module(self, (select(i, ...)), what) end
  for _, m in ipairs(targets) do
    for _, p in ipairs(m:parameters()) do p.requires_grad = on end
  end
  return self
end

--- Freeze named submodules ("fc1", "trunk.0"), or the whole module with no names.
--- Frozen parameters get no gradient and every optimizer skips them.
function Module:freeze(...) return set_trainable(self, false, ...) end
function Module:unfreeze(...) return set_trainable(self, true, ...) end

-- ---- state ----
-- Every (path, tensor) of a kind under every path, as PyTorch's state_dict walks: a
-- module or tensor shared by two parents appears under both names (tied weights: both
-- "encoder.embed.weight" and "decoder.embed.weight"). A module inside itself is skipped.
local function all_paths(m, kind, prefix, out, on_path)
  on_path[m] = true
  for name, t in entries(m, kind) do out[#out + 1] = {prefix .. name, t} end
  for name, child in entries(m, "module") do
    if not on_path[child] then all_paths(child, kind, prefix .. name .. ".", out, on_path) end
  end
  on_path[m] = nil
  return out
end

--- name -> tensor for every parameter and buffer (PyTorch keys and layouts; a shared
--- module or tensor under each of its names, as PyTorch's state_dict).
function Module:state_dict()
  local sd = {}
  for _, e in ipairs(all_paths(self, "param", "", {}, {})) do sd[e[1]] = e[2] end
  for _, e in ipairs(all_paths(self, "buffer", "", {}, {})) do sd[e[1]] = e[2] end
  return sd
end

local function shape_str(shape) return "[" .. table.concat(shape, ", ") .. "]" end

--- Copy tensors from sd into this module's parameters and buffers. Returns a report
--- {missing = {names}, unexpected = {names}, mismatched = {{name, expected, got}}}.
--- opts.strict (default true) raises listing every problem; opts.skip_mismatched loads
--- the rest and leaves mismatched entries (e.g. a new head) as they are.
function Module:load_state_dict(sd, opts)
  if type(sd) ~= "table" then
    error(("load_state_dict: expected a table of name -> tensor (model:state_dict() or "
      .. "lurn.load(path)), got %s"):format(type(sd)), 2)
  end
  if opts == nil then opts = {} end -- false is a mistake, named below
  if type(opts) ~= "table" then
    error(("load_state_dict: options must be a table such as {strict = false}, got %s"):format(got(opts)), 2)
  end
  local strict = opts.strict
  if strict == nil then strict = not opts.skip_mismatched end
  local own, names = {}, {}
  for _, kind in ipairs({"param", "buffer"}) do
    for _, e in ipairs(all_paths(self, kind, "", {}, {})) do own[e[1]] = e[2]; names[#names + 1] = e[1] end
  end
  local report = {missing = {}, unexpected = {}, mismatched = {}}
  for _, name in ipairs(names) do
    if sd[name] == nil then report.missing[#report.missing + 1] = name end
  end
  local keys = {}
  for k in pairs(sd) do keys[#keys + 1] = k end
  table.sort(keys)
  local to_copy = {}
  for _, k in ipairs(keys) do
    local dst, src = own[k], sd[k]
    if dst == nil then
      report.unexpected[#report.unexpected + 1] = k
    elseif not is_tensor(src) then
      error(("load_state_dict: entry '%s' is a %s, not a tensor"):format(k, type(src)), 2)
    else
      local a, b = dst.shape, src.shape
      local same = #a == #b
      for i = 1, #a do same = same and a[i] == b[i] end
      if same then to_copy[#to_copy + 1] = {dst, src}
      else report.mismatched[#report.mismatched + 1] = {k, shape_str(a), shape_str(b)} end
    end
  end
  local problems = {}
  if strict or not opts.skip_mismatched then
    for _, m in ipairs(report.mismatched) do
      problems[#problems + 1] = ("size mismatch for %s: expected %s, got %s"):format(m[1], m[2], m[3])
    end
  end
  if strict then
    if #report.missing > 0 then problems[#problems + 1] = "missing keys: " .. table.concat(report.missing, ", ") end
    if #report.unexpected > 0 then problems[#problems + 1] = "unexpected keys: " .. table.concat(report.unexpected, ", ") end
  end
  if #problems > 0 then
    error(("load_state_dict into %s:\n  %s"):format(self:type_name(), table.concat(problems, "\n  ")), 2)
  end
  lurn.no_grad(function()
    for _, e in ipairs(to_copy) do e[1]:copy_(e[2]) end
  end)
  return report
end

-- ---- description ----
function Module:extra_repr() return "" end

function Module.__tostring(self)
  local lines = {}
  for name, child in entries(self, "module") do
    local s = tostring(child):gsub("\n", "\n  ")
    lines[#lines + 1] = "  (" .. name .. "): " .. s
  end
  local head = self:type_name() .. "(" .. self:extra_repr()
  if #lines == 0 then return head .. ")" end
  return head .. "\n" .. table.concat(lines, "\n") .. "\n)"
end

local function numel(t) return t:numel() end

--- A table describing the model: rows {name, layer, out_features, params, trainable}
--- for every module that owns parameters or has no children, plus totals.
--- tostring() of the result is a printable table.
function Module:summary()
  local rows, total, trainable = {}, 0, 0
  for name, m in self:named_modules() do
    local own, own_trainable, has_children = 0, 0, false
    for _ in entries(m, "module") do has_children = true; break end
    for _, p in entries(m, "param") do
      own = own + numel(p)
      if p.requires_grad then own_trainable = own_trainable + numel(p) end
    end
    if name ~= "" and (own > 0 or not has_children) then
      rows[#rows + 1] = {
        name = name, layer = m:type_name(),
        out_features = rawget(m, "_values").out_features or "-",
        params = own,
        trainable = own == 0 and "-" or own_trainable == own and "trainable"
          or own_trainable == 0 and "frozen" or "partly frozen",
      }
    end
    total, trainable = total + own, trainable + own_trainable
  end
  local s = {rows = rows, total = total, trainable = trainable, frozen = total - trainable,
             model = self:type_name()}
  return setmetatable(s, {__tostring = function(t)
    local out = {("%-16s %-12s %12s %10s  %s"):format("name", "layer", "out_features", "params", "status")}
    for _, r in ipairs(t.rows) do
      out[#out + 1] = ("%-16s %-12s %12s %10d  %s"):format(r.name, r.layer, tostring(r.out_features), r.params, r.trainable)
    end
    out[#out + 1] = ("%s: %d parameters, %d trainable, %d frozen"):format(t.model, t.total, t.trainable, t.frozen)
    return table.concat(out, "\n")
  end})
end

-- ---- unused-parameter check after backward ----
-- DDP's "unused parameters" error, made friendly: after backward, a trainable parameter
-- of a module that was not called in forward and got no gradient is reported once.
-- A model none of whose parameters has a gradient took no part in this backward (its
-- forward failed, e.g. on a bad input, or its output was not used): nothing to report.
local function took_part(m)
  for _, e in ipairs(named_tensors(m, "param")) do
    if e[2].grad ~= nil then return true end
  end
  return false
end

-- every descendant of m (m included), cached until a child is added or removed anywhere:
-- the check below runs after every backward and must cost next to nothing when all
-- modules were called
local descendants = memo(function(m)
  local list = {}
  for _, sub in m:named_modules() do list[#list + 1] = sub end
  return list
end)

local function warn_unused(m)
  for prefix, sub in m:named_modules() do
    if not CALLED[sub] then
      local names = {}
      for name, param in entries(sub, "param") do
        if param.requires_grad and param.grad == nil and not WARNED[param] then
          WARNED[param] = true
          names[#names + 1] = prefix == "" and name or prefix .. "." .. name
        end
      end
      if #names > 0 then
        io.stderr:write(("lurn: warning: %s of %s received no gradient in backward; is "
          .. "'%s' used in forward?\n"):format(table.concat(names, ", "), m:type_name(),
          prefix == "" and m:type_name() or prefix))
      end
    end
  end
end

local function check_unused()
  for m in pairs(CALLED) do
    local p = PARENT[m]
    if not (p and CALLED[p]) then -- a root: the outermost module called
      for _, sub in ipairs(descendants(m)) do
        if not CALLED[sub] then
          if took_part(m) then warn_unused(m) end
          break
        end
      end
    end
  end
  for m in pairs(CALLED) do CALLED[m] = nil end
end

local c_backward = lurn.Tensor.backward
function lurn.Tensor.backward(t, ...)
  c_backward(t, ...)
  if next(CALLED) then check_unused() end
  backwards = backwards + 1
  marking = backwards < 8 or backwards % 64 == 63
end

Module.Parameter = Parameter
Module.is_module = is_module
Module.child_list = child_list
--- for a caller that runs a module's forward itself (a fused pair in nn.Sequential)
function Module.mark_called(m) if marking and is_grad_enabled() then CALLED[m] = true end end
--- whether this step marks modules as called (see `marking` above)
function Module.marking() return marking end
Module.memo = memo
Module.shape_str = shape_str
return setmetatable(Module, {__call = construct, __tostring = class_tostring})
