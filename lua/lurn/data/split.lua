-- data.train_test_split(X, y, ..., {test_size = 0.25, train_size, random_state, shuffle,
-- stratify}) -> Xtr, Xte, ytr, yte, ...  Follows scikit-learn's algorithm step by step
-- (ShuffleSplit / StratifiedShuffleSplit over NumPy's legacy RandomState), so the same
-- random_state selects the same rows as sklearn does.
local lurn = require "lurn"

local function sizes(n, test_size, train_size)
  if test_size == nil and train_size == nil then test_size = 0.25 end
  local function count(v, name, round)
    if v == nil then return nil end
    if math.type(v) == "integer" then
      if v <= 0 or v >= n then error(("train_test_split: %s = %d must be in (0, %d)"):format(name, v, n), 4) end
      return v
    end
    if type(v) ~= "number" or v <= 0 or v >= 1 then
      error(("train_test_split: %s must be a fraction in (0, 1) or a count"):format(name), 4)
    end
    return round(v * n)
  end
  local n_test = count(test_size, "test_size", math.ceil)
  local n_train = count(train_size, "train_size", math.floor)
  n_train = n_train or n - n_test
  n_test = n_test or n - n_train
  if n_train + n_test > n then
    error(("train_test_split: train (%d) + test (%d) exceed the %d samples"):format(n_train, n_test, n), 4)
  end
  if n_train == 0 then error("train_test_split: the train set would be empty", 4) end
  return math.tointeger(n_train), math.tointeger(n_test)
end

local function generator(random_state)
  if random_state == nil then return lurn.random end -- the global, as sklearn with None
  return lurn.random.RandomState(random_state)
end

local function perm_list(rng, n) return rng:permutation(n):totable() end

-- sklearn's _approximate_mode: split n_draws over classes in proportion to counts,
-- giving the remaining draws to the largest remainders, ties broken at random
local function approximate_mode(counts, n_draws, rng)
  local total = 0
  for _, c in ipairs(counts) do total = total + c end
  local floored, remainder, added = {}, {}, 0
  for i, c in ipairs(counts) do
    local cont = c / total * n_draws
    floored[i] = math.floor(cont)
    remainder[i] = cont - floored[i]
    added = added + floored[i]
  end
  local need = math.tointeger(n_draws - added)
  if need > 0 then
    local values, seen = {}, {}
    for _, r in ipairs(remainder) do
      if not seen[r] then seen[r] = true; values[#values + 1] = r end
    end
    table.sort(values, function(a, b) return a > b end)
    for _, v in ipairs(values) do
      local inds = {}
      for i, r in ipairs(remainder) do if r == v then inds[#inds + 1] = i end end
      local add_now = math.min(#inds, need)
      local p = perm_list(rng, #inds) -- RandomState.choice(replace=False)
      for k = 1, add_now do
        local i = inds[p[k] + 1]
        floored[i] = floored[i] + 1
      end
      need = need - add_now
      if need == 0 then break end
    end
  end
  return floored
end

local function stratified(labels, n_train, n_test, rng)
  local y = labels:totable()
  local classes, index_of = {}, {}
  for _, v in ipairs(y) do
    if index_of[v] == nil then index_of[v] = true; classes[#classes + 1] = v end
  end
  table.sort(classes)
  for i, v in ipairs(classes) do index_of[v] = i end
  local members, counts = {}, {}
  for i = 1, #classes do members[i], counts[i] = {}, 0 end
  for i, v in ipairs(y) do -- a stable sort of sample indices by class
    local c = index_of[v]
    counts[c] = counts[c] + 1
    members[c][counts[c]] = i - 1
  end
  if #classes < 2 then error("train_test_split: stratify needs at least 2 classes", 4) end
  for i, c in ipairs(counts) do
    if c < 2 then
      error(("train_test_split: class %s has only %d member; stratify needs at least 2"):format(
        tostring(classes[i]), c), 4)
    end
  end
  local n_i = approximate_mode(counts, n_train, rng)
  local left = {}
  for i, c in ipairs(counts) do left[i] = c - n_i[i] end
  local t_i = approximate_mode(left, n_test, rng)
  local train, test = {}, {}
  for i = 1, #classes do
    local p = perm_list(rng, counts[i])
    for k = 1, n_i[i] do train[#train + 1] = members[i][p[k] + 1] end
    for k = n_i[i] + 1, n_i[i] + t_i[i] do test[#test + 1] = members[i][p[k] + 1] end
  end
  local function shuffled(list)
    local p = perm_list(rng, #list)
    local out = {}
    for k = 1, #list do out[k] = list[p[k] + 1] end
    return out
  end
  return lurn.tensor(shuffled(train), "int64"), lurn.tensor(shuffled(test), "int64")
end

local function train_test_split(...)
  local args = table.pack(...)
  local opts = {}
  if args.n > 0 and not lurn.is_tensor(args[args.n]) and type(args[args.n]) == "table" then
    opts = args[args.n]
    args.n = args.n - 1
  end
  if args.n == 0 then error("train_test_split: expected at least one tensor", 2) end
  local n
  for i = 1, args.n do
    local t = args[i]
    if not lurn.is_tensor(t) or t:dim() == 0 then
      error(("train_test_split: argument %d must be a tensor with at least 1 dim"):format(i), 2)
    end
    n = n or t:size(0)
    if t:size(0) ~= n then
      error(("train_test_split: argument %d has %d rows, argument 1 has %d"):format(i, t:size(0), n), 2)
    end
  end
  if opts.random_state ~= nil and math.type(opts.random_state) ~= "integer" then
    error(("train_test_split: random_state must be an integer, got %s"):format(
      tostring(opts.random_state)), 2)
  end
  local strat = opts.stratify
  if strat ~= nil and strat ~= false then -- labels [n], or [n, 1] as y often is
    if not lurn.is_tensor(strat) or strat:dim() == 0 or strat:size(0) ~= n or strat:numel() ~= n then
      error(("train_test_split: stratify must be a tensor of %d labels, got %s"):format(n,
        lurn.is_tensor(strat) and "shape [" .. table.concat(strat.shape, ", ") .. "]" or type(strat)), 2)
    end
    strat = strat:reshape(n)
  end
  local n_train, n_test = sizes(n, opts.test_size, opts.train_size)
  local train, test
  if opts.shuffle == false then
    if strat then error("train_test_split: stratify needs shuffle = true", 2) end
    train, test = lurn.arange(0, n_train), lurn.arange(n_train, n_train + n_test)
  elseif strat then
    train, test = stratified(strat, n_train, n_test, generator(opts.random_state))
  else
    local perm = generator(opts.random_state):permutation(n)
    test, train = perm:narrow(0, 0, n_test), perm:narrow(0, n_test, n_train)
  end
  local out = {}
  for i = 1, args.n do
    out[#out + 1] = args[i]:index_select(0, train)
    out[#out + 1] = args[i]:index_select(0, test)
  end
  return table.unpack(out)
end

return train_test_split
