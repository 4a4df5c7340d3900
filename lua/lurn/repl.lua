-- REPL helpers: how the interactive prompt shows values, and the globals it starts with.
-- show() is a small pretty printer: tensors and modules print through their __tostring,
-- plain tables as Lua constructors with sorted keys, bounded in depth and length and
-- safe on cycles. It reads tables with next() (raw), so a __pairs is never called.
local M = {}

local MAX_DEPTH, MAX_ITEMS, WIDTH = 3, 40, 78

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

local function is_name(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
end

-- numbers before strings before the rest; values of one type in their natural order
local function key_before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

local function indent(s, pad) return (s:gsub("\n", "\n" .. pad)) end

local show

local function show_table(t, depth, seen, pad)
  if seen[t] then return "<cycle>" end
  if depth > MAX_DEPTH then return "{...}" end
  seen[t] = true
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys, total = {}, n
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then
      total = total + 1
      if #keys < 10 * MAX_ITEMS then keys[#keys + 1] = k end
    end
  end
  table.sort(keys, key_before)
  local items, inner = {}, pad .. "  "
  for i = 1, math.min(n, MAX_ITEMS) do items[#items + 1] = show(rawget(t, i), depth + 1, seen, inner) end
  for _, k in ipairs(keys) do
    if #items >= MAX_ITEMS then break end
    local ks = is_name(k) and k or "[" .. show(k, depth + 1, seen, inner) .. "]"
    items[#items + 1] = ks .. " = " .. show(rawget(t, k), depth + 1, seen, inner)
  end
  if total > #items then items[#items + 1] = ("... (%d more)"):format(total - #items) end
  seen[t] = nil
  if #items == 0 then return "{}" end
  local one = "{" .. table.concat(items, ", ") .. "}"
  if #one + #pad <= WIDTH and not one:find("\n") then return one end
  return "{\n" .. inner .. table.concat(items, ",\n" .. inner) .. "\n" .. pad .. "}"
end

--- The text of v as the REPL shows it (strings quoted unless top is true).
function show(v, depth, seen, pad)
  depth, seen, pad = depth or 0, seen or {}, pad or ""
  local tv = type(v)
  if tv == "string" then return depth == 0 and v or ("%q"):format(v) end
  if tv == "table" and not has_tostring(v) then return show_table(v, depth, seen, pad) end
  return indent(tostring(v), pad)
end
M.show = show

--- All results of a statement on one line, separated by tabs, as the REPL prints them.
function M.show_results(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = show((select(i, ...))) end
  return table.concat(out, "\t")
end

--- The REPL's starting globals: lurn, nn, F, optim, data (those not already set).
--- Returns the names that are there, for the banner.
function M.globals(G)
  local lurn = require "lurn"
  local names = {}
  local function set(name, get)
    if rawget(G, name) ~= nil then names[#names + 1] = name; return end
    local ok, v = pcall(get)
    if ok and v ~= nil then rawset(G, name, v); names[#names + 1] = name
    elseif not ok then io.stderr:write(("lurn: global '%s' not set: %s\n"):format(name, v)) end
  end
  set("lurn", function() return lurn end)
  set("nn", function() return lurn.nn end)
  set("F", function() return lurn.nn.functional end)
  set("optim", function() return lurn.optim end)
  -- lurn.data is optional: skip it quietly when this build has none
  if package.preload["lurn.data"] or package.searchpath("lurn.data", package.path) then
    set("data", function() return require "lurn.data" end)
  end
  return table.concat(names, " ")
end

return M
