-- int64 tensors hold every Lua integer exactly. A Lua number that reaches an int64 tensor
-- (full, full_like, fill_, arithmetic and comparison with a number, where, clamp, arange)
-- must not pass through a double when it is an integer: a double has 53 bits, so
-- 2^53 + 1 rounds to 2^53 and math.maxinteger to 2^63, which does not convert back
-- (it gave INT64_MIN). Values are read back with item()/totable(), which are exact.
local lurn = require "lurn"
local T = require "testing"
local case = T.case

local MAX, MIN = math.maxinteger, math.mininteger
local P53 = (1 << 53) + 1 -- the first integer a double cannot hold
local P62 = 1 << 62

-- exact equality of Lua integers (an error names both, in full)
local function same(got, want, what)
  if math.type(got) ~= "integer" or got ~= want then
    error(("%s: got %s (%s), expected %d"):format(what, tostring(got),
      math.type(got) or type(got), want), 2)
  end
end

local function all_same(t, want, what)
  if t.dtype ~= "int64" then error(what .. ": dtype " .. t.dtype .. ", expected int64", 2) end
  local _, vals = T.flatten(t)
  for i, v in ipairs(vals) do
    if math.type(v) ~= "integer" or v ~= want then
      error(("%s: element %d is %s, expected %d"):format(what, i, tostring(v), want), 2)
    end
  end
end

-- a value list compared element by element, exactly
local function list_same(t, want, what)
  local got = t:totable()
  if #got ~= #want then error(("%s: %d elements, expected %d"):format(what, #got, #want), 2) end
  for i = 1, #want do
    if math.type(got[i]) ~= "integer" or got[i] ~= want[i] then
      error(("%s: element %d is %s, expected %d"):format(what, i, tostring(got[i]), want[i]), 2)
    end
  end
end

local function bools(t, want, what)
  local got = t:totable()
  for i = 1, #want do
    if got[i] ~= want[i] then
      error(("%s: element %d is %s, expected %s"):format(what, i, tostring(got[i]), tostring(want[i])), 2)
    end
  end
end

case("full and full_like: math.maxinteger, math.mininteger, 2^53 + 1", function()
  for _, v in ipairs({MAX, MIN, P53, -P53, P62 + 1, MAX - 1}) do
    all_same(lurn.full({3}, v), v, "full " .. v)
    all_same(lurn.full({2, 2}, v, "int64"), v, "full int64 " .. v)
    all_same(lurn.full({}, v), v, "full 0-d " .. v)
    all_same(lurn.full_like(lurn.zeros(2, "int64"), v), v, "full_like " .. v)
    all_same(lurn.full_like(lurn.zeros(3), v, "int64"), v, "full_like from float " .. v)
  end
  same(lurn.full({1}, MAX):item(), MAX, "item")
  -- float32 tensors keep taking the double
  T.assert_close(lurn.full({2}, MAX, "float32"), {2 ^ 63, 2 ^ 63}, 0, 1e-7)
  T.assert_close(lurn.full({2}, P53, "float32"), {2 ^ 53, 2 ^ 53}, 0, 1e-7)
end)

case("fill_ and zero_ write exact integers, also through a strided view", function()
  for _, v in ipairs({MAX, MIN, P53}) do
    all_same(lurn.zeros(4, "int64"):fill_(v), v, "fill_ " .. v)
    local m = lurn.zeros(3, 4, "int64")
    m:t():fill_(v) -- non-contiguous
    all_same(m, v, "fill_ of a transpose " .. v)
    local n = lurn.zeros(3, 4, "int64")
    n:narrow(1, 1, 2):fill_(v)
    list_same(n:narrow(0, 0, 1):view(-1), {0, v, v, 0}, "fill_ of a narrow " .. v)
  end
  all_same(lurn.full({2}, MAX):zero_(), 0, "zero_")
end)

case("arithmetic with an integer operand stays exact", function()
  local t = lurn.full({2}, P62)
  list_same(t + 1, {P62 + 1, P62 + 1}, "t + 1")
  list_same(1 + t, {P62 + 1, P62 + 1}, "1 + t")
  list_same(t:add(P53), {P62 + P53, P62 + P53}, "t:add(2^53 + 1)")
  list_same(t - 1, {P62 - 1, P62 - 1}, "t - 1")
  list_same(MAX - lurn.tensor({1, 2}), {MAX - 1, MAX - 2}, "maxinteger - t")
  list_same(lurn.tensor({P53, -3}) * 3, {P53 * 3, -9}, "t * 3")
  list_same(lurn.tensor({MAX - 5, 0}) + 5, {MAX, 5}, "up to maxinteger")
  list_same(lurn.tensor({MIN + 5, 0}) - 5, {MIN, -5}, "down to mininteger")
  -- overflow wraps, as the tensor-tensor ops (and PyTorch) do
  list_same(lurn.tensor({MAX}) + 1, {MIN}, "wraps")
  -- an integral float keeps the tensor int64, as before
  list_same(lurn.tensor({P53 - 1}) + 2.0, {P53 + 1}, "t + 2.0")
  -- powers with integer exponents: exact, not pow() in double
  list_same(lurn.tensor({3037000499, -3, 2}) ^ 2, {3037000499 * 3037000499, 9, 4}, "t ^ 2")
  local function ipow(a, n) local r = 1; for _ = 1, n do r = r * a end; return r end -- wraps
  list_same(lurn.tensor({3, 7, -5}) ^ 39, {ipow(3, 39), ipow(7, 39), ipow(-5, 39)}, "t ^ 39 wraps")
  list_same(lurn.tensor({3, 2}):pow(0), {1, 1}, "t ^ 0")
  list_same(lurn.tensor({2, 1, -1, 5}) ^ -1, {0, 1, -1, 0}, "negative exponents truncate")
  list_same(lurn.tensor({P53}):pow(lurn.tensor({1})), {P53}, "tensor ^ tensor")
end)

