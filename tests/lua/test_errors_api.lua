-- Wrong types for every argument of the Lua library beyond the core module (test_errors.lua
-- does lurn.* and the tensor methods): every function of lurn.nn, lurn.nn.functional,
-- lurn.optim (and lr_scheduler), lurn.data, lurn.random, lurn.progress and lurn.metrics,
-- every class constructor there, and every method of an instance of each class (modules,
-- losses, optimizers, schedulers, datasets, loaders, scalers, RandomState, progress bars,
-- histories), called with nil, numbers, strings, tables, booleans, functions and tensors
-- of every kind in each of the first positions, and with a bad self.
-- Each call must return or raise a string message, never crash; and a message must not be
-- one of Lua's own "attempt to index a nil value" kind, which says nothing to the user
-- about which argument was wrong. LURN_FUZZ_VERBOSE=1 prints every call.
local lurn = require "lurn"
local T = require "testing"
local nn, F, optim, data = lurn.nn, lurn.nn.functional, lurn.optim, lurn.data

local verbose = os.getenv("LURN_FUZZ_VERBOSE")
local freed = lurn.ones(2); freed:free()
local NOPATH = "/nonexistent/dir/lurn-test-file"

local function bad_values()
  return {
    {"nil", nil}, {"string", NOPATH}, {"empty table", {}}, {"table of numbers", {1, 2}},
    {"nested table", {{1}, {"a"}}}, {"boolean", true}, {"float", 1.5}, {"negative int", -1},
    {"zero", 0}, {"int", 3}, {"nan", 0 / 0}, {"huge", math.huge}, {"function", function() end},
    {"freed tensor", freed}, {"float tensor", lurn.ones(2, 3)},
    {"int64 tensor", lurn.tensor({1, 0})}, {"bool tensor", lurn.tensor({true, false})},
    {"0-d tensor", lurn.tensor(2.0)}, {"empty tensor", lurn.zeros(0)},
    {"table of tensors", {lurn.ones(2), lurn.ones(2)}}, {"coroutine", coroutine.create(function() end)},
  }
end
-- the kinds each argument of a pair gets (a pair of the whole list would be slow)
local few = {{"nil", nil}, {"int", 2}, {"string", NOPATH}, {"table", {}}, {"tensor", lurn.ones(2, 3)},
             {"int64 tensor", lurn.tensor({1, 0})}}

-- Lua's own messages for a value of the wrong type used inside the library: they name a
-- local variable of ours, not the argument the caller got wrong
local internal = {"attempt to index", "attempt to call", "attempt to perform arithmetic",
                  "attempt to compare", "attempt to concatenate", "attempt to get length",
                  "stack overflow", "table index is nil",
                  "table index is NaN", "number has no integer representation$"}

