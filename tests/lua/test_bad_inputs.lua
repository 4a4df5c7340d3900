-- A catalogue of the bad inputs a researcher's script passes, each with the kind of message
-- it must get: what went wrong, where (module path, loss, file) and the values involved
-- (shapes, dtypes, the class index). Tensor-op errors and the generic wrong-argument sweep
-- are in test_errors.lua; NaN/Inf in test_anomaly.lua.
local lurn = require "lurn"
local T = require "testing"
local nn, F, optim, data = lurn.nn, lurn.nn.functional, lurn.optim, lurn.data
local err, eq, case = T.assert_error, T.assert_equal, T.case

-- the message must name the caller's line, not a line inside the library (the calls
-- checked with it are not tail calls, which would leave no line to name)
local function at_caller(msg)
  if not msg:find("test_bad_inputs.lua:%d+:") then error("message does not point at the caller: " .. msg, 2) end
end

-- ====================================================================== layers: shapes

local Net = nn.Module:extend("Net")
function Net:__init()
  self.trunk = nn.Sequential(nn.Linear(20, 128), nn.ReLU(), nn.Linear(128, 64))
  self.head = nn.Sequential({{"fc", nn.Linear(64, 3)}, {"sm", nn.Softmax(1)}})
end
function Net:forward(x) return self.head(self.trunk(x)) end

case("Linear: wrong width names the module path, both shapes and the expected one", function()
  local m = Net()
  err(function() return m(lurn.rand(32, 19)) end,
      "trunk.0 (Linear 20->128): input has shape [32, 19], expected [*, 20]")
  -- a mistake deeper in: the layer that fails is named
  m.trunk[2] = nn.Linear(128, 60)
  err(function() return m(lurn.rand(8, 20)) end,
      "head.fc (Linear 64->3): input has shape [8, 60], expected [*, 64]")
  -- a Linear on its own has no path: the message starts with the layer
  local msg = err(function() return nn.Linear(3, 2)(lurn.rand(2, 4)) end,
                  "(Linear 3->2): input has shape [2, 4], expected [*, 3]")
  eq(msg:find("  (Linear", 1, true), nil, "no stray blank where the path would be")
  -- 3-d input: the last dim is the one that counts
  err(function() return nn.Linear(5, 2)(lurn.rand(2, 3, 4)) end,
      "(Linear 5->2): input has shape [2, 3, 4], expected [*, 5]")
end)

case("Linear: not a tensor, int64 and bool input", function()
  local m = Net()
  err(function() return m({1, 2, 3}) end, "trunk.0 (Linear 20->128): expected a tensor input, got table")
  err(function() return m() end, "trunk.0 (Linear 20->128): expected a tensor input, got nil")
  err(function() return m(lurn.zeros(4, 20, "int64")) end,
      "trunk.0 (Linear 20->128): expected float32 input and parameters, got input of dtype int64")
  err(function() return m(lurn.zeros(4, 20, "bool")) end,
      "trunk.0 (Linear 20->128): expected float32 input and parameters, got input of dtype bool")
  -- F.linear (no module) names the op and both shapes
  err(function() return F.linear(lurn.rand(2, 3), lurn.rand(4, 5)) end,
      "linear: input has shape [2, 3], expected [*, 5]")
  err(function() return F.linear(lurn.rand(2, 3), lurn.rand(4, 3), lurn.rand(5)) end,
      {"linear", "[4, 3]", "[5]"})
end)

