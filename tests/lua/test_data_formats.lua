-- lurn.read_npy / save_npy / read_idx / read_csv: round trips from Lua, the files NumPy
-- and Python wrote (tests/fixtures/gen_data_formats.py) read back with exact values,
-- and clear errors (naming the file) for malformed files and bad arguments.
local lurn = require "lurn"
local T = require "testing"
local eq, err, shape = T.assert_equal, T.assert_error, T.assert_shape
local case = T.case

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local dir = here .. "/../fixtures/data_formats/"
local function fx(name) return dir .. name end

local scratch, read_all, write_all, f32 = T.scratch, T.read_all, T.write_all, T.f32
local function isnan(x) return x ~= x end

-- ---------------------------------------------------------------------------------
-- .npy

case("save_npy / read_npy round trip: float32, int64, bool, 0-d, empty, views", function()
  local p = scratch("rt.npy")
  local w = lurn.tensor({{0.5, -1.25, 3}, {1e-30, -0.0, 65504}})
  lurn.save_npy(w, p)
  local r = lurn.read_npy(p)
  eq(r.dtype, "float32"); shape(r, {2, 3})
  eq(r:totable(), w:totable())
  eq(1 / r:totable()[2][2], -math.huge, "-0.0 keeps its sign")
  local l = lurn.tensor({math.mininteger, math.maxinteger, 0, -1})
  lurn.save_npy(l, p)
  r = lurn.read_npy(p)
  eq(r.dtype, "int64"); eq(r:totable(), {math.mininteger, math.maxinteger, 0, -1})
  lurn.save_npy(lurn.tensor({{true, false}, {false, true}}), p)
  eq(lurn.read_npy(p):totable(), {{true, false}, {false, true}})
  lurn.save_npy(lurn.tensor(2.5), p)
  r = lurn.read_npy(p); shape(r, {}); eq(r:item(), 2.5)
  lurn.save_npy(lurn.zeros({0, 3}), p)
  shape(lurn.read_npy(p), {0, 3})
  local x = lurn.arange(12):view(3, 4)
  lurn.save_npy(x:t(), p) -- not contiguous: written in row-major order of the view
  r = lurn.read_npy(p)
  shape(r, {4, 3}); eq(r:totable(), x:t():totable())
end)

case("save_npy writes exactly what np.save writes", function()
  local p = scratch("bytes.npy")
  lurn.save_npy(lurn.tensor({{0.5, -1.25, 3.0}, {1e-30, -0.0, 65504.0}}), p)
  eq(read_all(p) == read_all(fx("w_f32.npy")), true, "float32 [2, 3]")
  lurn.save_npy(lurn.tensor({math.mininteger, math.maxinteger, 0, -1, 42}), p)
  eq(read_all(p) == read_all(fx("w_i64.npy")), true, "int64 [5]")
  lurn.save_npy(lurn.tensor({{true, false}, {false, true}}), p)
  eq(read_all(p) == read_all(fx("w_bool.npy")), true, "bool [2, 2]")
  lurn.save_npy(lurn.tensor(2.5), p)
  eq(read_all(p) == read_all(fx("w_scalar.npy")), true, "0-d")
  local s = read_all(p)
  eq(s:sub(1, 8), "\x93NUMPY\1\0", "magic and version 1.0")
  local hl = string.unpack("<I2", s, 9)
  eq((10 + hl) % 64, 0, "data 64-byte aligned")
end)