case("comparisons with an integer are exact", function()
  local t = lurn.tensor({MAX, MAX - 1, MIN, MIN + 1, P53, P53 - 1})
  bools(t:eq(MAX), {true, false, false, false, false, false}, "eq maxinteger")
  bools(t:ne(MAX), {false, true, true, true, true, true}, "ne maxinteger")
  bools(t:eq(MIN), {false, false, true, false, false, false}, "eq mininteger")
  bools(t:eq(P53), {false, false, false, false, true, false}, "eq 2^53 + 1")
  bools(t:lt(MAX), {false, true, true, true, true, true}, "lt maxinteger")
  bools(t:ge(MAX - 1), {true, true, false, false, false, false}, "ge maxinteger - 1")
  bools(t:gt(MIN), {true, true, false, true, true, true}, "gt mininteger")
  bools(t:le(P53 - 1), {false, false, true, true, false, true}, "le 2^53")
  bools(lurn.eq(P53, t), {false, false, false, false, true, false}, "number first")
  bools(lurn.gt(P53, t), {false, false, true, true, false, true}, "number first, gt")
end)

case("where with integer numbers", function()
  local cond = lurn.tensor({true, false})
  list_same(lurn.where(cond, MAX, lurn.tensor({1, 2})), {MAX, 2}, "where(c, maxinteger, t)")
  list_same(lurn.where(cond, lurn.tensor({1, 2}), MIN), {1, MIN}, "where(c, t, mininteger)")
  list_same(lurn.where(cond, lurn.tensor({1, 2}), P53), {1, P53}, "where(c, t, 2^53 + 1)")
end)

case("clamp of int64 tensors with integer bounds", function()
  local t = lurn.tensor({MIN, -1, 0, P53 + 1, MAX})
  list_same(t:clamp(MIN + 1, MAX - 1), {MIN + 1, -1, 0, P53 + 1, MAX - 1}, "clamp(min + 1, max - 1)")
  list_same(t:clamp(P53), {P53, P53, P53, P53 + 1, MAX}, "clamp(2^53 + 1)")
  list_same(t:clamp(nil, P53), {MIN, -1, 0, P53, P53}, "clamp(nil, 2^53 + 1)")
  list_same(t:clamp({min = -P53, max = P53}), {-P53, -1, 0, P53, P53}, "clamp{min, max}")
  -- float bounds round inwards
  list_same(lurn.tensor({-5, 0, 5}):clamp(-2.5, 2.5), {-2, 0, 2}, "float bounds")
  list_same(lurn.tensor({-5, 5}):clamp(-1e300, 1e300), {-5, 5}, "bounds beyond int64")
  T.assert_error(function() return t:clamp(MAX, MAX - 1) end,
    {"clamp", "min 9223372036854775807", "max 9223372036854775806"})
  T.assert_error(function() return lurn.tensor({1}):clamp(0.5, 0.7) end, {"clamp", "no integer", "0.5", "0.7"})
end)

case("arange with integers counts in integers", function()
  list_same(lurn.arange(P62, P62 + 3), {P62, P62 + 1, P62 + 2}, "arange(2^62, 2^62 + 3)")
  list_same(lurn.arange(MAX - 2, MAX), {MAX - 2, MAX - 1}, "up to maxinteger")
  list_same(lurn.arange(MIN, MIN + 10, 4), {MIN, MIN + 4, MIN + 8}, "from mininteger")
  list_same(lurn.arange(MAX, MIN, -P62), {MAX, MAX - P62, MAX - 2 * P62, MAX - 3 * P62}, "whole range, down")
  list_same(lurn.arange(5, 0, -2), {5, 3, 1}, "negative step")
  list_same(lurn.arange(0, 5, 7), {0}, "step past end")
  T.assert_equal(lurn.arange(3, 3).shape, {0}, "empty")
  T.assert_equal(lurn.arange(3, 0).shape, {0}, "empty, end before start")
  T.assert_error(function() return lurn.arange(MIN, MAX) end, {"too large"})
  T.assert_error(function() return lurn.arange(0, 5, 0) end, {"arange", "step 0"})
  -- float arguments, or a float dtype, still count in double
  T.assert_close(lurn.arange(0, 1, 0.25), {0, 0.25, 0.5, 0.75}, 0, 0)
  T.assert_equal(lurn.arange(0, 3, 1, "float32").dtype, "float32")
end)

T.finish("test_int64")