case("Softmax, LogSoftmax and Flatten: a dim out of range names the module and the shape", function()
  local m = Net()
  m.head.sm = nn.Softmax(2)
  err(function() return m(lurn.rand(4, 20)) end,
      "head.sm (Softmax): dim 2 is out of range for input of shape [4, 3] (expected -2..1)")
  err(function() return nn.LogSoftmax(-3)(lurn.rand(4, 3)) end,
      "LogSoftmax: dim -3 is out of range for input of shape [4, 3] (expected -2..1)")
  local s = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
  eq(s(lurn.rand(5, 2, 3)).shape, {5, 2})
  err(function() return s(lurn.rand(6)) end,
      "0 (Flatten): start_dim 1 is out of range for input of shape [6] (expected -1..0)")
  err(function() return nn.Flatten(0, 3)(lurn.rand(2, 3)) end,
      "Flatten: end_dim 3 is out of range for input of shape [2, 3] (expected -2..1)")
  err(function() return nn.Flatten(1, 0)(lurn.rand(2, 3)) end,
      "Flatten: start_dim 1 comes after end_dim 0 for input of shape [2, 3]")
  err(function() return nn.Flatten()("x") end, "Flatten: expected a tensor, got string")
  err(function() return nn.Softmax() end, {"Softmax", "dim must be given"})
  err(function() return nn.Dropout(1.5) end, {"Dropout", "p must be in [0, 1]"})
  err(function() return nn.Linear(0, 3) end, {"Linear", "in_features must be a positive integer"})
  err(function() return nn.Sequential(nn.Linear(2, 2), 5) end, {"Sequential", "expected a Module"})
end)

-- ====================================================================== losses: shapes

case("every loss: mismatched input and target shapes name the loss and both shapes", function()
  local x, y = lurn.rand(4, 1) * 0.5 + 0.25, lurn.rand(4) * 0.5 + 0.25
  for _, name in ipairs({"MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"}) do
    local msg = err(function() local l = nn[name]()(x, y); return l end,
                    name .. ": input shape [4, 1] and target shape [4] differ", name)
    at_caller(msg)
  end
  err(function() return nn.CrossEntropyLoss()(lurn.rand(4, 3), lurn.tensor({0, 1, 2, 0, 1})) end,
      "CrossEntropyLoss: input of shape [4, 3] needs a target of shape [4], got [5]")
  err(function() return nn.NLLLoss()(lurn.rand(4, 3):log_softmax(1), lurn.tensor({0, 1})) end,
      "NLLLoss: input of shape [4, 3] needs a target of shape [4], got [2]")
  err(function() return nn.CrossEntropyLoss()(lurn.rand(2, 3, 4), lurn.tensor({0, 1})) end,
      "CrossEntropyLoss: input must be [N, C] logits (or [C]), got [2, 3, 4]")
  -- the functional forms name themselves
  err(function() return F.mse_loss(x, y) end, "mse_loss: input shape [4, 1] and target shape [4] differ")
  err(function() return F.kl_div(x, y) end, "kl_div: input shape [4, 1] and target shape [4] differ")
  -- a missing target
  err(function() return nn.MSELoss()(x) end, "MSELoss: expected input and target tensors, got tensor and nil")
end)

-- ====================================================================== dtypes