case("files written by NumPy: every dtype, byte order and version, exact values", function()
  local t = lurn.read_npy(fx("npy_f4.npy"))
  eq(t.dtype, "float32"); shape(t, {2, 3})
  local v = T.values(t)
  eq({v[1], v[2], v[3], v[5]}, {0.5, -1.25, 2.0 ^ -149, math.huge})
  eq(1 / v[4], -math.huge, "-0.0"); eq(isnan(v[6]), true, "NaN")
  t = lurn.read_npy(fx("npy_f8.npy"))
  eq(t.dtype, "float32", "f8 becomes float32")
  eq(t:totable(), {f32(1 / 3), math.huge, -2.5, 0.0})
  t = lurn.read_npy(fx("npy_i8.npy"))
  eq(t.dtype, "int64"); eq(t:totable(), {math.mininteger, math.maxinteger, 0, -1, 42})
  t = lurn.read_npy(fx("npy_i4.npy"))
  eq(t.dtype, "int64", "i4 becomes int64"); eq(t:totable(), {{-2147483648, 2147483647}, {-7, 0}})
  eq(lurn.read_npy(fx("npy_i2.npy")):totable(), {-32768, 32767, -1})
  eq(lurn.read_npy(fx("npy_i1.npy")):totable(), {-128, 127, -1})
  t = lurn.read_npy(fx("npy_u1.npy"))
  eq(t.dtype, "int64", "u1 becomes int64"); eq(t:totable(), {{{0, 255, 7}}})
  eq(lurn.read_npy(fx("npy_u2.npy")):totable(), {65535, 0})
  eq(lurn.read_npy(fx("npy_u4.npy")):totable(), {4294967295, 1})
  t = lurn.read_npy(fx("npy_b1.npy"))
  eq(t.dtype, "bool"); eq(t:totable(), {{true, false, true}})
  eq(lurn.read_npy(fx("npy_be_f4.npy")):totable(), {1.5, -2.0, 3.25}, "big-endian f4")
  t = lurn.read_npy(fx("npy_be_f8.npy"))
  eq(t:totable(), {{f32(1 / 3)}, {f32(-1e-310)}}, "big-endian f8")
  eq(lurn.read_npy(fx("npy_be_i8.npy")):totable(), {1, -2, 1 << 40}, "big-endian i8")
  eq(lurn.read_npy(fx("npy_be_i4.npy")):totable(), {-7, 2147483647}, "big-endian i4")
  t = lurn.read_npy(fx("npy_scalar.npy")); shape(t, {}); eq(t:item(), 7.5)
  shape(lurn.read_npy(fx("npy_empty.npy")), {0, 3})
  eq(lurn.read_npy(fx("npy_v2.npy")):totable(), {1.0, 2.0, 3.0}, "format 2.0")
  eq(lurn.read_npy(fx("npy_v3.npy")):totable(), {{0, 1, 2}, {3, 4, 5}}, "format 3.0")
  eq(lurn.read_npy(fx("npy_fortran_1d.npy")):totable(), {{1.0, 2.0}}, "a Fortran-order row")
end)

