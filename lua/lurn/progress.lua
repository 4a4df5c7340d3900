-- Progress for long loops: a bar redrawn in place (epoch, batch, loss, rate, ETA) when
-- stdout is a terminal; otherwise a plain line at 25%, 50%, 75% and 100%, so logs in CI
-- and files stay readable. LURN_PROGRESS=0 silences both.
--   local bar = lurn.progress.Bar({total = #loader, desc = "epoch 1"})
--   for xb, yb in loader:iter() do ...; bar:update({loss = l:item()}) end
--   bar:close()
local lurn = require "lurn"
local class = require "lurn.class"

local Bar = class("ProgressBar")

local function fmt_time(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s)
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s % 3600 // 60, s % 60) end
  return ("%d:%02d"):format(s // 60, s % 60)
end

function Bar:__init(o)
  if o ~= nil and type(o) ~= "table" then
    error(("progress.Bar: options must be a table such as {total = n, desc = \"epoch 1\"}, got %s"):format(type(o)), 3)
  end
  o = o or {}
  if o.total ~= nil and type(o.total) ~= "number" then
    error(("progress.Bar: total must be a number, got %s"):format(type(o.total)), 3)
  end
  self.total, self.desc, self.n = o.total or 0, o.desc or "", 0
  self.start = lurn.clock()
  self.tty = o.tty
  if self.tty == nil then self.tty = lurn.isatty(1) end
  self.quiet = os.getenv("LURN_PROGRESS") == "0"
  self.next_mark = 1
  self.width = o.width or 24
end

local function stats_text(stats)
  if not stats then return "" end
  local keys = {}
  for k in pairs(stats) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = stats[k]
    parts[#parts + 1] = type(v) == "number" and ("%s %.4f"):format(k, v) or ("%s %s"):format(k, tostring(v))
  end
  return table.concat(parts, "  ")
end

function Bar:line(stats)
  local elapsed = lurn.clock() - self.start
  local rate = self.n / math.max(elapsed, 1e-9)
  local eta = (self.total - self.n) / math.max(rate, 1e-9)
  local frac = self.total > 0 and self.n / self.total or 0
  local filled = math.floor(frac * self.width + 0.5)
  return ("%s [%s%s] %d/%d  %s  %.1f it/s  %s<%s"):format(self.desc, ("#"):rep(filled),
    ("."):rep(self.width - filled), self.n, self.total, stats_text(stats), rate,
    fmt_time(elapsed), fmt_time(eta))
end

--- one more step done (or `k` steps); stats is a table of numbers to show
function Bar:update(stats, k)
  if k ~= nil and type(k) ~= "number" then error(("Bar:update: k must be a number of steps, got %s"):format(type(k)), 2) end
  if stats ~= nil and type(stats) ~= "table" then error(("Bar:update: stats must be a table, got %s"):format(type(stats)), 2) end
  self.n = self.n + (k or 1)
  self.stats = stats or self.stats
  if self.quiet then return end
  if self.tty then
    local now = lurn.clock()
    if self.n < self.total and self.last and now - self.last < 0.1 then return end
    self.last = now
    io.stdout:write("\r", self:line(self.stats), "\27[K")
    io.stdout:flush()
  elseif self.total > 0 then
    while self.next_mark <= 4 and self.n * 4 >= self.next_mark * self.total do
      self.next_mark = self.next_mark + 1
      if self.next_mark <= 5 then print(self:line(self.stats)) end
    end
  end
end

function Bar:close()
  if self.quiet then return end
  if self.tty then io.stdout:write("\r", self:line(self.stats), "\27[K\n") end
end

return {Bar = Bar}
