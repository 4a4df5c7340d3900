-- What fuzz_lua_api (tests/fuzz/fuzz_lua_api.c) found, as plain Lua: the crash inputs in
-- tests/fuzz/corpus_lua_api/ only mean these scripts as long as the fuzzer's op table is
-- unchanged, these cases do not depend on it. In the ASan + UBSan build each of them was
-- a sanitizer report (undefined behaviour, or a leak); here they also pin the results.
local lurn = require "lurn"
local T = require "testing"
local eq, err, case = T.assert_equal, T.assert_error, T.case

local MIN, MAX = math.mininteger, math.maxinteger

case("float -> int64 out of range or NaN gives INT64_MIN (as x86, NumPy, PyTorch)", function()
  eq(lurn.full({2}, 1e30, "int64"):totable(), {MIN, MIN}, "full")
  eq(lurn.zeros(2, "int64"):fill_(-1e30):totable(), {MIN, MIN}, "fill_")
  eq(lurn.zeros(2, 2, "int64"):t():fill_(0 / 0):totable(), {{MIN, MIN}, {MIN, MIN}}, "NaN")
  eq(lurn.tensor({0 / 0, 1e30, -1e30, -2.9, 2.9}):long():totable(), {MIN, MIN, MIN, -2, 2},
     "long()")
  eq(lurn.tensor({1e19}):to("int64"):item(), MIN, "to('int64')")
  -- int64 powers are computed in integers (exact; overflow wraps, as in PyTorch and NumPy),
  -- no longer through a double; 0 to a negative power stays INT64_MIN, as 1/0 converts
  local six40 = 1
  for _ = 1, 40 do six40 = six40 * 6 end -- Lua's integers wrap the same way
  local big = lurn.tensor({6, 0}, "int64") ^ lurn.tensor({40, -1}, "int64")
  eq(big:totable(), {six40, MIN}, "int64 pow overflowing, and 0^-1")
end)

case("x.grad = x (or a result of x) is a detached alias: no reference cycle", function()
  local x = lurn.ones(3, {requires_grad = true})
  x.grad = x
  eq(x.grad:totable(), {1, 1, 1})
  eq(x.grad.requires_grad, false, "the stored grad has no history")
  local y = lurn.ones(2, {requires_grad = true})
  y.grad = y * 2 -- its node holds y
  eq(y.grad:totable(), {2, 2})
  eq(y.grad.grad_fn, nil)
  local z = lurn.zeros(2, {requires_grad = true})
  local g = lurn.zeros(2)
  z.grad = g
  lurn.no_grad(function() g:fill_(5) end)
  eq(z.grad:totable(), {5, 5}, "the alias shares the assigned tensor's data")
  z:sum():backward()
  eq(g:totable(), {6, 6}, "backward accumulates into it in place")
end)

case("view/expand to shapes with a 0 and huge sizes: refused, no stride overflow", function()
  local e = lurn.zeros(0, 3)
  err(function() return e:view(MAX, 0, 6, 1, 1000000000000) end, {"view", "too many elements"})
  err(function() return e:reshape(0, MAX, 2) end, {"reshape", "too many elements"})
  eq(e:view(MAX, 0):size(0), MAX, "a product of non-zero sizes that fits is still fine")
  err(function() return lurn.zeros(1, 0):expand(4, MAX, 0) end, {"expand", "too many elements"})
  eq(lurn.zeros(1, 0):expand(MAX, 0):numel(), 0)
end)

case("int64 sum wraps around like int64 add (no overflow trap)", function()
  -- (lurn.tensor: lurn.full takes its value through a double, which cannot hold MAX)
  eq(lurn.tensor({MAX, MAX}):sum():item(), -2)
  eq(lurn.tensor({{MAX, MAX}, {MIN, -1}}):sum(1):totable(), {-2, MAX})
  eq((lurn.tensor({MAX}) + lurn.tensor({MAX})):item(), -2, "as add does")
end)

case("int64 extremes are printed, compared and reduced exactly", function()
  local t = lurn.tensor({1, MAX, MAX - 1, MIN})
  local s = tostring(t)
  for _, v in ipairs({"9223372036854775807", "9223372036854775806", "-9223372036854775808"}) do
    assert(s:find(v, 1, true), "tostring shows " .. v .. ": " .. s)
  end
  eq(tostring(lurn.tensor(MAX)), "tensor(9223372036854775807, dtype=lurn.int64)")
  eq(t:max():item(), MAX, "max")
  eq(t:min():item(), MIN, "min")
  eq(t:argmax():item(), 1, "argmax: MAX - 1 and MAX differ as int64, not as doubles")
  local v, i = t:view(2, 2):max(1)
  eq(v:totable(), {MAX, MAX - 1})
  eq(i:totable(), {1, 0})
  eq(lurn.tensor({MAX - 1, MAX}):argmax():item(), 1)
end)

T.finish("test_fuzz_regressions")