case("refused .npy files say why and name the file", function()
  local function refused(name, why)
    err(function() lurn.read_npy(fx(name)) end, {"read_npy '" .. fx(name) .. "'", why}, name)
  end
  refused("npy_fortran.npy", "fortran_order is True (column-major data, shape [2, 3]): lurn reads C order only")
  refused("npy_object.npy", "object array (pickled Python objects): lurn never unpickles")
  refused("npy_structured.npy", "structured dtype")
  refused("npy_f2.npy", "unsupported dtype '<f2'")
  refused("npy_u8.npy", "(uint64) may not fit int64")
  local p = scratch("bad.npy")
  local good = read_all(fx("npy_f4.npy"))
  write_all(p, good:sub(1, #good - 1))
  err(function() lurn.read_npy(p) end, {p, "truncated: shape [2, 3] needs 24 data bytes but the file holds 23"})
  write_all(p, good .. "x")
  err(function() lurn.read_npy(p) end, {p, "1 stray bytes after the data"})
  write_all(p, "PK\3\4")
  err(function() lurn.read_npy(p) end, {p, "not a .npy file"})
  write_all(p, (good:gsub("'shape': %(2, 3%)", "'shape': (2, -3)")))
  err(function() lurn.read_npy(p) end, {p, "negative dimension"})
  err(function() lurn.read_npy(T.scratch("missing.npy")) end, {"cannot open", "No such file"})
end)

case("save_npy argument errors; a failed save leaves the file alone", function()
  local p = scratch("keep.npy")
  lurn.save_npy(lurn.ones(3), p)
  local before = read_all(p)
  err(function() lurn.save_npy(p, lurn.ones(3)) end, "tensor")
  err(function() lurn.save_npy(lurn.ones(3)) end, "string expected")
  err(function() lurn.save_npy(lurn.ones(3), "a\0b") end, "NUL")
  local nodir = T.scratch("missing/x.npy")
  err(function() lurn.save_npy(lurn.zeros(3), nodir) end, {"save_npy '" .. nodir .. "'", "No such file"})
  err(function() lurn.save_npy(lurn.zeros(3), p .. "/x.npy") end, "Not a directory")
  eq(read_all(p) == before, true, "unchanged")
  local freed = lurn.ones(1); freed:free()
  err(function() lurn.save_npy(freed, p) end, "freed")
end)

-- ---------------------------------------------------------------------------------
-- IDX

local images = {{{0, 1}, {254, 255}}, {{10, 20}, {30, 40}}, {{128, 0}, {0, 7}}}

case("read_idx: plain, gzip (told by the magic bytes), two gzip members", function()
  for _, name in ipairs({"idx_images.idx", "idx_images.idx.gz", "idx_images_2members.idx.gz"}) do
    local t = lurn.read_idx(fx(name))
    eq(t.dtype, "int64", name); shape(t, {3, 2, 2}, name)
    eq(t:totable(), images, name)
    t = lurn.read_idx(fx(name), {dtype = "float32"})
    eq(t.dtype, "float32", name); eq(t:totable(), images, name)
  end
  local y = lurn.read_idx(fx("idx_labels_gzip.bin"))
  eq(y:totable(), {9, 0, 3, 1, 7})
  local x = lurn.read_idx(fx("idx_images.idx"), {dtype = "float32"}) / 255 -- images to [0, 1]
  eq(x:totable()[1][2][2], f32(1.0))
end)

case("read_idx: every IDX type", function()
  eq(lurn.read_idx(fx("idx_sbyte.idx")):totable(), {-128, 127, -1})
  eq(lurn.read_idx(fx("idx_short.idx")):totable(), {{-32768, 32767}, {-1, 0}})
  eq(lurn.read_idx(fx("idx_int.idx")):totable(), {-2147483648, 2147483647, -7})
  local t = lurn.read_idx(fx("idx_float.idx"))
  eq(t.dtype, "float32"); eq(t:totable(), {0.5, -1.25, math.huge})
  t = lurn.read_idx(fx("idx_double.idx"))
  eq(t.dtype, "float32"); eq(t:totable(), {f32(1 / 3), math.huge, -2.5})
  eq(lurn.read_idx(fx("idx_int.idx"), {dtype = "int64"}).dtype, "int64")
end)

case("read_idx errors name the file and the problem", function()
  local p = scratch("bad.idx")
  local good = read_all(fx("idx_images.idx"))
  write_all(p, good:sub(1, -2))
  err(function() lurn.read_idx(p) end, {"read_idx '" .. p .. "'", "truncated: ubyte [3, 2, 2] needs 12 data bytes but the file holds 11"})
  write_all(p, "\1\2" .. good:sub(3))
  err(function() lurn.read_idx(p) end, {p, "not an IDX file"})
  local gz = read_all(fx("idx_images.idx.gz"))
  write_all(p, gz:sub(1, -10))
  err(function() lurn.read_idx(p) end, {p, "truncated gzip stream"})
  write_all(p, gz:sub(1, -9) .. "\0\0\0\0" .. gz:sub(-4))
  err(function() lurn.read_idx(p) end, {p, "corrupt gzip data (incorrect data check)"})
  err(function() lurn.read_idx(fx("idx_double.idx"), {dtype = "int64"}) end, "double data cannot be read as int64")
  err(function() lurn.read_idx(fx("idx_images.idx"), {dtype = "bool"}) end, "dtype must be \"float32\" or \"int64\"")
  err(function() lurn.read_idx(fx("idx_images.idx"), {type = "float32"}) end, "unknown option type")
  err(function() lurn.read_idx(fx("idx_images.idx"), "float32") end, "table expected")
  err(function() lurn.read_idx(T.scratch("missing.idx")) end, {"cannot open"})
end)

-- ---------------------------------------------------------------------------------
-- CSV

case("read_csv: quotes, \"\" escapes, a multi-line field, CRLF, columns by name and index", function()
  local X, names = lurn.read_csv(fx("csv_quoted.csv"), {columns = {1, 'say "hi"', "value"}})
  eq(X.dtype, "float32"); shape(X, {4, 3})
  eq(names, {"id", 'say "hi"', "value"})
  local v = X:totable()
  eq(v[1], {1, 2.5, -1000}); eq(v[2], {2, 0.5, 3})
  eq({v[3][1], isnan(v[3][2]), v[3][3]}, {3, true, -math.huge})
  eq(v[4], {4, f32(0.01), f32(0.1)})
  -- the text column makes a plain read fail, naming line, column and text
  err(function() lurn.read_csv(fx("csv_quoted.csv")) end,
      {"read_csv '" .. fx("csv_quoted.csv") .. "'", "line 2, column 2 ('name, full'): 'Ann' is not a number"})
end)

case("read_csv: np.savetxt's text gives the exact float32 values", function()
  local X, names = lurn.read_csv(fx("csv_savetxt.csv"))
  eq(names, {"x", "y", "z"})
  eq(X:totable(), lurn.read_npy(fx("csv_savetxt_values.npy")):totable())
end)

case("read_csv: header = false, delimiter, LF, no final newline", function()
  local p = scratch("plain.csv")
  write_all(p, "1;2;3\n4;5;6")
  local X, names = lurn.read_csv(p, {header = false, delimiter = ";"})
  eq(names, nil); eq(X:totable(), {{1, 2, 3}, {4, 5, 6}})
  X = lurn.read_csv(p, {header = false, delimiter = ";", columns = {3, 1}})
  eq(X:totable(), {{3, 1}, {6, 4}})
  write_all(p, "a,b\n")
  X, names = lurn.read_csv(p)
  shape(X, {0, 2}); eq(names, {"a", "b"})
end)

case("read_csv errors: bad cells, ragged rows, bad options", function()
  local p = scratch("bad.csv")
  write_all(p, "a,b\n1,2\n3,\n")
  err(function() lurn.read_csv(p) end, {"read_csv '" .. p .. "'", "line 3, column 2 ('b'): empty cell"})
  write_all(p, "a,b\n1,2\n3,4,5\n")
  err(function() lurn.read_csv(p) end, {p, "line 3 has 3 fields, expected 2"})
  write_all(p, "a,b\n1,2\n")
  err(function() lurn.read_csv(p, {columns = {"c"}}) end, "no column named 'c' (the columns are 'a', 'b')")
  err(function() lurn.read_csv(p, {columns = {3}}) end, "column 3 is out of range (the file has 2 columns)")
  err(function() lurn.read_csv(p, {columns = {0}}) end, "1-based index")
  err(function() lurn.read_csv(p, {columns = {1.5}}) end, "1-based index")
  err(function() lurn.read_csv(p, {columns = {}}) end, "columns is empty")
  err(function() lurn.read_csv(p, {columns = "a"}) end, "columns must be a list")
  err(function() lurn.read_csv(p, {header = 1}) end, "header must be a boolean")
  err(function() lurn.read_csv(p, {delimiter = ";;"}) end, "delimiter must be one character")
  err(function() lurn.read_csv(p, {delimiter = '"'}) end, "delimiter must be one character")
  err(function() lurn.read_csv(p, {sep = ","}) end, "unknown option sep")
  err(function() lurn.read_csv(p, {header = false, columns = {"a"}}) end, "there is no header")
  err(function() lurn.read_csv(T.scratch("missing.csv")) end, "cannot open")
end)

case("errors and results leave no tensor memory behind", function()
  collectgarbage(); collectgarbage()
  local live0 = lurn.memory().live_bytes
  for _ = 1, 50 do
    pcall(lurn.read_npy, fx("npy_fortran.npy"))
    pcall(lurn.read_csv, fx("csv_quoted.csv"))
    local X, names = lurn.read_csv(fx("csv_quoted.csv"), {columns = {1}})
    assert(X and names)
    assert(lurn.read_idx(fx("idx_images.idx.gz")))
  end
  collectgarbage(); collectgarbage()
  eq(lurn.memory().live_bytes, live0, "tensor bytes after the loop")
end)

T.finish("test_data_formats")