case("dtype mismatches: labels, inputs, matmul", function()
  local logits = lurn.rand(4, 3)
  -- float labels of the wrong shape: read as class probabilities, and said so
  err(function() return nn.CrossEntropyLoss()(logits, lurn.tensor({0.0, 1.0, 2.0, 0.0})) end,
      "CrossEntropyLoss: probability target shape [4] differs from input shape [4, 3]")
  err(function() return nn.CrossEntropyLoss()(logits, lurn.zeros(4, 1)) end,
      "CrossEntropyLoss: probability target shape [4, 1] differs from input shape [4, 3]")
  err(function() return nn.NLLLoss()(logits, lurn.zeros(4)) end,
      "NLLLoss: target must be int64 class indices (got float32 [4]); use :long()")
  -- integer logits
  err(function() return nn.CrossEntropyLoss()(lurn.zeros(4, 3, "int64"), lurn.tensor({0, 1, 2, 0})) end,
      "CrossEntropyLoss: input must be float32 logits, got int64 [4, 3]")
  err(function() return nn.CrossEntropyLoss({label_smoothing = 0.1})(lurn.zeros(4, 3, "int64"), lurn.tensor({0, 1, 2, 0})) end,
      "CrossEntropyLoss: input must be float32 logits, got int64 [4, 3]")
  err(function() return nn.NLLLoss()(lurn.zeros(4, 3, "int64"), lurn.tensor({0, 1, 2, 0})) end,
      "NLLLoss: input must be float32 [N, C] or [C] (got int64 [4, 3])")
  -- int64 targets to the elementwise losses
  err(function() return nn.BCELoss()(lurn.full({2}, 0.5), lurn.tensor({0, 1})) end,
      "BCELoss: expected float32 input and target, got float32 and int64")
  err(function() return nn.MSELoss()(lurn.zeros(2, "int64"), lurn.zeros(2)) end,
      "MSELoss: expected float32 input and target, got int64 and float32")
  -- bool or int64 operands of matmul
  err(function() return lurn.zeros(2, 2, "bool"):matmul(lurn.zeros(2, 2)) end,
      "matmul: expected float32 tensors, got bool [2, 2] and float32 [2, 2]")
  err(function() return lurn.zeros(2, 3):matmul(lurn.zeros(3, 2, "int64")) end,
      "matmul: expected float32 tensors, got float32 [2, 3] and int64 [3, 2]")
  -- class weights of the wrong size
  err(function() return nn.CrossEntropyLoss({weight = lurn.ones(4)})(logits, lurn.tensor({0, 1, 2, 0})) end,
      "CrossEntropyLoss: class weight must be float32 [3], got float32 [4]")
end)

case("class index out of range names the loss, the index and its position", function()
  local logits = lurn.rand(4, 3)
  err(function() return nn.CrossEntropyLoss()(logits, lurn.tensor({0, 1, 3, 2})) end,
      "CrossEntropyLoss: target class 3 at position 2 is out of range for 3 classes (expected 0..2)")
  err(function() return nn.CrossEntropyLoss()(logits, lurn.tensor({-1, 0, 1, 2})) end,
      "CrossEntropyLoss: target class -1 at position 0 is out of range for 3 classes")
  err(function() return nn.NLLLoss()(logits:log_softmax(1), lurn.tensor({0, 1, 2, 7})) end,
      "NLLLoss: target class 7 at position 3 is out of range for 3 classes")
  err(function() return F.cross_entropy(logits, lurn.tensor({0, 1, 2, 5}), {label_smoothing = 0.1}) end,
      "cross_entropy: target class 5 at position 3 is out of range for 3 classes")
  -- the ignored index is not out of range
  nn.CrossEntropyLoss({ignore_index = -1})(logits, lurn.tensor({-1, 0, 1, 2}))
end)

-- ====================================================================== autograd misuse

case("backward twice without retain_graph; backward on a non-scalar", function()
  local m = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 3))
  local loss = nn.CrossEntropyLoss()(m(lurn.rand(4, 20)), lurn.tensor({0, 1, 2, 0}))
  loss:backward()
  err(function() loss:backward() end,
      {"backward: trying to backward through the graph a second time", "retain_graph = true"})
  -- retain_graph keeps it usable
  local loss2 = (m(lurn.rand(2, 20)) ^ 2):mean()
  loss2:backward({retain_graph = true})
  loss2:backward()
  local out = m(lurn.rand(2, 20))
  err(function() out:backward() end,
      "backward: grad can be implicitly created only for scalar outputs (tensor has shape [2, 3])")
  err(function() lurn.rand(3):sum():backward() end, "backward: tensor does not require grad")
end)

