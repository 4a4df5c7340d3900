-- Misuse must end in a Lua error (never a crash) whose message names the op and the
-- shapes involved. The last cases call every tensor method and module function with
-- arguments of the wrong kind; set LURN_FUZZ_VERBOSE=1 to print each call (to find the
-- one that crashed, should one ever do).
local lurn = require "lurn"
local T = require "testing"
local eq, err, case = T.assert_equal, T.assert_error, T.case

local A, B = lurn.zeros(2, 3), lurn.zeros(4, 5)

case("binary ops name the op and both shapes", function()
  for _, op in ipairs({"add", "sub", "mul", "div", "pow", "eq", "ne", "lt", "le", "gt", "ge"}) do
    err(function() return A[op](A, B) end, {op, "[2, 3]", "[4, 5]"}, op .. " method")
    err(function() return lurn[op](A, B) end, {op, "[2, 3]", "[4, 5]"}, "lurn." .. op)
  end
  err(function() return A + B end, {"add", "[2, 3]", "[4, 5]"})
  err(function() return A - B end, {"sub", "[2, 3]", "[4, 5]"})
  err(function() return A * B end, {"mul", "[2, 3]", "[4, 5]"})
  err(function() return A / B end, {"div", "[2, 3]", "[4, 5]"})
  err(function() return A ^ B end, {"pow", "[2, 3]", "[4, 5]"})
  err(function() return lurn.zeros(2, 3) + lurn.zeros(2) end, {"add", "[2, 3]", "[2]"})
  err(function() return lurn.zeros(3, 1, 2) * lurn.zeros(4, 3) end, {"mul", "[3, 1, 2]", "[4, 3]"})
  err(function() return A + "x" end, {"add", "string"})
  err(function() return {} * A end, {"mul", "table"})
  err(function() return A + true end, {"add", "boolean"})
  err(function() return A:add() end, {"add", "no value"})
  err(function() return lurn.where(lurn.zeros(2, "bool"), A, B) end, {"where", "[2, 3]", "[4, 5]"})
  err(function() return lurn.where(lurn.zeros(4, "bool"), A, A) end, {"where", "[4]", "[2, 3]"})
  err(function() return A:copy_(B) end, {"copy_", "[4, 5]", "[2, 3]"})
  err(function() return -lurn.tensor({true}) end, {"neg", "bool"})
end)

case("matmul: misaligned and unsupported shapes", function()
  err(function() return A:matmul(lurn.zeros(4, 2)) end, {"matmul", "[2, 3]", "[4, 2]"})
  err(function() return lurn.matmul(lurn.zeros(2, 3, 4), lurn.zeros(2, 5, 6)) end,
      {"matmul", "[2, 3, 4]", "[2, 5, 6]"})
  err(function() return lurn.zeros(2, 3, 4):matmul(lurn.zeros(3, 4, 5)) end,
      {"matmul", "[2, 3, 4]", "[3, 4, 5]"}, "batch dims that do not broadcast")
  err(function() return lurn.zeros(3):matmul(lurn.zeros(4)) end, {"matmul", "3", "4"})
  err(function() return lurn.zeros(3):matmul(lurn.zeros(4, 2)) end, "matmul")
  err(function() return lurn.zeros(2, 3):matmul(lurn.zeros(4)) end, "matmul")
  err(function() return lurn.tensor(1.0):matmul(A) end, {"matmul", "[]", "[2, 3]"})
  err(function() return lurn.zeros(2, 3, "int64"):matmul(lurn.zeros(3, 2)) end, {"matmul", "int64"})
  err(function() return A:mm("x") end, "tensor")
end)

