-- Run by stock lua5.4 with lurn.so on LUA_CPATH (tests/embed/test_lua_module.sh): trains
-- a small classifier with lurn.nn and lurn.optim and checks that it learned.
local lurn = require "lurn"
local nn, F, optim = lurn.nn, lurn.nn.functional, lurn.optim
assert(package.loaded["lurn"] == lurn and require("lurn.nn") == nn, "one lurn per state")

lurn.manual_seed(1)
-- two Gaussian blobs, labels 0 and 1
local n = 200
local X = lurn.cat({lurn.randn(n, 2) + 2, lurn.randn(n, 2) - 2}, 0)
local y = lurn.cat({lurn.zeros(n, {dtype = "int64"}), lurn.ones(n, {dtype = "int64"})}, 0)

local Net = nn.Module:extend("Net")
function Net:__init() self.fc1 = nn.Linear(2, 16); self.fc2 = nn.Linear(16, 2) end
function Net:forward(x) return self.fc2(F.relu(self.fc1(x))) end

local model = Net()
local opt = optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
local first, last
for step = 1, 60 do
  opt:zero_grad()
  local loss = F.cross_entropy(model(X), y)
  loss:backward()
  opt:step()
  first = first or loss:item()
  last = loss:item()
end
local acc = lurn.no_grad(function()
  return model(X):argmax(1):eq(y):float():mean():item()
end)
print(("loss %.4f -> %.4f, accuracy %.3f"):format(first, last, acc))
assert(last < first * 0.5 and acc > 0.95, "the classifier did not learn")
print(tostring(model))
print("trained")
