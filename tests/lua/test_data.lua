-- lurn.random reproduces NumPy's legacy RandomState, train_test_split selects the rows
-- scikit-learn selects (fixtures from tests/data/gen_random_split.py), and datasets,
-- loaders and preprocessing behave.
local lurn = require "lurn"
local T = require "testing"
local data = lurn.data

local fx = lurn.load(arg[0]:match("^(.*)/[^/]*$") .. "/../fixtures/numpy_sklearn.safetensors")

T.case("np.random.seed(42): rand, randint and the next cell's rand", function()
  lurn.random.seed(42)
  T.assert_close(lurn.random.rand(1000, 20), fx["seed42.rand"], 0, 0, "rand")
  T.assert_equal(lurn.random.randint(2, {1000}):totable(), fx["seed42.randint"]:totable(), "randint")
  T.assert_close(lurn.random.rand(100, 20), fx["seed42.next_rand"], 0, 0, "the stream continues")
end)

T.case("randn, randint range, uniform, normal, permutation, shuffle, 64-bit randint", function()
  lurn.random.seed(0)
  T.assert_close(lurn.random.randn(7, 3), fx["seed0.randn"], 0, 0, "randn")
  T.assert_equal(lurn.random.randint(-5, 17, {50}):totable(), fx["seed0.randint"]:totable(), "randint")
  T.assert_close(lurn.random.uniform(-2, 3, {10}), fx["seed0.uniform"], 1e-6, 0, "uniform")
  T.assert_close(lurn.random.normal(1.5, 0.5, {10}), fx["seed0.normal"], 1e-6, 0, "normal")
  T.assert_equal(lurn.random.RandomState(7):permutation(37):totable(), fx["seed7.permutation"]:totable())
  T.assert_equal(lurn.random.RandomState(3):randint(0, 2 ^ 40 // 1, {8}):totable(),
    fx["seed3.randint_big"]:totable(), "64-bit draws")
  local a = lurn.arange(20)
  lurn.random.RandomState(11):shuffle(a)
  T.assert_equal(a:totable(), fx["seed11.shuffle"]:totable(), "shuffle in place")
end)

T.case("RandomState objects are independent of the global generator", function()
  lurn.random.seed(1)
  local a = lurn.random.rand(3)
  lurn.random.seed(1)
  local rs = lurn.random.RandomState(99)
  rs:rand(5)
  T.assert_close(lurn.random.rand(3), a, 0, 0)
end)

T.case("the seed notebook's 80/20 split, exactly", function()
  lurn.random.seed(42)
  local X = lurn.random.rand(1000, 20)
  local y = lurn.random.randint(2, {1000})
  local Xtr, Xte, ytr, yte = data.train_test_split(X, y, {test_size = 0.2, random_state = 42})
  T.assert_close(Xtr, fx["seed42.Xtr"], 0, 0, "Xtr")
  T.assert_close(Xte, fx["seed42.Xte"], 0, 0, "Xte")
  T.assert_equal(ytr:totable(), fx["seed42.ytr"]:totable(), "ytr")
  T.assert_equal(yte:totable(), fx["seed42.yte"]:totable(), "yte")
end)

local split_opts = {
  plain = {test_size = 0.2, random_state = 42},
  int_test = {test_size = 17, random_state = 5},
  train_size = {train_size = 0.5, test_size = 0.3, random_state = 1},
  no_shuffle = {test_size = 0.25, shuffle = false},
  stratify = {test_size = 0.2, random_state = 42, stratify = fx["split.labels"]},
  stratify_odd = {test_size = 0.33, random_state = 9, stratify = fx["split.labels"]},
}
for name, opts in pairs(split_opts) do
  T.case("train_test_split " .. name .. " matches scikit-learn", function()
    local tr, te = data.train_test_split(lurn.arange(103), opts)
    T.assert_equal(tr:totable(), fx["split." .. name .. ".train"]:totable(), "train rows")
    T.assert_equal(te:totable(), fx["split." .. name .. ".test"]:totable(), "test rows")
  end)
end

T.case("train_test_split validates its arguments", function()
  T.assert_error(function() data.train_test_split(lurn.zeros(10), lurn.zeros(9)) end, "9 rows")
  T.assert_error(function() data.train_test_split(lurn.zeros(10), {test_size = 1.5}) end, "test_size")
  T.assert_error(function() data.train_test_split(lurn.zeros(10), {test_size = 10}) end, "test_size")
  T.assert_error(function()
    data.train_test_split(lurn.zeros(4), {stratify = lurn.tensor({0, 1, 1, 1}), random_state = 0})
  end, "only 1 member")
end)

T.case("TensorDataset: length, 0-based samples, errors", function()
  local X, y = lurn.arange(12):float():view(6, 2), lurn.arange(6)
  local ds = data.TensorDataset(X, y)
  T.assert_equal(#ds, 6)
  local x2, y2 = ds:get(2)
  T.assert_equal(x2:totable(), {4.0, 5.0})
  T.assert_equal(y2:item(), 2)
  T.assert_equal(ds[5][2]:item(), 5)
  T.assert_error(function() ds:get(6) end, "out of range")
  T.assert_error(function() data.TensorDataset(X, lurn.zeros(5)) end, "5 rows")
end)

T.case("DataLoader: batches, drop_last, order, shuffling per epoch and by seed", function()
  local X, y = lurn.arange(10):float():unsqueeze(1), lurn.arange(10)
  local ds = data.TensorDataset(X, y)
  local plain = data.DataLoader(ds, {batch_size = 4})
  T.assert_equal(#plain, 3)
  local seen = {}
  for xb, yb in plain:iter() do seen[#seen + 1] = yb:totable() end
  T.assert_equal(seen, {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}})
  T.assert_equal(#data.DataLoader(ds, {batch_size = 4, drop_last = true}), 2)

  local function epoch(loader)
    local all = {}
    for xb, yb in loader:iter() do
      T.assert_equal(xb:squeeze(1):long():totable(), yb:totable(), "rows stay paired")
      for _, v in ipairs(yb:totable()) do all[#all + 1] = v end
    end
    return all
  end
  local l1 = data.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 5})
  local e1, e2 = epoch(l1), epoch(l1)
  local sorted = {table.unpack(e1)}
  table.sort(sorted)
  T.assert_equal(sorted, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "an epoch is a permutation")
  assert(table.concat(e1, ",") ~= table.concat(e2, ","), "epochs differ")
  T.assert_equal(epoch(data.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 5})), e1,
    "the same seed gives the same order")
  lurn.manual_seed(3)
  local g1 = epoch(data.DataLoader(ds, {batch_size = 3, shuffle = true}))
  lurn.manual_seed(3)
  T.assert_equal(epoch(data.DataLoader(ds, {batch_size = 3, shuffle = true})), g1,
    "without a seed, lurn.manual_seed decides")
end)

T.case("DataLoader over a custom dataset stacks samples", function()
  local squares = setmetatable({}, {__len = function() return 5 end})
  function squares:get(i) return lurn.tensor({i, i * i}, "float32"), i end
  local batches = {}
  for xb, yb in data.DataLoader(squares, {batch_size = 2}):iter() do
    batches[#batches + 1] = {xb:totable(), yb:totable()}
  end
  T.assert_equal(batches[1], {{{0.0, 0.0}, {1.0, 1.0}}, {0, 1}})
  T.assert_equal(#batches, 3)
end)

T.case("training with a shuffled DataLoader, as the seed's multi-task cell", function()
  lurn.manual_seed(0)
  local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim
  local X = lurn.rand(256, 4)
  local y = (X:sum(1) - 2):gt(0):long()
  local model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
  local opt = optim.Adam(model:parameters(), {lr = 1e-2})
  local loader = data.DataLoader(data.TensorDataset(X, y), {batch_size = 32, shuffle = true})
  local first, last
  for ep = 1, 15 do
    local total = 0
    for xb, yb in loader:iter() do
      opt:zero_grad()
      local loss = F.cross_entropy(model(xb), yb)
      loss:backward(); opt:step()
      total = total + loss:item()
    end
    first = first or total
    last = total
  end
  assert(last < first * 0.5, ("loss fell from %.3f to %.3f"):format(first, last))
end)

T.case("standardize, one_hot, subset, select_classes, per_class", function()
  local Xtr = lurn.tensor({{1, 10}, {3, 10}, {5, 10}}, "float32")
  local Xte = lurn.tensor({{3, 11}}, "float32")
  local a, b, scaler = data.standardize(Xtr, Xte)
  T.assert_close(a:mean(0), {0, 0}, 1e-6, 0)
  T.assert_close(a:narrow(1, 0, 1):squeeze(1), {-1.2247449, 0, 1.2247449}, 1e-6, 1e-6, "population std")
  T.assert_close(b, {{0, 1}}, 1e-6, 0, "constant column keeps scale 1; test uses train stats")
  T.assert_close(scaler:inverse_transform(a), Xtr, 1e-5, 0)
  T.assert_equal(data.one_hot(lurn.tensor({2, 0}), 3):totable(), {{0.0, 0.0, 1.0}, {1.0, 0.0, 0.0}})
  T.assert_error(function() data.one_hot(lurn.tensor({3}), 3) end, "labels must be in")
  T.assert_equal(data.subset(lurn.arange(5), {4, 0}):totable(), {4, 0})
  local X, y = lurn.arange(8):float():unsqueeze(1), lurn.tensor({0, 5, 6, 5, 1, 6, 9, 5})
  local Xs, ys = data.select_classes(X, y, {5, 6})
  T.assert_equal(ys:totable(), {0, 1, 0, 1, 0})
  T.assert_equal(Xs:squeeze(1):totable(), {1.0, 2.0, 3.0, 5.0, 7.0})
  local labels = lurn.tensor({0, 0, 1, 1, 1, 2, 2, 2, 2})
  local picked = labels:index_select(0, data.per_class(labels, 2, {seed = 1})):totable()
  T.assert_equal(picked, {0, 0, 1, 1, 2, 2}, "two per class, class by class")
  T.assert_error(function() data.per_class(labels, 3) end, "fewer than 3")
end)

T.finish("test_data")