case("out-of-range dims for every dim-taking op", function()
  local x = lurn.zeros(2, 3)
  local idx = lurn.tensor({0})
  local calls = {
    {"sum", function() return x:sum(2) end}, {"sum", function() return x:sum(-3) end},
    {"sum", function() return x:sum({0, 2}) end}, {"mean", function() return x:mean(2) end},
    {"mean", function() return x:mean({-3}) end},
    {"max", function() return x:max(2) end}, {"min", function() return x:min(-3) end},
    {"argmax", function() return x:argmax(2) end}, {"argmin", function() return x:argmin(5) end},
    {"softmax", function() return x:softmax(2) end},
    {"log_softmax", function() return x:log_softmax(-3) end},
    {"unsqueeze", function() return x:unsqueeze(3) end},
    {"unsqueeze", function() return x:unsqueeze(-4) end},
    {"squeeze", function() return x:squeeze(2) end},
    {"transpose", function() return x:transpose(0, 2) end},
    {"transpose", function() return x:transpose(5, 0) end},
    {"narrow", function() return x:narrow(2, 0, 1) end},
    {"index_select", function() return x:index_select(2, idx) end},
    {"cat", function() return lurn.cat({x, x}, 2) end},
    {"cat", function() return lurn.cat({x, x}, -3) end},
    {"stack", function() return lurn.stack({x, x}, 3) end},
    {"stack", function() return lurn.stack({x, x}, -4) end},
    {"size", function() return x:size(2) end},
    {"permute", function() return x:permute({0, 2}) end},
  }
  for _, c in ipairs(calls) do
    local msg = err(c[2], c[1], c[1])
    if not msg:find("out of range") then error(c[1] .. ": message does not say 'out of range': " .. msg) end
  end
  err(function() return x:sum({0, 0}) end, {"sum", "twice"})
  err(function() return x:permute({0, 0}) end, {"permute", "repeated"})
  err(function() return x:permute({0}) end, {"permute", "[2, 3]"})
  err(function() return x:permute(1, 0, 2) end, {"permute", "[2, 3]"})
  err(function() return lurn.zeros(2, 3, 4):t() end, {"t", "[2, 3, 4]", "transpose"})
  err(function() return x:sum(0.5) end, "integer")
  err(function() return x:unsqueeze("a") end, "integer")
end)

case("shape ops: invalid shapes and ranges", function()
  local x = lurn.arange(6.0):view(2, 3)
  err(function() return x:t():view(6) end, {"view", "[3, 2]", "contiguous"}, "view of a non-contiguous tensor")
  err(function() return x:narrow(1, 1, 2):view(-1) end, {"view", "[2, 2]", "contiguous"})
  err(function() return x:view(4, 2) end, {"view", "[4, 2]", "6", "[2, 3]"})
  err(function() return x:reshape(4, -1) end, {"reshape", "[4, -1]", "[2, 3]"})
  err(function() return x:view(-1, -1) end, {"view", "-1"})
  err(function() return x:view(-2, 3) end, {"view", "-2"})
  err(function() return x:narrow(1, 2, 2) end, {"narrow", "[2, 3]"})
  err(function() return x:narrow(0, 0, -1) end, {"narrow", "[2, 3]"})
  err(function() return x:narrow(0, -5, 1) end, {"narrow", "[2, 3]"})
  err(function() return lurn.tensor(1.0):narrow(0, 0, 1) end, "narrow")
  err(function() return x:expand(3, 3) end, {"expand", "[2, 3]", "[3, 3]"})
  err(function() return x:expand(3) end, {"expand", "[2, 3]", "[3]"})
  err(function() return x:expand(-1, 2, 3) end, {"expand", "[2, 3]"})
  err(function() return x:index_select(0, lurn.tensor({2})) end, {"index_select", "2", "[2, 3]"})
  err(function() return x:index_select(1, lurn.tensor({-4})) end, {"index_select", "-4", "[2, 3]"})
  err(function() return x:index_select(0, lurn.tensor({0.0})) end, {"index_select", "int64", "float32"})
  err(function() return x:index_select(0, lurn.zeros(1, 1, "int64")) end, {"index_select", "[1, 1]"})
  err(function() return x:index_select(0, {0}) end, "tensor")
  err(function() return lurn.tensor(1.0):index_select(0, lurn.tensor({0})) end, "index_select")
  err(function() return lurn.cat({x, lurn.zeros(2, 2)}) end, {"cat", "[2, 2]", "[2, 3]"})
  err(function() return lurn.cat({x, lurn.zeros(3)}, 0) end, {"cat", "[3]", "[2, 3]"})
  err(function() return lurn.cat({x, x:long()}) end, {"cat", "int64", "float32"})
  err(function() return lurn.cat({}) end, {"cat", "empty"})
  err(function() return lurn.cat({lurn.tensor(1.0)}) end, {"cat", "zero-dim"})
  err(function() return lurn.cat({x, 1}) end, {"tensors", "element 2", "number"})
  err(function() return lurn.cat(x) end, "table")
  err(function() return lurn.stack({x, lurn.zeros(3, 2)}) end, {"stack", "[3, 2]", "[2, 3]"})
  err(function() return lurn.stack({}) end, {"stack", "empty"})
  err(function() return lurn.stack({x, "a"}) end, {"element 2", "string"})
end)

