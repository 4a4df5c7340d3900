-- nn.Sequential(m1, m2, ...) with children named "0", "1", ...; or
-- nn.Sequential({{"fc1", nn.Linear(4, 8)}, {"act", nn.ReLU()}}) with named children.
-- seq[0] is the first child (0-based, as in PyTorch), seq[-1] the last; #seq counts children.
local Module = require "lurn.nn.module"
local Linear = require "lurn.nn.linear"
local ReLU = require("lurn.nn.activation").ReLU

local child_list, mark_called, marking = Module.child_list, Module.mark_called, Module.marking
local linear_chain = require("lurn")._linear_chain
local linear_forward = Linear.forward

local Sequential = Module:extend("Sequential")

function Sequential:__init(...)
  local first = ...
  if select("#", ...) == 1 and type(first) == "table" and not Module.is_module(first) then
    for i, pair in ipairs(first) do
      assert(type(pair) == "table" and type(pair[1]) == "string" and Module.is_module(pair[2]),
        ("Sequential: entry %d must be {name, module}"):format(i))
      self[pair[1]] = pair[2]
    end
  else
    for i = 1, select("#", ...) do self:append((select(i, ...))) end
  end
end

function Sequential:append(m)
  assert(Module.is_module(m), "Sequential: expected a Module")
  -- named by its position, as in PyTorch; after a child was removed that name can still
  -- be taken ("0", "2" left: a third child is not "2"), so the next free number is used
  local kinds, n = rawget(self, "_kinds"), #self
  while kinds[tostring(n)] ~= nil do n = n + 1 end
  self[tostring(n)] = m
  return self
end

-- a plain Linear (its own class, no forward set on the instance) and a plain ReLU
local function plain(m, cls)
  return getmetatable(m) == cls and rawget(m, "_values").forward == nil
end

-- The forward plan: the children in order, with each run of plain Linears (a ReLU after
-- one fused into it) as one chain that C runs in one call (lurn._linear_chain): one
-- kernel and one autograd node per layer, the same numbers as module by module, and
-- only the chain's output becomes a Lua value. Cached until the next assignment to any
-- module (a new child, a new weight, an instance's own forward).
local plan_of = Module.memo(function(self)
  local p = {}
  local list = child_list(self)
  local i, chain = 1, nil
  while i <= #list do
    local m, nxt = list[i], list[i + 1]
    if plain(m, Linear) then
      if not chain then chain = {}; p[#p + 1] = chain end
      local relu = nxt ~= nil and plain(nxt, ReLU) and nxt -- the ReLU fused in, or false
      chain[#chain + 1] = {m, relu}
      i = i + (relu and 2 or 1)
    else
      chain = nil
      p[#p + 1] = m
      i = i + 1
    end
  end
  return p
end)

function Sequential:forward(x)
  local plan = plan_of(self)
  for i = 1, #plan do
    local step = plan[i]
    if getmetatable(step) then -- a module
      x = step(x)
    else -- a chain of Linears
      if marking() then
        for _, layer in ipairs(step) do
          mark_called(layer[1])
          if layer[2] then mark_called(layer[2]) end
        end
      end
      local y, err, at = linear_chain(x, step)
      if y == nil then -- the failing layer again, through its module: it names itself
        for k = 1, at do x = linear_forward(step[k][1], x, step[k][2] ~= false) end
        error(err, 2)
      end
      x = y
    end
  end
  return x
end

local base_index = Sequential.__index
function Sequential.__index(self, k)
  if math.type(k) == "integer" then
    if k < 0 then k = k + #self end -- seq[-1] is the last child, as in PyTorch
    local i = 0
    for _, m in self:named_children() do
      if i == k then return m end
      i = i + 1
    end
    return nil
  end
  return base_index(self, k)
end

local base_newindex = Sequential.__newindex
function Sequential.__newindex(self, k, v)
  if math.type(k) == "integer" then -- seq[4] = layer replaces the child at position 4
    local i, n = 0, #self
    if k < 0 then k = k + n end
    for name in self:named_children() do
      if i == k then return base_newindex(self, name, v) end
      i = i + 1
    end
    error(("Sequential: index %d out of range for %d children"):format(k, n), 2)
  end
  return base_newindex(self, k, v)
end

function Sequential.__len(self)
  local n = 0
  for _ in self:named_children() do n = n + 1 end
  return n
end

return Sequential
