-- lurn.save / lurn.load: safetensors round trips, the bytes on disk, a file written by
-- Python (tests/fixtures/gen_safetensors.py), and failures that must raise clear errors
-- and leave existing files alone.
local lurn = require "lurn"
local T = require "testing"
local close, eq, err, shape = T.assert_close, T.assert_equal, T.assert_error, T.assert_shape
local case = T.case

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local fixture = here .. "/../fixtures/python_written.safetensors"

local function scratch(name) return T.scratch(name .. ".safetensors") end
local read_all, write_all, f32 = T.read_all, T.write_all, T.f32
local function at(t, i) return t:view(-1):narrow(0, i, 1):item() end           -- exact, 0-based

case("round trip: float32, int64, bool, 0-d, empty, dotted names, metadata", function()
  local p = scratch("roundtrip")
  local w = lurn.tensor({{0.5, -1.25, 3}, {1e-30, -0.0, 65504}})
  local tensors = {
    ["fc1.weight"] = w,
    ["fc1.bias"] = lurn.tensor({1.5, -2.5}),
    steps = lurn.tensor({math.mininteger, math.maxinteger, 0, -1}),
    mask = lurn.tensor({{true, false}, {false, true}}),
    scale = lurn.tensor(2.5),
    none = lurn.zeros({0, 3}),
  }
  lurn.save(tensors, p, {metadata = {epoch = "3", note = "λ \"quoted\"\n"}})
  local t, meta = lurn.load(p)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  eq(n, 6, "six tensors")
  eq(meta, {epoch = "3", note = "λ \"quoted\"\n"}, "metadata")
  close(t["fc1.weight"], w, 0, 0)
  eq(t["fc1.weight"].dtype, "float32")
  eq(1 / at(t["fc1.weight"], 4), -math.huge, "-0.0 keeps its sign")
  eq(t.steps.dtype, "int64")
  eq({at(t.steps, 0), at(t.steps, 1), at(t.steps, 2), at(t.steps, 3)},
     {math.mininteger, math.maxinteger, 0, -1}, "int64 extremes are exact")
  eq(t.mask.dtype, "bool")
  eq(t.mask:totable(), {{true, false}, {false, true}})
  shape(t.scale, {}); eq(t.scale:item(), 2.5)
  shape(t.none, {0, 3})
  eq(t["fc1.weight"].requires_grad, false)
end)

case("non-contiguous tensors are written contiguously", function()
  local p = scratch("noncontig")
  local x = lurn.arange(12):view(3, 4)
  local xt, col = x:t(), x:narrow(1, 1, 2)
  eq(xt:is_contiguous(), false); eq(col:is_contiguous(), false)
  lurn.save({xt = xt, col = col, f = x:float():t()}, p)
  local t = lurn.load(p)
  shape(t.xt, {4, 3}); eq(t.xt:totable(), xt:totable())
  shape(t.col, {3, 2}); eq(t.col:totable(), {{1, 2}, {5, 6}, {9, 10}})
  eq(t.f:totable(), x:float():t():totable())
  eq(t.xt:is_contiguous(), true)
end)