case("values out: item, len, size", function()
  err(function() return lurn.zeros(3):item() end, {"item", "3 elements", "[3]"})
  err(function() return lurn.zeros(2, 2):item() end, {"item", "4 elements", "[2, 2]"})
  err(function() return lurn.zeros(0):item() end, {"item", "0 elements", "[0]"})
  err(function() return #lurn.tensor(1.0) end, {"len", "0-d"})
end)

case("other misuse", function()
  err(function() return lurn.tensor({1, 2}):mean() end, {"mean", "int64"})
  err(function() return A:clamp(1, 0) end, {"clamp", "min", "max"})
  err(function() return lurn.tensor({1, 2}):clamp(1e300) end, {"clamp", "int64"})
  err(function() return A:clamp("a") end, "number")
  err(function() return A:clamp({min = "a"}) end, "number")
  err(function() return lurn.randint(5, 5, {2}) end, {"randint", "empty"})
  err(function() return lurn.randint(0, 2, 3) end, "shape table")
  err(function() return lurn.arange(0, 5, 0) end, {"arange", "step 0"})
  err(function() return lurn.arange(0, math.huge) end, {"arange", "inf"})
  err(function() return lurn.arange() end, "arange")
  err(function() return lurn.manual_seed(-1) end, "seed")
  err(function() return lurn.manual_seed(2 ^ 32) end, "seed")
  err(function() return lurn.manual_seed(1.5) end, "integer")
  err(function() return lurn.full(2, 1) end, "table")
  err(function() return lurn.full({2}) end, "number")
  err(function() return lurn.zeros(2, "float64") end, "float64")
  err(function() return lurn.zeros(2, {dtype = "double"}) end, "double")
  err(function() return lurn.zeros(2, {}, 3) end, "unexpected argument")
  err(function() return lurn.rand(2, "int64") end, {"rand", "float32"})
  err(function() return lurn.randn(2, {dtype = "bool"}) end, {"randn", "float32"})
  err(function() return lurn.zeros(2.5) end, "integer representation")
  err(function() return lurn.zeros({2, "a"}) end, "integer")
  err(function() return A:to("float64") end, "float64")
  err(function() return A:sum("a") end, "integer")
  err(function() A.foo = 1 end, {"cannot set", "foo"})
  err(function() A[1] = 1 end, "cannot set")
  err(function() A.requires_grad = "yes" end, "boolean")
  err(function() A.grad = "g" end, "tensor")
  err(function() A.grad = lurn.zeros(3, 2) end, {"grad", "[3, 2]", "[2, 3]"})
  err(function() return A < A end, "compare")
  err(function() return A .. "x" end, "concatenate")
end)

case("ragged and malformed nested tables in lurn.tensor", function()
  err(function() return lurn.tensor({{1, 2}, {3}}) end, {"tensor", "ragged", "expected length 2", "got 1"})
  err(function() return lurn.tensor({{1, 2}, {3, 4, 5}}) end, {"ragged", "2", "3"})
  err(function() return lurn.tensor({1, {2}}) end, "ragged")
  err(function() return lurn.tensor({{1}, 2}) end, "ragged")
  err(function() return lurn.tensor({{{1}}, {{2}, {3}}}) end, "ragged")
  err(function() return lurn.tensor({{}, {1}}) end, "ragged")
  err(function() return lurn.tensor({1, "2"}) end, {"tensor", "string"})
  err(function() return lurn.tensor({1, {}}) end, "ragged")
  err(function() return lurn.tensor({true, 1}) end, {"tensor", "mixed"})
  err(function() return lurn.tensor({{{{{{{{{1}}}}}}}}}) end, {"tensor", "8"})
  err(function() return lurn.tensor("1") end, "table")
  err(function() return lurn.tensor() end, "table")
  err(function() return lurn.tensor(nil) end, "table")
  err(function() return lurn.tensor({print}) end, "function")
end)

case("absurd sizes are refused", function()
  collectgarbage()
  local before = lurn.memory().live_bytes
  err(function() return lurn.zeros(1e12) end, "too large")
  err(function() return lurn.ones(1e6, 1e6) end, "too large")
  err(function() return lurn.empty(2 ^ 40) end, "too large")
  err(function() return lurn.full({1e12}, 1.5) end, "too large")
  err(function() return lurn.rand(1e12) end, "too large")
  err(function() return lurn.randn(1e6, 1e6) end, "too large")
  err(function() return lurn.randint(0, 2, {1e12}) end, "too large")
  err(function() return lurn.arange(1e13) end, "too large")
  err(function() return lurn.arange(0, 1e300) end, "too large")
  err(function() return lurn.zeros(2 ^ 62, 4) end, "too large")
  err(function() return lurn.zeros(4, 2 ^ 62, 4, 2 ^ 62) end, "too large")
  err(function() return lurn.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "8")
  err(function() return lurn.zeros(-1) end, "negative")
  err(function() return lurn.zeros(3, -2) end, "negative")
  err(function() return lurn.zeros(1e300) end, "integer representation")
  err(function() return lurn.zeros(0):view(2 ^ 62, 4) end, {"view", "too many elements"})
  err(function() return lurn.zeros(1):expand(2 ^ 40, 2 ^ 40) end, {"expand", "too many elements"})
  err(function() return lurn.zeros(1):expand(2 ^ 40):contiguous() end, "too large")
  err(function() return lurn.zeros(1):unsqueeze(0):unsqueeze(0):unsqueeze(0):unsqueeze(0)
    :unsqueeze(0):unsqueeze(0):unsqueeze(0):unsqueeze(0) end, {"unsqueeze", "8"})
  collectgarbage()
  eq(lurn.memory().live_bytes, before, "refused allocations leave no live bytes")
end)

case("a tensor after :free() or a <close> scope", function()
  local x = lurn.ones(2, 3)
  x:free()
  local calls = {
    function() return x + 1 end, function() return 1 + x end, function() return -x end,
    function() return x:sum() end, function() return tostring(x) end, function() return #x end,
    function() return x.shape end, function() return x.dtype end, function() return x:item() end,
    function() return x:totable() end, function() return x:view(6) end,
    function() x.grad = nil end, function() return A + x end, function() return A:copy_(x) end,
    function() return lurn.cat({A, x}) end, function() return lurn.where(x, A, A) end,
    function() return lurn.where(A:gt(0), x, 1) end, function() return A:index_select(0, x) end,
    function() return A:expand_as(x) end, function() return lurn.tensor(x) end,
    function() return lurn.zeros_like(x) end, function() return x:backward() end,
    function() return lurn.matmul(A, x) end, function() return x:requires_grad_() end,
  }
  for i, f in ipairs(calls) do err(f, "freed", "call " .. i) end
  lurn.Tensor.free(x) -- freeing again is a no-op
  err(function() x:free() end, "freed", "but looking a method up on a freed tensor raises, as io")
  local kept
  do
    local y <close> = lurn.ones(4)
    kept = y
    eq(y:sum():item(), 4.0)
  end
  err(function() return kept:sum() end, "freed", "after the <close> scope")
  -- free releases the memory (of the last reference)
  collectgarbage()
  local before = lurn.memory().live_bytes
  local big = lurn.zeros(1024, 1024)
  eq(lurn.memory().live_bytes - before, 4 * 1024 * 1024)
  local v = big:view(-1)
  big:free()
  eq(lurn.memory().live_bytes - before, 4 * 1024 * 1024, "a view keeps the storage alive")
  eq(v:sum():item(), 0.0)
  v:free()
  collectgarbage()
  eq(lurn.memory().live_bytes, before, "freed")
  -- a freed tensor does not break the graph of tensors that used it
  local w = lurn.ones(3, {requires_grad = true})
  local h = w * 2
  local loss = (h * h):sum()
  h:free()
  loss:backward()
  T.assert_close(w.grad, {8, 8, 8})
end)

case("backward and autograd misuse", function()
  local x = lurn.ones(2, 3, {requires_grad = true})
  err(function() (x * 2):backward() end, {"backward", "scalar", "[2, 3]"})
  err(function() x:sum():backward(lurn.ones(2)) end, {"backward", "[2]", "[]"})
  err(function() A:sum():backward() end, {"backward", "does not require grad"})
  err(function() lurn.tensor({1, 2}):requires_grad_() end, {"requires_grad", "int64"})
  err(function() x:fill_(1) end, {"fill_", "leaf", "no_grad"})
  local y = x:sum()
  y:backward()
  err(function() y:backward() end, {"backward", "retain_graph"})
end)

-- ============================================================ wrong kinds everywhere

local verbose = os.getenv("LURN_FUZZ_VERBOSE")
local freed = lurn.ones(2); freed:free()
local function bad_values()
  -- values of every kind where tensors, numbers, shapes, dtypes or options are expected
  return {
    {"nil", nil}, {"string", "/nonexistent/dir/bad"}, {"empty table", {}},
    {"table of numbers", {1, 2}}, {"nested table", {{1}, {"a"}}}, {"boolean", true},
    {"float", 1.5}, {"negative int", -1}, {"zero", 0}, {"big int", 3}, {"function", function() end},
    {"freed tensor", freed}, {"int64 tensor", lurn.tensor({1, 0})},
    {"bool tensor", lurn.tensor({true, false})}, {"0-d tensor", lurn.tensor(2.0)},
    {"empty tensor", lurn.zeros(0)}, {"table of tensors", {lurn.ones(2), lurn.ones(2)}},
    {"coroutine", coroutine.create(function() end)},
  }
end

local function sorted_functions(t)
  local names = {}
  for k, v in pairs(t) do
    if type(v) == "function" then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

-- call fn(args...) protected; a failure must be a string message (and the process alive)
local ncalls, nerrors = 0, 0
local function probe(desc, fn, ...)
  if verbose then io.stderr:write(desc, "\n") end
  ncalls = ncalls + 1
  local ok, e = pcall(fn, ...)
  if not lurn.is_grad_enabled() then lurn.set_grad_enabled(true) end
  lurn.set_memory_limit(nil) -- lurn.set_memory_limit(3) was a valid call
  if not ok then
    nerrors = nerrors + 1
    if type(e) ~= "string" then
      error(desc .. ": error value is a " .. type(e) .. ", not a message")
    end
    if #e == 0 then error(desc .. ": empty error message") end
  end
  return ok, e
end

local function fresh()  -- a new float tensor that requires grad, and a plain one
  return lurn.randn(2, 3):requires_grad_(), lurn.randn(2, 3)
end

case("every tensor method with a bad self must raise", function()
  for _, name in ipairs(sorted_functions(lurn.Tensor)) do
    local m = lurn.Tensor[name]
    for _, b in ipairs(bad_values()) do
      if (not lurn.is_tensor(b[2]) or b[1] == "freed tensor")
         and not (name == "free" and b[1] == "freed tensor") then -- free is idempotent
        local ok = probe(name .. "(" .. b[1] .. ")", m, b[2])
        if ok and b[2] ~= nil then
          -- a method given a non-tensor self can only succeed by treating it as a
          -- number operand, which needs a tensor somewhere: there is none here
          error(("Tensor.%s(%s) succeeded without a tensor"):format(name, b[1]))
        end
      end
    end
  end
end)

case("every tensor method with bad arguments: an error or a result, never a crash", function()
  local bads = bad_values()
  for _, name in ipairs(sorted_functions(lurn.Tensor)) do
    local m = lurn.Tensor[name]
    for _, b1 in ipairs(bads) do
      local x = fresh()
      probe(("x:%s(%s)"):format(name, b1[1]), m, x, b1[2])
      local _, y = fresh()
      probe(("y:%s(%s)"):format(name, b1[1]), m, y, b1[2])
      for _, b2 in ipairs(bads) do
        local _, z = fresh()
        probe(("z:%s(%s, %s)"):format(name, b1[1], b2[1]), m, z, b1[2], b2[2])
        probe(("z:%s(0, %s, %s)"):format(name, b1[1], b2[1]), m, z, 0, b1[2], b2[2])
        probe(("z:%s(%s, 0, %s)"):format(name, b1[1], b2[1]), m, z, b1[2], 0, b2[2])
      end
    end
  end
end)

case("tensor-expecting methods reject strings, nil and tables", function()
  local x = lurn.zeros(2, 2)
  for _, name in ipairs({"add", "sub", "mul", "div", "pow", "eq", "ne", "lt", "le", "gt", "ge",
                         "matmul", "mm", "copy_", "expand_as"}) do
    for _, b in ipairs({{"string", "x"}, {"nil", nil}, {"table", {1, 2}}, {"boolean", false}}) do
      local msg = err(function() return x[name](x, b[2]) end, nil, name .. "(" .. b[1] .. ")")
      local op = name:gsub("_as$", "")   -- expand_as reports as expand
      if not (msg:find(op, 1, true) or msg:find("tensor", 1, true)) then
        error(name .. "(" .. b[1] .. "): message names neither the op nor 'tensor': " .. msg)
      end
    end
  end
  err(function() return x:index_select(0, "x") end, "tensor")
  err(function() return lurn.where("x", x, x) end, "tensor")
  err(function() return lurn.where(x:gt(0), "x", x) end, "number")
  err(function() return lurn.where(x:gt(0), x, {}) end, "number")
  err(function() return lurn.cat({x, "x"}) end, "string")
  err(function() return lurn.stack({x, {}}) end, "table")
  err(function() return lurn.zeros_like("x") end, "tensor")
  err(function() return lurn.full_like({}, 1) end, "tensor")
  err(function() return x:backward("x") end, "tensor")
end)

case("every module function with bad arguments: an error or a result, never a crash", function()
  local bads = bad_values()
  local skip = {memory = true} -- takes no arguments
  -- functions that touch files get only the paths below (a number would be a file name
  -- in the working directory)
  local function io_like(name)
    for _, p in ipairs({"save", "load", "read", "write", "open", "csv", "npy", "idx", "file"}) do
      if name:find(p, 1, true) then return true end
    end
    return false
  end
  for _, name in ipairs(sorted_functions(lurn)) do
    if io_like(name) then
      local f = lurn[name]
      local path = "/nonexistent/dir/lurn-test.safetensors"
      probe(("lurn.%s()"):format(name), f)
      probe(("lurn.%s(path)"):format(name), f, path)
      for _, b1 in ipairs(bads) do
        probe(("lurn.%s(%s, path)"):format(name, b1[1]), f, b1[2], path)
        probe(("lurn.%s({w = %s}, path)"):format(name, b1[1]), f, {w = b1[2]}, path)
        probe(("lurn.%s(path, %s)"):format(name, b1[1]), f, path, b1[2])
        probe(("lurn.%s(x, path, %s)"):format(name, b1[1]), f, {x = lurn.ones(2)}, path, b1[2])
      end
    elseif not skip[name] then
      local f = lurn[name]
      probe(("lurn.%s()"):format(name), f)
      for _, b1 in ipairs(bads) do
        probe(("lurn.%s(%s)"):format(name, b1[1]), f, b1[2])
        probe(("lurn.%s(x, %s)"):format(name, b1[1]), f, lurn.ones(2, 2), b1[2])
        for _, b2 in ipairs(bads) do
          probe(("lurn.%s(%s, %s)"):format(name, b1[1], b2[1]), f, b1[2], b2[2])
          probe(("lurn.%s(%s, %s, %s)"):format(name, b1[1], b2[1], b1[1]), f, b1[2], b2[2], b1[2])
          probe(("lurn.%s(x, %s, %s)"):format(name, b1[1], b2[1]), f, lurn.ones(2, 2), b1[2], b2[2])
        end
      end
    end
  end
  eq(lurn.is_grad_enabled(), true)
end)

case("metamethods with bad operands", function()
  local x = lurn.ones(2)
  local bads = bad_values()
  for _, b in ipairs(bads) do
    local v = b[2]
    probe("x + " .. b[1], function() return x + v end)
    probe(b[1] .. " + x", function() return v + x end)
    probe("x - " .. b[1], function() return x - v end)
    probe("x * " .. b[1], function() return x * v end)
    probe(b[1] .. " / x", function() return v / x end)
    probe("x ^ " .. b[1], function() return x ^ v end)
    probe(b[1] .. " ^ x", function() return v ^ x end)
    probe("x[" .. b[1] .. "]", function() return x[v] end)
    probe("x[" .. b[1] .. "] = 1", function() local y = lurn.ones(2); y[v] = 1 end)
    probe("x.grad = " .. b[1], function() local y = lurn.ones(2); y.grad = v end)
    probe("x.requires_grad = " .. b[1], function() local y = lurn.ones(2); y.requires_grad = v end)
    probe("x == " .. b[1], function() return x == v end)
    probe("x < " .. b[1], function() return x < v end)
  end
  -- the metatable is protected against a few obvious abuses
  probe("getmetatable", function() return getmetatable(x).__index(x, "shape") end)
  probe("__gc on a non-tensor", function() return getmetatable(x).__gc({}) end)
  probe("__close on a non-tensor", function() return getmetatable(x).__close("x") end)
  probe("__tostring on a non-tensor", function() return getmetatable(x).__tostring(1) end)
  probe("__len on a non-tensor", function() return getmetatable(x).__len(nil) end)
  probe("__index on a non-tensor", function() return getmetatable(x).__index({}, "shape") end)
  probe("__newindex on a non-tensor", function() return getmetatable(x).__newindex({}, "grad", nil) end)
end)

case("fuzz summary", function()
  -- the loops above made many calls, and most of them must have been refused
  if ncalls < 10000 then error("too few fuzz calls: " .. ncalls) end
  if nerrors < ncalls / 2 then error(("only %d of %d bad calls raised"):format(nerrors, ncalls)) end
  print(("fuzz: %d calls, %d raised an error, none crashed"):format(ncalls, nerrors))
end)

T.finish("test_errors")