case("a forward that failed on a bad input leaves no false warning at the next backward", function()
  local buf, saved = {}, io.stderr
  io.stderr = {write = function(self, ...)
    for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
    return self
  end}
  local ok, e = pcall(function()
    local broken = Net()
    err(function() return broken(lurn.rand(4, 19)) end, "trunk.0 (Linear 20->128)")
    local other = nn.Sequential(nn.Linear(3, 2))
    nn.MSELoss()(other(lurn.rand(4, 3)), lurn.zeros(4, 2)):backward()
  end)
  io.stderr = saved
  if not ok then error(e, 0) end
  eq(table.concat(buf), "", "the broken model took no part in that backward")
end)

-- ====================================================================== optimizers

case("optimizer given something that is not a parameter", function()
  local m = Net()
  local w = lurn.randn(3, {requires_grad = true})
  err(function() optim.SGD({w, 0.1}) end, "SGD: parameter 2 is a number, not a tensor")
  err(function() optim.Adam({"fc1.weight"}) end, "Adam: parameter 1 is a string, not a tensor")
  err(function() optim.AdamW({w * 2}) end, "AdamW: parameter 1 is not a leaf tensor")
  err(function() optim.SGD({lurn.tensor({1, 2})}) end, "SGD: parameter 1 is int64")
  -- the model instead of its parameters, a lone tensor, an empty list, options by position
  local msg = err(function() local o = optim.SGD(m, {lr = 0.1}); return o end,
                  "SGD: got a Net module; pass its parameters: SGD(model:parameters(), ...)")
  at_caller(msg)
  err(function() optim.Adam(w) end, "Adam: expected a list of parameters or of parameter groups, got a tensor")
  err(function() optim.SGD({}) end, "SGD: got an empty parameter list")
  err(function() optim.SGD(nn.ReLU():parameters()) end, "SGD: got an empty parameter list")
  err(function() optim.SGD(m:parameters(), 0.01) end, "SGD: options must be a table such as {lr = 0.01}, got number")
  err(function() optim.Adam(m:parameters(), 0.01) end, "Adam: options must be a table such as {lr = 0.001}, got number")
  err(function() optim.SGD(m:parameters(), {lr = "fast"}) end, "SGD: invalid learning rate fast")
end)

-- ====================================================================== options and names

case("loss options that are not a table, missing distillation tensors, one_hot", function()
  local x, y = lurn.rand(4, 3), lurn.tensor({0, 1, 2, 0})
  -- a loss given `true` (a reduction meant as {reduction = ...}): named at the caller's line
  local msg = err(function() local l = F.mse_loss(x, x, true); return l end,
                  "mse_loss: options must be a table such as {reduction = \"sum\"}, got boolean")
  at_caller(msg)
  msg = err(function() local l = F.cross_entropy(x, y, "sum"); return l end,
            "cross_entropy: options must be a table such as {reduction = \"sum\"}, got string")
  at_caller(msg)
  err(function() return F.kl_div(x, x, 1) end, "kl_div: options must be a table such as {reduction = \"sum\"}, got number")
  err(function() return F.binary_cross_entropy(x, x, lurn.ones(4, 3)) end,
      "binary_cross_entropy: options must be a table such as {reduction = \"sum\"}, got tensor")
  err(function() return nn.MSELoss("sum") end, "MSELoss: options must be a table such as {reduction = \"sum\"}, got string")
  err(function() return F.distillation_loss(nil, x, y) end, "distillation_loss: student_logits must be a tensor, got nil")
  err(function() return F.distillation_loss(x, nil, y) end, "distillation_loss: teacher_logits must be a tensor, got nil")
  err(function() return F.distillation_loss(x, x, y, {T = 0}) end, "distillation_loss: T must be a positive number, got 0")
  err(function() return F.distillation_loss(x, x, y, {alpha = "high"}) end,
      "distillation_loss: alpha must be a number in [0, 1], got string")
  err(function() return F.one_hot() end, "one_hot: target must be a tensor of int64 class indices, got nil")
  err(function() return F.one_hot(y, 0) end, "one_hot: num_classes must be a positive integer, got 0")
  err(function() return F.one_hot(y, 2.5) end, "one_hot: num_classes must be a positive integer, got float")
end)