case("the bytes on disk: header length, JSON, alignment, little-endian data", function()
  local p = scratch("bytes")
  lurn.save({w = lurn.tensor({{1, 2, 3}, {4, 5, 6}}, "float32"), b = lurn.tensor({true, false, true}),
             n = lurn.tensor({-2, 7})}, p, {metadata = {k = "v"}})
  local s = read_all(p)
  local hl = string.unpack("<I8", s)
  eq((8 + hl) % 8, 0, "data starts 8-byte aligned")
  local header = s:sub(9, 8 + hl)
  local json = header:gsub(" +$", "")
  eq(header:sub(#json + 1), (" "):rep(hl - #json), "padded with spaces")
  -- largest dtype first, then by name: n (I64), w (F32), b (BOOL)
  eq(json, '{"__metadata__":{"k":"v"},' ..
     '"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' ..
     '"w":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},' ..
     '"b":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]}}')
  eq(#s, 8 + hl + 43, "file size")
  local d = 8 + hl + 1
  eq({string.unpack("<i8<i8", s, d)}, {-2, 7, d + 16}, "int64 data")
  eq({string.unpack("<f<f<f<f<f<f", s, d + 16)}, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, d + 40}, "float32 data")
  eq(s:sub(d + 40), "\1\0\1", "bool data")
end)

case("a file written by Python (NumPy) reads back exactly", function()
  local t, meta = lurn.load(fixture)
  eq(meta, {format = "pt", writer = "gen_safetensors.py", unicode = "λ ✓ 😀"})
  close(t.f32:narrow(1, 0, 2):narrow(0, 0, 1), {{0.5, -1.25}}, 0, 0)
  eq(at(t.f32, 2), 2.0 ^ -149, "float32 subnormal")
  eq(1 / at(t.f32, 3), -math.huge, "-0.0")
  eq(at(t.f32, 4), math.huge); local nan = at(t.f32, 5); eq(nan ~= nan, true, "NaN")
  shape(t.f32, {2, 3})

  eq(t.f64.dtype, "float32", "F64 becomes float32")
  eq(t.f64:totable(), {f32(1 / 3), math.huge, -2.5, 0.0})

  eq(t.f16.dtype, "float32")
  shape(t.f16, {3, 4})
  local h = T.values(t.f16)
  eq({h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]},
     {1.0, -2.0, 65504.0, 2.0 ^ -24, 3 * 2.0 ^ -24, 2.0 ^ -14, math.huge, -math.huge},
     "F16 normals, subnormals and infinities")
  eq(h[9] ~= h[9], true, "F16 NaN")
  eq(1 / h[10], -math.huge, "F16 -0.0")
  eq({h[11], h[12]}, {0.333251953125, -(2.0 ^ -15)})

  local b = T.values(t.bf16)
  eq({b[1], b[2], b[3], b[4], b[5]}, {1.0, -3.140625, 2.0 ^ -133, (2 - 2.0 ^ -7) * 2.0 ^ 127, -math.huge},
     "BF16 values, subnormal included")
  eq(b[6] ~= b[6], true, "BF16 NaN")

  eq(t.i64.dtype, "int64")
  eq({at(t.i64, 0), at(t.i64, 1), at(t.i64, 2), at(t.i64, 3), at(t.i64, 4)},
     {math.mininteger, math.maxinteger, 0, -1, 42})
  eq(t.i32.dtype, "int64", "I32 becomes int64")
  eq(t.i32:totable(), {{-2147483648, 2147483647}, {-7, 0}})
  eq(t.u8.dtype, "int64", "U8 becomes int64")
  eq(t.u8:totable(), {0, 255, 7})
  eq(t.mask:totable(), {true, false, true})
  shape(t.scalar, {}); eq(t.scalar:item(), 7.5)
  shape(t.empty, {0, 3})
  eq(t["layer.λ"]:totable(), {3}, "a \\u-escaped name")
end)

case("a lurn file loads back into what Python wrote (save . load = id)", function()
  local p = scratch("resave")
  local t, meta = lurn.load(fixture)
  lurn.save(t, p, {metadata = meta})
  local u, meta2 = lurn.load(p)
  eq(meta2, meta)
  for k, v in pairs(t) do
    eq(u[k].dtype, v.dtype, k)
    close(u[k], v, 0, 0, k)
  end
end)

case("argument errors name the bad key and leave the file alone", function()
  local p = scratch("args")
  local x = lurn.ones(2)
  lurn.save({x = x}, p)
  local before = read_all(p)
  err(function() lurn.save({x, y = x}, p) end, {"keys must be strings", "number key 1"})
  err(function() lurn.save({[true] = x}, p) end, "boolean key true")
  err(function() lurn.save({["fc1.weight"] = "w"}, p) end, "'fc1.weight' is a string, expected a tensor")
  err(function() lurn.save({["a\0b"] = x}, p) end, "NUL")
  err(function() lurn.save({["__metadata__"] = x}, p) end, "reserved")
  err(function() lurn.save({x = x}, p, {metadata = {epoch = 3}}) end, "metadata 'epoch' is a number, expected a string")
  err(function() lurn.save({x = x}, p, {metadata = "v1"}) end, "metadata must be a table")
  err(function() lurn.save({x = x}, p, {meta = {}}) end, "unknown option")
  err(function() lurn.save(x, p) end, "table expected")
  err(function() lurn.save({x = x}) end, "string expected")
  local freed = lurn.ones(1); freed:free()
  err(function() lurn.save({f = freed}, p) end, "freed")
  err(function() lurn.load() end, "string expected")
  eq(read_all(p) == before, true, "the existing file is unchanged")
end)

case("a save that cannot write raises and leaves an existing file intact", function()
  local p = scratch("keep")
  lurn.save({x = lurn.ones(3)}, p)
  local before = read_all(p)
  local nodir = T.scratch("missing/sub/x.safetensors")
  err(function() lurn.save({x = lurn.zeros(3)}, nodir) end,
      {"save '" .. nodir .. "'", "No such file or directory"})
  local under_file = p .. "/x.safetensors" -- the "directory" is a regular file
  err(function() lurn.save({x = lurn.zeros(3)}, under_file) end, {under_file, "Not a directory"})
  eq(read_all(p) == before, true, "the existing file is unchanged")
  close(lurn.load(p).x, {1, 1, 1})
end)

case("loading a truncated or corrupt file raises an error naming the file", function()
  local good = scratch("good")
  lurn.save({w = lurn.ones(4, 4)}, good)
  local s = read_all(good)
  local cut = scratch("cut")
  write_all(cut, s:sub(1, #s - 5))
  err(function() lurn.load(cut) end, {cut, "truncated file?"})
  write_all(cut, s:sub(1, 20))
  err(function() lurn.load(cut) end, {cut, "runs past the end"})
  write_all(cut, s:sub(1, 5))
  err(function() lurn.load(cut) end, {cut, "too short"})
  write_all(cut, s:gsub('"F32"', '"F99"', 1))
  err(function() lurn.load(cut) end, {cut, "tensor 'w'", "unknown dtype 'F99'"})
  err(function() lurn.load(T.scratch("nope")) end, {T.scratch("nope"), "cannot open"})
end)

case("an empty table makes a valid file", function()
  local p = scratch("empty")
  lurn.save({}, p)
  local t, meta = lurn.load(p)
  eq(next(t), nil); eq(next(meta), nil)
  eq(#read_all(p), 16)
end)

case("repeated save/load keeps memory flat", function()
  local p = scratch("loop")
  local w = lurn.randn(64, 64)
  collectgarbage()
  local live0 = lurn.memory().live_bytes
  for _ = 1, 200 do
    lurn.save({w = w}, p)
    local t = lurn.load(p)
    assert(t.w)
  end
  collectgarbage(); collectgarbage()
  eq(lurn.memory().live_bytes, live0, "tensor bytes after the loop")
end)

T.finish("test_checkpoint_io")
