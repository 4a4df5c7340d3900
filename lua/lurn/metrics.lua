-- Metrics history: one row per log() call, written as CSV and drawn as an SVG line chart
-- that any browser shows (no plotting tools needed).
--   local h = lurn.metrics.History()
--   h:log({epoch = 1, loss = 0.5, acc = 0.8})
--   h:to_csv("run.csv"); h:plot_svg("run.svg", {x = "epoch", y = {"loss", "acc"}})
local class = require "lurn.class"

local History = class("History")

function History:__init() self.rows, self.columns, self.seen = {}, {}, {} end

-- new columns are added in a stable order: counters first, then by name
local FIRST = {epoch = 1, step = 2, batch = 3, phase = 4, run = 0}
local function before(a, b)
  local fa, fb = FIRST[a] or 99, FIRST[b] or 99
  if fa ~= fb then return fa < fb end
  return tostring(a) < tostring(b)
end

function History:log(row)
  if type(row) ~= "table" then error(("History:log expects a table {column = value}, got %s"):format(type(row)), 2) end
  local copy, new = {}, {}
  for k, v in pairs(row) do
    copy[k] = v
    if not self.seen[k] then self.seen[k] = true; new[#new + 1] = k end
  end
  table.sort(new, before)
  for _, k in ipairs(new) do self.columns[#self.columns + 1] = k end
  self.rows[#self.rows + 1] = copy
  return self
end

--- the values of one column, in order (nil where a row lacks it)
function History:column(name)
  local out = {}
  for i, r in ipairs(self.rows) do out[i] = r[name] end
  return out
end

local function csv_cell(v)
  if v == nil then return "" end
  if type(v) == "number" then return math.type(v) == "integer" and tostring(v) or ("%.9g"):format(v) end
  local s = tostring(v)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function check_path(fn, path)
  if type(path) ~= "string" then error(("History:%s expects a file name, got %s"):format(fn, type(path)), 3) end
end

function History:to_csv(path)
  check_path("to_csv", path)
  local f = assert(io.open(path, "w"))
  local head = {}
  for i, c in ipairs(self.columns) do head[i] = csv_cell(c) end
  f:write(table.concat(head, ","), "\n")
  for _, r in ipairs(self.rows) do
    local cells = {}
    for i, c in ipairs(self.columns) do cells[i] = csv_cell(r[c]) end
    f:write(table.concat(cells, ","), "\n")
  end
  f:close()
end

local COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

local function esc(s) return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;")) end

--- plot_svg(path, {x = column (default: row number), y = {columns}, by = column, title})
--- With `by`, rows are grouped by that column's value and each group is one line of y[1].
function History:plot_svg(path, o)
  check_path("plot_svg", path)
  if o ~= nil and type(o) ~= "table" then error(("History:plot_svg: options must be a table, got %s"):format(type(o)), 2) end
  o = o or {}
  if o.by then -- regroup: one synthetic column per group
    local grouped, names, seen = History(), {}, {}
    for _, r in ipairs(self.rows) do
      local g = tostring(r[o.by])
      if not seen[g] then seen[g] = true; names[#names + 1] = g end
      grouped:log({[o.x or "step"] = r[o.x], [g] = r[(o.y or {})[1] or "loss"]})
    end
    return grouped:plot_svg(path, {x = o.x, y = names, title = o.title})
  end
  local ys = o.y or {}
  if #ys == 0 then
    for _, c in ipairs(self.columns) do if c ~= o.x then ys[#ys + 1] = c end end
  end
  local W, H, L, R, T, B = 640, 400, 60, 140, 40, 50
  local xs = {}
  for i, r in ipairs(self.rows) do xs[i] = o.x and r[o.x] or i end
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, math.huge, -math.huge
  for i, x in ipairs(xs) do
    for _, c in ipairs(ys) do
      local v = self.rows[i][c]
      if type(v) == "number" and type(x) == "number" then
        xmin, xmax = math.min(xmin, x), math.max(xmax, x)
        ymin, ymax = math.min(ymin, v), math.max(ymax, v)
      end
    end
  end
  if xmin > xmax then xmin, xmax, ymin, ymax = 0, 1, 0, 1 end
  if xmax == xmin then xmax = xmin + 1 end
  if ymax == ymin then ymax = ymin + 1 end
  local pad = (ymax - ymin) * 0.05
  ymin, ymax = ymin - pad, ymax + pad
  local function px(x) return L + (x - xmin) / (xmax - xmin) * (W - L - R) end
  local function py(y) return H - B - (y - ymin) / (ymax - ymin) * (H - T - B) end
  local out = {('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'):format(W, H),
    ('<rect width="%d" height="%d" fill="white"/>'):format(W, H),
    ('<text x="%d" y="24" font-size="15">%s</text>'):format(L, esc(o.title or "")),
    ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'):format(L, H - B, W - R, H - B),
    ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'):format(L, T, L, H - B)}
  for k = 0, 4 do -- ticks
    local yv, xv = ymin + (ymax - ymin) * k / 4, xmin + (xmax - xmin) * k / 4
    out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end">%.3g</text>'):format(L - 6, py(yv) + 4, yv)
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'):format(L, py(yv), W - R, py(yv))
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle">%.3g</text>'):format(px(xv), H - B + 18, xv)
  end
  out[#out + 1] = ('<text x="%d" y="%d" text-anchor="middle">%s</text>'):format((L + W - R) // 2, H - 12, esc(o.x or "step"))
  for ci, c in ipairs(ys) do
    local color = COLORS[(ci - 1) % #COLORS + 1]
    local pts = {}
    for i, x in ipairs(xs) do
      local v = self.rows[i][c]
      if type(v) == "number" and type(x) == "number" then pts[#pts + 1] = ("%.1f,%.1f"):format(px(x), py(v)) end
    end
    out[#out + 1] = ('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'):format(color, table.concat(pts, " "))
    out[#out + 1] = ('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>'):format(W - R + 12, T + (ci - 1) * 20, color)
    out[#out + 1] = ('<text x="%d" y="%d">%s</text>'):format(W - R + 30, T + (ci - 1) * 20 + 11, esc(c))
  end
  out[#out + 1] = "</svg>\n"
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out, "\n"))
  f:close()
end

return {History = History}
