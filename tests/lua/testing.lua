-- Small helpers shared by the Lua tests: closeness checks, expected errors, a central-
-- difference gradient check and a tiny case runner that reports every failure and then
-- fails the whole file (so ctest sees a non-zero exit status).
local lurn = require "lurn"

local M = {}

-- ---------------------------------------------------------------------------------
-- values

local function is_tensor(x) return lurn.is_tensor(x) end

-- {shape, flat list} of a tensor, a (nested) table or a number. Tables are flattened in
-- row-major order and their nesting gives the shape (a ragged table is an error).
local function flatten(v)
  if is_tensor(v) then
    local t = v:totable()
    if type(t) ~= "table" then return {}, {t} end
    local flat = {}
    local function rec(x)
      if type(x) == "table" then for i = 1, #x do rec(x[i]) end
      else flat[#flat + 1] = x end
    end
    rec(t)
    return v.shape, flat
  elseif type(v) == "table" then
    local shape, flat = {}, {}
    local function rec(x, d)
      if type(x) == "table" then
        if shape[d] == nil then shape[d] = #x
        elseif shape[d] ~= #x then error("ragged expected table at depth " .. d, 3) end
        for i = 1, #x do rec(x[i], d + 1) end
      else
        if d ~= #shape + 1 then error("ragged expected table at depth " .. d, 3) end
        flat[#flat + 1] = x
      end
    end
    rec(v, 1)
    return shape, flat
  else
    return {}, {v}
  end
end
M.flatten = flatten

local function shape_str(s)
  local parts = {}
  for i = 1, #s do parts[i] = tostring(s[i]) end
  return "[" .. table.concat(parts, ", ") .. "]"
end
M.shape_str = shape_str

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function fmt(v)
  if math.type(v) == "float" then return ("%.9g"):format(v) end
  return tostring(v)
end

--- assert_close(a, b, atol, rtol, msg): element-wise |a - b| <= atol + rtol * |b| for
--- tensors, (nested) tables and numbers in any combination. Shapes must agree when both
--- sides carry one (a number is compared against a one-element tensor or table). Booleans
--- compare by equality, NaN equals NaN, an infinity only equals itself.
function M.assert_close(a, b, atol, rtol, msg)
  atol = atol or 1e-5
  rtol = rtol or 1e-5
  local prefix = msg and (msg .. ": ") or ""
  local sa, fa = flatten(a)
  local sb, fb = flatten(b)
  local scalar = type(a) == "number" or type(b) == "number" or type(a) == "boolean"
                 or type(b) == "boolean"
  if not scalar and not same_shape(sa, sb) then
    error(prefix .. "shape " .. shape_str(sa) .. " ~= expected " .. shape_str(sb), 2)
  end
  if #fa ~= #fb then
    error(("%s%d elements ~= expected %d"):format(prefix, #fa, #fb), 2)
  end
  for i = 1, #fa do
    local x, y = fa[i], fb[i]
    local ok
    if type(x) == "boolean" or type(y) == "boolean" then
      ok = x == y
    elseif type(x) ~= "number" or type(y) ~= "number" then
      ok = false
    elseif x ~= x or y ~= y then
      ok = x ~= x and y ~= y
    elseif x == math.huge or x == -math.huge or y == math.huge or y == -math.huge then
      ok = x == y
    else
      ok = math.abs(x - y) <= atol + rtol * math.abs(y)
    end
    if not ok then
      error(("%selement %d (flat, 1-based): got %s, expected %s (atol %g, rtol %g)"):format(
        prefix, i, fmt(x), fmt(y), atol, rtol), 2)
    end
  end
end

--- assert_equal(a, b, msg): exact equality of plain Lua values (tables compared deeply).
function M.assert_equal(a, b, msg)
  local function eq(x, y)
    if type(x) ~= type(y) then return false end
    if type(x) ~= "table" then return x == y or (x ~= x and y ~= y) end
    for k, v in pairs(x) do if not eq(v, y[k]) then return false end end
    for k in pairs(y) do if x[k] == nil then return false end end
    return true
  end
  if not eq(a, b) then
    local function show(v)
      if type(v) == "table" then
        local parts = {}
        for i = 1, #v do parts[i] = show(v[i]) end
        return "{" .. table.concat(parts, ", ") .. "}"
      end
      return type(v) == "string" and ("%q"):format(v) or fmt(v)
    end
    error((msg and (msg .. ": ") or "") .. "got " .. show(a) .. ", expected " .. show(b), 2)
  end
end

--- assert_shape(t, shape, msg)
function M.assert_shape(t, shape, msg)
  if not is_tensor(t) then error((msg or "assert_shape") .. ": not a tensor: " .. tostring(t), 2) end
  if not same_shape(t.shape, shape) then
    error((msg and (msg .. ": ") or "") .. "shape " .. shape_str(t.shape) .. " ~= expected "
          .. shape_str(shape), 2)
  end
end

--- assert_error(fn, pattern, msg): fn must raise an error whose message contains every
--- pattern (a string, or a list of strings). Each is tried as a plain substring first and
--- then as a Lua pattern. Returns the message.
function M.assert_error(fn, pattern, msg)
  local ok, err = pcall(fn)
  local prefix = msg and (msg .. ": ") or ""
  if ok then error(prefix .. "expected an error" .. (pattern and (" matching '" ..
    (type(pattern) == "table" and table.concat(pattern, "', '") or pattern) .. "'") or "")
    .. ", but the call succeeded", 2) end
  if type(err) ~= "string" then
    error(prefix .. "error value is a " .. type(err) .. ", expected a string message", 2)
  end
  local pats = type(pattern) == "table" and pattern or {pattern}
  for _, p in ipairs(pats) do
    local found = err:find(p, 1, true)
    if not found then
      local okp, r = pcall(string.find, err, p)
      found = okp and r
    end
    if not found then
      error(prefix .. "error message '" .. err .. "' does not match '" .. p .. "'", 2)
    end
  end
  return err
end

-- ---------------------------------------------------------------------------------
-- gradient check

-- Flat row-major Lua list of a tensor's values (doubles).
local function values(t)
  local _, flat = flatten(t)
  return flat
end
M.values = values

--- gradcheck(fn, inputs, opts): compare the analytic gradient of
---     L(inputs) = sum(fn(inputs...) * W)
--- (W a fixed random tensor of the output's shape, so every output element gets its own
--- weight and a wrong gradient cannot cancel out in a plain sum) with central finite
--- differences (L(x + h e_j) - L(x - h e_j)) / 2h, evaluated on the Lua side in double.
---
--- inputs: a list of tensors; the float32 ones with requires_grad are checked, the others
--- are passed through unchanged. Each checked input must be a contiguous leaf (the
--- perturbation writes through x:view(-1) under no_grad); make views inside fn.
---
--- Tolerances: the forward runs in float32 (about 7 significant digits). With h = 1e-2
--- the rounding error of a difference quotient is ~ 1e-7 * |L| / h ~ 1e-5 * |L|, and the
--- truncation error of the central difference is h^2/6 * |f'''| ~ 2e-5 * |f'''|, so both
--- stay well under the default tolerance |analytic - numeric| <= atol + rtol * |numeric|
--- with atol = rtol = 1e-2 (a relative error of about 1 %), while a wrong gradient (a
--- missing factor, a wrong sign, a transposed or misplaced entry) is off by far more.
--- Inputs must stay further than h from kinks (relu, abs, clamp, max) and from the
--- domain boundary of log/sqrt/pow.
---
--- opts: h (1e-2), atol (1e-2), rtol (1e-2), name (for messages).
function M.gradcheck(fn, inputs, opts)
  opts = opts or {}
  local h, atol, rtol = opts.h or 1e-2, opts.atol or 1e-2, opts.rtol or 1e-2
  local name = opts.name or "gradcheck"
  assert(type(inputs) == "table", name .. ": inputs must be a list of tensors")
  local n = inputs.n or #inputs

  local checked = {}
  for i = 1, n do
    local x = inputs[i]
    if is_tensor(x) and x.requires_grad then
      if not x.is_leaf then error(name .. ": input " .. i .. " is not a leaf", 2) end
      if not x:is_contiguous() then error(name .. ": input " .. i .. " is not contiguous", 2) end
      checked[#checked + 1] = i
      x.grad = nil
    end
  end
  if #checked == 0 then error(name .. ": no input requires grad", 2) end

  -- analytic
  local out = fn(table.unpack(inputs, 1, n))
  if not is_tensor(out) then error(name .. ": fn must return a tensor", 2) end
  if out.dtype ~= "float32" then error(name .. ": fn returned a " .. out.dtype .. " tensor", 2) end
  if not out.requires_grad then error(name .. ": output does not require grad", 2) end
  local oshape = out.shape
  local w = lurn.no_grad(function() return lurn.randn(oshape) end)
  local wv = values(w)
  local loss = (out * w):sum()
  loss:backward()
  local analytic = {}
  for _, i in ipairs(checked) do
    local g = inputs[i].grad
    if g == nil then error(("%s: input %d received no gradient"):format(name, i), 2) end
    if not same_shape(g.shape, inputs[i].shape) then
      error(("%s: gradient of input %d has shape %s, input has %s"):format(name, i,
        shape_str(g.shape), shape_str(inputs[i].shape)), 2)
    end
    analytic[i] = values(g)
  end

  -- numeric
  local function weighted()
    local o = lurn.no_grad(fn, table.unpack(inputs, 1, n))
    local ov = values(o)
    if #ov ~= #wv then error(name .. ": output size changed between calls", 3) end
    local s = 0.0
    for k = 1, #ov do s = s + ov[k] * wv[k] end
    return s
  end
  for _, i in ipairs(checked) do
    local x = inputs[i]
    local flat = lurn.no_grad(function() return x:view(-1) end)
    local base = values(x)
    for j = 1, #base do
      local cell = lurn.no_grad(function() return flat:narrow(0, j - 1, 1) end)
      lurn.no_grad(function() cell:fill_(base[j] + h) end)
      local fp = weighted()
      lurn.no_grad(function() cell:fill_(base[j] - h) end)
      local fm = weighted()
      lurn.no_grad(function() cell:fill_(base[j]) end)
      local num = (fp - fm) / (2 * h)
      local ana = analytic[i][j]
      if not (math.abs(ana - num) <= atol + rtol * math.abs(num)) then
        error(("%s: d/d input %d element %d (flat, 1-based): analytic %.6g, numeric %.6g"):format(
          name, i, j, ana, num), 2)
      end
    end
    x.grad = nil
  end
  return true
end

-- ---------------------------------------------------------------------------------
-- inputs for gradient checks

--- A float tensor that requires grad, with normal values pushed at least `margin` away
--- from every point in `avoid` (default {0}): keeps finite differences off kinks.
function M.randn_away(shape, avoid, margin)
  avoid = avoid or {0}
  margin = margin or 0.1
  local t = lurn.randn(shape)
  local v = values(t)
  for k = 1, #v do
    for _, p in ipairs(avoid) do
      local d = v[k] - p
      if math.abs(d) < margin then v[k] = p + (d < 0 and -margin or margin) end
    end
  end
  local out = lurn.tensor(v):view(shape)
  return lurn.tensor(out, {requires_grad = true})
end

--- A float tensor that requires grad, filled with distinct values spaced 0.1 apart in a
--- random order (for max/min, whose gradient is not defined at ties).
function M.distinct(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local perm = values(lurn.rand(n))
  local idx = {}
  for k = 1, n do idx[k] = k end
  table.sort(idx, function(p, q) return perm[p] < perm[q] end)
  local v = {}
  for k = 1, n do v[idx[k]] = (k - n / 2) * 0.1 end
  return lurn.tensor(lurn.tensor(v):view(shape), {requires_grad = true})
end

--- randn of the given shape that requires grad.
function M.param(shape, scale)
  local t = lurn.randn(shape)
  if scale then t = t * scale end
  return lurn.tensor(t, {requires_grad = true})
end

--- rand in [lo, hi) that requires grad.
function M.uniform(shape, lo, hi)
  local t = lurn.rand(shape) * (hi - lo) + lo
  return lurn.tensor(t, {requires_grad = true})
end

-- ---------------------------------------------------------------------------------
-- files and output

--- x rounded to float32, as a Lua number
function M.f32(x) return (string.unpack("<f", string.pack("<f", x))) end

function M.read_all(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function M.write_all(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local tmp, made = nil, {}
--- scratch(name): a fresh path for a file the test writes; removed by finish()
function M.scratch(name)
  tmp = tmp or os.tmpname() -- a file of our own: the paths hang off its name
  local p = tmp .. "." .. name
  made[#made + 1] = p
  return p
end

--- capture_stderr(fn): what the library writes to io.stderr while fn runs (it looks
--- io.stderr up at call time, so replacing the field is enough); fn's error is re-raised
function M.capture_stderr(fn)
  local buf, saved = {}, io.stderr
  io.stderr = {write = function(self, ...)
    for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
    return self
  end}
  local ok, err = pcall(fn)
  io.stderr = saved
  if not ok then error(err, 0) end
  return table.concat(buf)
end

-- ---------------------------------------------------------------------------------
-- a tiny runner

local failures, count = {}, 0

--- case(name, fn): run one test case; a failure is recorded (with traceback) and the
--- file goes on, so one run shows every broken case.
function M.case(name, fn)
  count = count + 1
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    failures[#failures + 1] = name .. ": " .. tostring(err):match("^[^\n]*")
    io.stderr:write("FAIL ", name, "\n", tostring(err), "\n\n")
  end
end

--- finish(): print a summary and raise if any case failed.
function M.finish(file)
  for _, p in ipairs(made) do os.remove(p) end
  if tmp then os.remove(tmp) end
  if #failures > 0 then
    error(("%s: %d of %d cases failed:\n  %s"):format(file or "tests", #failures, count,
      table.concat(failures, "\n  ")), 0)
  end
  print(("%s: all %d cases passed"):format(file or "tests", count))
end

return M