case("modules: options, names to register or freeze, apply, train", function()
  local msg = err(function() local m = nn.Linear(3, 2, false); return m end,
                  "Linear: options must be a table such as {bias = false}, got boolean")
  at_caller(msg)
  local m = Net()
  msg = err(function() local r = m:freeze(nil); return r end, "freeze: expected submodule names such as \"fc1\", got nil")
  at_caller(msg)
  err(function() m:unfreeze({"trunk"}) end, "unfreeze: expected submodule names such as \"fc1\", got table")
  err(function() m:unfreeze("head.x") end, "unfreeze: Net has no submodule 'head.x'")
  err(function() m:freeze("") end, "freeze: expected submodule names such as \"fc1\", got an empty string")
  m.trunk:freeze(0) -- an integer names a child of a Sequential, as seq[0] does
  eq(m.trunk[0].weight.requires_grad, false)
  err(function() m:apply() end, "apply: expected a function to call on every module, got nil")
  err(function() m:apply(lurn.ones(2)) end, "apply: expected a function to call on every module, got tensor")
  err(function() m:train("eval") end, "train: mode must be true or false, got string")
  err(function() m:register_parameter(nil, lurn.ones(2)) end,
      "register_parameter: name must be a string such as \"weight\" (no dots), got nil")
  err(function() m:register_parameter("head.scale", lurn.ones(2)) end,
      "register_parameter: name must be a string such as \"weight\" (no dots), got \"head.scale\"")
  err(function() m:register_parameter("scale", 2) end, "register_parameter: expected a tensor (or nil), got number")
  err(function() m:register_buffer(1, lurn.ones(2)) end,
      "register_buffer: name must be a string such as \"running_mean\" (no dots), got number")
  err(function() m:register_buffer("mask", {1, 0}) end, "register_buffer: expected a tensor, got table")
  err(function() m:add_module("extra", lurn.ones(2)) end, "add_module: expected a Module, got tensor")
  err(function() m[0 / 0] = nn.ReLU() end, "Net: cannot assign to a field named NaN")
  err(function() m:load_state_dict(m:state_dict(), true) end,
      "load_state_dict: options must be a table such as {strict = false}, got boolean")
end)

case("optimizer groups and learning-rate schedulers: bad options and arguments", function()
  local opt = optim.SGD(Net():parameters(), {lr = 0.1})
  local msg = err(function() local lr = opt:get_lr(99); return lr end,
                  "get_lr: group 99 does not exist (the optimizer has 1 group)")
  at_caller(msg)
  err(function() opt:get_lr("1") end, "get_lr: group must be an integer index from 1 to 1, got string")
  err(function() opt:get_lr(1.5) end, "get_lr: group must be an integer index from 1 to 1, got 1.5")
  err(function() opt:set_lr(nil) end, "set_lr: learning rate must be a number >= 0, got nil")
  err(function() opt:set_lr(-0.1) end, "set_lr: learning rate must be a number >= 0, got -0.1")
  local S = optim.lr_scheduler
  msg = err(function() local s = S.StepLR(opt, 10); return s end,
            "StepLR: options must be a table such as {step_size = 10, gamma = 0.1}, got number")
  at_caller(msg)
  err(function() S.CosineAnnealingLR(opt, 50) end, "CosineAnnealingLR: options must be a table such as {T_max = 50}, got number")
  err(function() S.LambdaLR(opt, function(e) return 0.9 ^ e end) end,
      "LambdaLR: options must be a table such as {lr_lambda = function(epoch) return 0.95 ^ epoch end}, got function")
  err(function() S.StepLR(nil, {step_size = 2}) end,
      "StepLR: expected an optimizer such as optim.SGD(model:parameters(), {lr = 0.1}), got nil")
  err(function() S.StepLR(opt, {}) end, "StepLR: step_size is required")
  err(function() S.StepLR(opt, {step_size = 0}) end, "StepLR: step_size must be a positive integer, got 0")
  err(function() S.StepLR(opt, {step_size = 2, gamma = "x"}) end, "StepLR: gamma must be a number >= 0, got string")
  err(function() S.CosineAnnealingLR(opt, {T_max = 0}) end, "CosineAnnealingLR: T_max must be a number > 0, got 0")
  err(function() S.LambdaLR(opt, {}) end, "LambdaLR: lr_lambda function is required, got nil")
  local sched = S.StepLR(opt, {step_size = 2})
  msg = err(function() local lr = sched:lr_at(); return lr end,
            "StepLR:lr_at(base_lr, epoch): expected two numbers, got nil and nil")
  at_caller(msg)
  eq(sched:lr_at(1.0, 4), 1.0 * 0.1 ^ 2)
  local bad = S.LambdaLR(optim.SGD(Net():parameters(), {lr = 0.1}),
                         {lr_lambda = function(e) if e < 1 then return 1 end end})
  err(function() bad:step() end,
      "LambdaLR: lr_lambda(1) returned nil, expected a number (the factor on the base learning rate)")
end)