local ncalls, nerrors, opaque = 0, 0, {}
local bad_self -- set while a method is called with a bad self (Lua's own message is fine)
local function probe(desc, fn, ...)
  if verbose then io.stderr:write(desc, "\n") end
  ncalls = ncalls + 1
  local ok, e = pcall(fn, ...)
  if not lurn.is_grad_enabled() then lurn.set_grad_enabled(true) end
  if lurn.detect_anomaly() then lurn.detect_anomaly(false) end
  if ok then return end
  nerrors = nerrors + 1
  if type(e) ~= "string" then error(desc .. ": error value is a " .. type(e) .. ", not a message") end
  if #e == 0 then error(desc .. ": empty error message") end
  if bad_self then return end
  for _, p in ipairs(internal) do
    if e:find(p) then opaque[#opaque + 1] = desc .. ": " .. e; break end
  end
end

-- functions whose arguments are file names get only paths that cannot exist (a number or
-- a table would otherwise name a file in the working directory)
local function io_like(name)
  for _, p in ipairs({"save", "load", "read", "write", "csv", "npy", "idx", "svg", "file"}) do
    if name:find(p, 1, true) then return true end
  end
  return false
end

-- call fn with bad values alone, in pairs (a few kinds for the second) and after `first`
local function hammer(desc, fn, name, first)
  if io_like(name) then
    probe(desc .. "()", fn)
    probe(desc .. "(path)", fn, NOPATH)
    for _, b in ipairs(bad_values()) do
      probe(("%s(%s, path)"):format(desc, b[1]), fn, b[2], NOPATH)
      probe(("%s(path, %s)"):format(desc, b[1]), fn, NOPATH, b[2])
    end
    return
  end
  probe(desc .. "()", fn)
  for _, b1 in ipairs(bad_values()) do
    probe(("%s(%s)"):format(desc, b1[1]), fn, b1[2])
    for _, b2 in ipairs(few) do
      probe(("%s(%s, %s)"):format(desc, b1[1], b2[1]), fn, b1[2], b2[2])
      probe(("%s(%s, %s)"):format(desc, b2[1], b1[1]), fn, b2[2], b1[2])
      probe(("%s(%s, %s, %s)"):format(desc, b2[1], b2[1], b1[1]), fn, b2[2], b2[2], b1[2])
    end
    if first ~= nil then
      probe(("%s(<ok>, %s)"):format(desc, b1[1]), fn, first, b1[2])
      probe(("%s(<ok>, <ok>, %s)"):format(desc, b1[1]), fn, first, first, b1[2])
    end
  end
end

local function sorted_keys(t, want)
  local names = {}
  for k, v in pairs(t) do
    if type(k) == "string" and want(v, k) then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end
local function is_class(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and mt.__call ~= nil
end

-- fashion_mnist with default options loads 70,000 images: it only gets calls that fail
-- before reading (a bad options value, a bad root, a bad split under a missing root)
local function fashion(desc, fn)
  for _, b in ipairs(bad_values()) do
    if b[2] ~= nil and type(b[2]) ~= "table" then probe(("%s(%s)"):format(desc, b[1]), fn, b[2]) end
    if b[2] ~= nil then probe(("%s({root = %s})"):format(desc, b[1]), fn, {root = b[2], split = "x"}) end
    probe(("%s({split = %s})"):format(desc, b[1]), fn, {root = NOPATH, split = b[2]})
  end
end

local namespaces = {
  {"lurn.nn", nn}, {"lurn.nn.functional", F}, {"lurn.optim", optim},
  {"lurn.optim.lr_scheduler", optim.lr_scheduler}, {"lurn.data", data},
  {"lurn.random", lurn.random}, {"lurn.progress", lurn.progress}, {"lurn.metrics", lurn.metrics},
}

T.case("every function and constructor of every namespace with bad arguments", function()
  local X = lurn.randn(4, 3)
  local seen = 0
  for _, ns in ipairs(namespaces) do
    local prefix, t = ns[1], ns[2]
    for _, name in ipairs(sorted_keys(t, function(v) return type(v) == "function" or is_class(v) end)) do
      local desc = prefix .. "." .. name
      seen = seen + 1
      if name == "fashion_mnist" then fashion(desc, t[name])
      else hammer(desc, t[name], name, X) end
    end
  end
  if seen < 60 then error("only " .. seen .. " functions and classes found") end
end)

-- ============================================================ instances and their methods

local function params() return nn.Linear(3, 2):parameters() end
local Custom = nn.Module:extend("Custom")
function Custom:__init() self.fc = nn.Linear(3, 2); self.act = nn.ReLU() end
function Custom:forward(x) return self.act(self.fc(x)) end

-- name -> a function making a fresh, valid instance (a bad call may leave it broken)
local makers = {
  {"Linear", function() return nn.Linear(3, 2) end},
  {"Linear(no bias)", function() return nn.Linear(3, 2, {bias = false}) end},
  {"Sequential", function() return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)) end},
  {"Custom", function() return Custom() end},
  {"ReLU", function() return nn.ReLU() end}, {"Sigmoid", function() return nn.Sigmoid() end},
  {"Tanh", function() return nn.Tanh() end}, {"Softmax", function() return nn.Softmax(1) end},
  {"LogSoftmax", function() return nn.LogSoftmax(1) end},
  {"Identity", function() return nn.Identity() end}, {"Dropout", function() return nn.Dropout(0.5) end},
  {"Flatten", function() return nn.Flatten() end},
  {"BCELoss", function() return nn.BCELoss() end},
  {"BCEWithLogitsLoss", function() return nn.BCEWithLogitsLoss() end},
  {"CrossEntropyLoss", function() return nn.CrossEntropyLoss() end},
  {"NLLLoss", function() return nn.NLLLoss() end}, {"MSELoss", function() return nn.MSELoss() end},
  {"L1Loss", function() return nn.L1Loss() end}, {"SmoothL1Loss", function() return nn.SmoothL1Loss() end},
  {"KLDivLoss", function() return nn.KLDivLoss({reduction = "batchmean"}) end},
  {"SGD", function() return optim.SGD(params(), {lr = 0.1, momentum = 0.9}) end},
  {"Adam", function() return optim.Adam(params(), {lr = 0.1}) end},
  {"AdamW", function() return optim.AdamW(params(), {lr = 0.1, amsgrad = true}) end},
  {"StepLR", function() return optim.lr_scheduler.StepLR(optim.SGD(params(), {lr = 0.1}), {step_size = 2}) end},
  {"CosineAnnealingLR", function()
    return optim.lr_scheduler.CosineAnnealingLR(optim.SGD(params(), {lr = 0.1}), {T_max = 5}) end},
  {"LambdaLR", function()
    return optim.lr_scheduler.LambdaLR(optim.SGD(params(), {lr = 0.1}), {lr_lambda = function(e) return 0.5 ^ e end}) end},
  {"TensorDataset", function() return data.TensorDataset(lurn.randn(6, 3), lurn.arange(6)) end},
  {"DataLoader", function()
    return data.DataLoader(data.TensorDataset(lurn.randn(6, 3), lurn.arange(6)), {batch_size = 4, shuffle = true}) end},
  {"StandardScaler", function() return data.StandardScaler():fit(lurn.randn(6, 3)) end},
  {"RandomState", function() return lurn.random.RandomState(1) end},
  {"Bar", function() return lurn.progress.Bar({total = 0, tty = false}) end},
  {"History", function() local h = lurn.metrics.History(); h:log({run = "a", epoch = 1, loss = 0.5}); return h end},
}

-- every function reachable from an instance: its own fields and its classes' (raw reads)
local function methods(obj)
  local names, seen = {}, {}
  local function add(t, depth) -- t: a table, or a userdata (RandomState) seen through its metatable
    if t == nil or depth > 8 then return end
    if type(t) == "table" then
      for k, v in pairs(t) do
        if type(k) == "string" and type(v) == "function" and not seen[k] and k ~= "__init"
           and k ~= "__gc" and k ~= "__close" and k ~= "extend" then
          seen[k] = true
          names[#names + 1] = k
        end
      end
    end
    local mt = getmetatable(t)
    if type(mt) == "table" then
      local idx = rawget(mt, "__index")
      if type(idx) == "table" and idx ~= t then add(idx, depth + 1) end
      add(mt, depth + 1)
    end
  end
  add(obj, 0)
  table.sort(names)
  return names
end

T.case("every method of every class with bad arguments and a bad self", function()
  local total = 0
  for _, mk in ipairs(makers) do
    local kind, make = mk[1], mk[2]
    local names = methods(make())
    if #names == 0 then error(kind .. ": no methods found") end
    for _, name in ipairs(names) do
      total = total + 1
      local desc = kind .. ":" .. name
      local fn = make()[name]
      if type(fn) == "function" then
        -- a bad self
        bad_self = true
        for _, b in ipairs(bad_values()) do probe(("%s with self = %s"):format(desc, b[1]), fn, b[2]) end
        bad_self = false
        if io_like(name) then
          probe(desc .. "()", fn, make())
          for _, b in ipairs(bad_values()) do
            probe(("%s(path, %s)"):format(desc, b[1]), fn, make(), NOPATH, b[2])
          end
          probe(desc .. "(path)", fn, make(), NOPATH)
        else
          probe(desc .. "()", fn, make())
          for _, b1 in ipairs(bad_values()) do
            probe(("%s(%s)"):format(desc, b1[1]), fn, make(), b1[2])
            for _, b2 in ipairs(few) do
              probe(("%s(%s, %s)"):format(desc, b1[1], b2[1]), fn, make(), b1[2], b2[2])
              probe(("%s(%s, %s)"):format(desc, b2[1], b1[1]), fn, make(), b2[2], b1[2])
            end
          end
        end
      end
    end
  end
  if total < 150 then error("only " .. total .. " methods found") end
end)

T.case("calling an instance (forward) with bad inputs", function()
  for _, mk in ipairs(makers) do
    local obj = mk[2]()
    local mt = getmetatable(obj)
    if type(mt) == "table" and mt.__call then
      for _, b1 in ipairs(bad_values()) do
        probe(("%s(%s)"):format(mk[1], b1[1]), obj, b1[2])
        for _, b2 in ipairs(few) do
          probe(("%s(%s, %s)"):format(mk[1], b1[1], b2[1]), obj, b1[2], b2[2])
          probe(("%s(%s, %s)"):format(mk[1], b2[1], b1[1]), obj, b2[2], b1[2])
        end
      end
    end
  end
end)

T.case("data helpers, progress bars and histories name the argument that is wrong", function()
  local err = T.assert_error
  local X, y = lurn.randn(6, 2), lurn.tensor({0, 1, 2, 0, 1, 2})
  err(function() data.select_classes(X, y:float(), {0, 1}) end,
      {"select_classes", "y must be a 1-d int64 tensor", "float32 of shape [6]"})
  err(function() data.select_classes(X, y, {}) end, {"select_classes", "non-empty list"})
  err(function() data.select_classes(X, y, {0, 1.5}) end, {"select_classes", "class 2", "float"})
  err(function() data.select_classes("X", y, {0}) end, {"select_classes", "X must be a tensor", "string"})
  err(function() data.select_classes(X, y, {0}, true) end, {"select_classes", "options", "boolean"})
  err(function() data.per_class(y, "5") end, {"per_class", "k must be an integer"})
  err(function() data.per_class(y, -1) end, {"per_class", "k must be an integer >= 0, got -1"})
  err(function() data.per_class(lurn.tensor(2), 1) end, {"per_class", "1-d int64", "shape []"})
  err(function() data.per_class(y, 1, 7) end, {"per_class", "options", "number"})
  err(function() data.per_class(y, 3) end, {"per_class", "class 0 has 2 examples, fewer than 3"})
  err(function() data.one_hot(y, lurn.tensor(3)) end, {"one_hot", "num_classes", "userdata"})
  err(function() data.one_hot(y, 2.5) end, {"one_hot", "num_classes must be an integer", "float"})
  err(function() data.subset(nil, {0}) end, {"subset", "tensor or a dataset", "nil"})
  err(function() data.subset(X, "0") end, {"subset", "indices", "string"})
  err(function() lurn.progress.Bar(10) end, {"progress.Bar", "options must be a table", "number"})
  err(function() lurn.progress.Bar({total = "10"}) end, {"progress.Bar", "total", "string"})
  local bar = lurn.progress.Bar({total = 0, tty = false})
  err(function() bar:update(nil, {}) end, {"Bar:update", "k", "table"})
  err(function() bar:update(0.5) end, {"Bar:update", "stats must be a table", "number"})
  local h = lurn.metrics.History()
  err(function() h:log(3) end, {"History:log", "table", "number"})
  err(function() h:to_csv(3) end, {"History:to_csv", "file name", "number"})
  err(function() h:plot_svg("/nonexistent/x.svg", true) end, {"plot_svg", "options", "boolean"})
  local opt = optim.SGD(nn.Linear(2, 1):parameters(), {lr = 0.1})
  err(function() opt:state_dict({}) end, {"optimizer state", "nn.Module", "table"})
end)

T.case("summary: every bad call raised a message that says what was wrong", function()
  if ncalls < 20000 then error("too few calls: " .. ncalls) end
  if nerrors < ncalls / 3 then error(("only %d of %d bad calls raised"):format(nerrors, ncalls)) end
  -- one example per place in the library that raised it; a message raised in this file
  -- (by a callback of ours, e.g. LambdaLR's lambda given nil) is the caller's own
  local show, where = {}, {}
  for _, o in ipairs(opaque) do
    local at = o:match(": ([^:]*:%d+): ") or o:match(": (.*)$")
    if at:find("test_errors_api.lua", 1, true) then -- ours
    elseif not where[at] then
      where[at] = true; show[#show + 1] = o
    end
  end
  print(("api fuzz: %d calls, %d raised an error, none crashed"):format(ncalls, nerrors))
  if #show > 0 then
    error(("%d places raise one of Lua's internal messages instead of naming the bad argument:\n  %s")
      :format(#show, table.concat(show, "\n  ")))
  end
end)

T.finish("test_errors_api")