-- ====================================================================== checkpoints

local Wide = nn.Module:extend("Wide")
function Wide:__init()
  self.trunk = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 64))
  self.head = nn.Sequential({{"fc", nn.Linear(64, 3)}, {"sm", nn.Softmax(1)}})
  self.aux = nn.Linear(64, 1)
end
function Wide:forward(x) return self.head(self.trunk(x)) end

case("loading a checkpoint into the wrong architecture lists every problem", function()
  local dir = os.tmpname()
  os.remove(dir)
  local path = dir .. ".safetensors"
  local m = Net()
  lurn.save(m:state_dict(), path)
  local sd = lurn.load(path)
  os.remove(path)
  local w = Wide()
  local before = w.trunk[0].weight:clone()
  local msg = err(function() local r = w:load_state_dict(sd); return r end, {
    "load_state_dict into Wide:",
    "size mismatch for trunk.0.weight: expected [256, 20], got [128, 20]",
    "size mismatch for trunk.0.bias: expected [256], got [128]",
    "size mismatch for trunk.2.weight: expected [64, 256], got [64, 128]",
    "missing keys: aux.weight, aux.bias",
  })
  at_caller(msg)
  T.assert_close(w.trunk[0].weight, before, 0, 0, "a failed strict load changes nothing")
  -- the other way round: keys the model does not have
  err(function() Net():load_state_dict(w:state_dict()) end,
      {"load_state_dict into Net:", "unexpected keys: aux.bias, aux.weight", "size mismatch for trunk.0.weight"})
  -- strict = false still refuses a size mismatch (as PyTorch); skip_mismatched reports it
  err(function() Net():load_state_dict(w:state_dict(), {strict = false}) end,
      {"load_state_dict into Net:", "size mismatch for trunk.0.weight: expected [128, 20], got [256, 20]"})
  local report = Net():load_state_dict(w:state_dict(), {skip_mismatched = true})
  eq(report.unexpected, {"aux.bias", "aux.weight"})
  eq(#report.mismatched, 3)
  -- not a state dict at all
  err(function() m:load_state_dict(path) end,
      "load_state_dict: expected a table of name -> tensor (model:state_dict() or lurn.load(path)), got string")
  err(function() m:load_state_dict({["trunk.0.weight"] = 5}) end,
      "load_state_dict: entry 'trunk.0.weight' is a number, not a tensor")
end)

-- ====================================================================== files

local tmp = os.tmpname() -- a file we own; its name is the base of the others
local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

case("missing, unreadable and empty files for every reader name the file and the problem", function()
  local readers = {
    {"load", lurn.load, "safetensors"}, {"read_npy", lurn.read_npy, ".npy"},
    {"read_idx", lurn.read_idx, "IDX"}, {"read_csv", lurn.read_csv, "empty"},
  }
  local missing = tmp .. ".missing/none.bin"
  local dir = tmp .. ".dir"
  local empty = tmp .. ".empty"
  local locked = tmp .. ".locked"
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  write(empty, "")
  write(locked, "a,b\n1,2\n")
  os.execute("chmod 000 '" .. locked .. "'")
  local f = io.open(locked, "rb") -- root reads anyway: then there is nothing to test
  local can_lock = f == nil
  if f then f:close() end
  for _, r in ipairs(readers) do
    local name, fn, kind = r[1], r[2], r[3]
    local msg = err(function() local t = fn(missing); return t end,
                    ("%s '%s': cannot open: No such file or directory"):format(name, missing), name)
    at_caller(msg)
    err(function() return fn(dir) end, ("%s '%s': is a directory"):format(name, dir), name)
    err(function() return fn(empty) end, {("%s '%s'"):format(name, empty), kind}, name)
    if can_lock then
      err(function() return fn(locked) end, {("%s '%s'"):format(name, locked), "Permission denied"}, name)
    end
    err(function() return fn() end, {"bad argument #1", "(string expected, got no value)"}, name)
  end
  err(function() lurn.load_checkpoint(missing, {model = Net()}) end,
      ("load '%s': cannot open: No such file or directory"):format(missing))
  os.remove(empty)
  os.remove(locked)
  os.remove(dir)
end)

case("fashion_mnist without its files says which file and how to install it", function()
  local root = tmp .. ".fashion"
  err(function() data.fashion_mnist({root = root}) end, {
    "fashion_mnist: " .. root .. "/train-images-idx3-ubyte.gz not found",
    "apt-get install dataset-fashion-mnist", "{root = dir}"})
  err(function() data.fashion_mnist({root = root, split = "test"}) end,
      "fashion_mnist: " .. root .. "/t10k-images-idx3-ubyte.gz not found")
  -- images present, labels missing: the labels file is the one named
  assert(os.execute("mkdir -p '" .. root .. "'"))
  write(root .. "/train-images-idx3-ubyte.gz", "")
  err(function() data.fashion_mnist({root = root}) end,
      "fashion_mnist: " .. root .. "/train-labels-idx1-ubyte.gz not found")
  -- both present but not IDX data: the reader names the file
  write(root .. "/train-labels-idx1-ubyte.gz", "")
  err(function() data.fashion_mnist({root = root}) end,
      {"read_idx '" .. root .. "/train-images-idx3-ubyte.gz'", "too short"})
  os.remove(root .. "/train-images-idx3-ubyte.gz")
  os.remove(root .. "/train-labels-idx1-ubyte.gz")
  os.remove(root)
  err(function() data.fashion_mnist({root = root, split = "valid"}) end,
      "fashion_mnist: split must be \"train\" or \"test\"")
  err(function() data.fashion_mnist("test") end,
      "fashion_mnist: options must be a table such as {split = \"test\"}, got string")
  err(function() data.fashion_mnist({root = 5}) end, "fashion_mnist: root must be a directory name, got number")
end)

-- ====================================================================== data helpers

case("TensorDataset, DataLoader, train_test_split: wrong types and sizes", function()
  local X, y = lurn.rand(10, 2), lurn.tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1})
  local ds = data.TensorDataset(X, y)
  -- TensorDataset
  err(function() data.TensorDataset() end, "TensorDataset: expected at least one tensor")
  err(function() data.TensorDataset(X, {1, 2}) end, "TensorDataset: argument 2 must be a tensor with at least 1 dim")
  err(function() data.TensorDataset(lurn.tensor(1.0)) end, "TensorDataset: argument 1 must be a tensor with at least 1 dim")
  err(function() data.TensorDataset(X, lurn.zeros(9)) end, "TensorDataset: tensor 2 has 9 rows but tensor 1 has 10")
  err(function() ds:get(10) end, "TensorDataset: index 10 out of range for 10 samples")
  err(function() ds:get(1.5) end, "TensorDataset: index 1.5 out of range for 10 samples")
  -- DataLoader
  local msg = err(function() local l = data.DataLoader(X, {batch_size = 4}); return l end,
                  "DataLoader: expected a dataset, got a tensor; wrap tensors in data.TensorDataset(X, y)")
  at_caller(msg)
  err(function() data.DataLoader(nil) end, "DataLoader: expected a dataset (an object with :get(i) and #")
  err(function() data.DataLoader({1, 2, 3}) end, "DataLoader: expected a dataset (an object with :get(i) and #")
  err(function() data.DataLoader(Net()) end, "DataLoader: expected a dataset")
  err(function() data.DataLoader(ds, 32) end, "DataLoader: options must be a table such as {batch_size = 32}, got number")
  err(function() data.DataLoader(ds, {batch_size = 0}) end, "DataLoader: batch_size must be a positive integer")
  err(function() data.DataLoader(ds, {batch_size = "4"}) end, "DataLoader: batch_size must be a positive integer")
  err(function() data.DataLoader(ds, {batch_size = 2.5}) end, "DataLoader: batch_size must be a positive integer")
  err(function() data.DataLoader(ds, {shuffle = "yes"}) end, "DataLoader: shuffle must be true or false, got string")
  err(function() data.DataLoader(ds, {drop_last = 1}) end, "DataLoader: drop_last must be true or false, got number")
  err(function() data.DataLoader(ds, {seed = "x"}) end, "DataLoader: seed must be an integer, got x")
  -- a dataset of one's own: get(i) and __len, or an integer __index and __len
  local mine = setmetatable({}, {__len = function() return 3 end,
    __index = function(_, i) if math.type(i) == "integer" then return {lurn.tensor({i * 1.0}), i} end end})
  local seen = {}
  for xb, yb in data.DataLoader(mine, {batch_size = 2}):iter() do seen[#seen + 1] = yb:totable() end
  eq(seen, {{0, 1}, {2}})
  -- train_test_split
  err(function() data.train_test_split() end, "train_test_split: expected at least one tensor")
  err(function() data.train_test_split(5) end, "train_test_split: argument 1 must be a tensor with at least 1 dim")
  err(function() data.train_test_split(X, y:narrow(0, 0, 9)) end, "train_test_split: argument 2 has 9 rows, argument 1 has 10")
  err(function() data.train_test_split(X, {test_size = "a"}) end,
      "train_test_split: test_size must be a fraction in (0, 1) or a count")
  err(function() data.train_test_split(X, {test_size = 1.5}) end,
      "train_test_split: test_size must be a fraction in (0, 1) or a count")
  err(function() data.train_test_split(X, {test_size = 10}) end, "train_test_split: test_size = 10 must be in (0, 10)")
  err(function() data.train_test_split(X, {random_state = "seed"}) end,
      "train_test_split: random_state must be an integer, got seed")
  err(function() data.train_test_split(X, {random_state = 1.5}) end,
      "train_test_split: random_state must be an integer, got 1.5")
  err(function() data.train_test_split(X, {stratify = 5}) end,
      "train_test_split: stratify must be a tensor of 10 labels, got number")
  err(function() data.train_test_split(X, {stratify = lurn.zeros(9)}) end,
      "train_test_split: stratify must be a tensor of 10 labels, got shape [9]")
  -- labels shaped [n, 1] (as y often is) stratify like [n]
  local a1, b1 = data.train_test_split(X, {stratify = y, random_state = 0, test_size = 0.2})
  local a2, b2 = data.train_test_split(X, {stratify = y:float():unsqueeze(1), random_state = 0, test_size = 0.2})
  T.assert_close(a1, a2, 0, 0)
  T.assert_close(b1, b2, 0, 0)
end)

os.remove(tmp)
T.finish("test_bad_inputs")
