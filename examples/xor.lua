-- XOR with a 2-16-1 MLP, trained with raw autograd and plain gradient steps.
-- usage: lurn examples/xor.lua [steps]
local lurn = require "lurn"
lurn.manual_seed(0)

local X = lurn.tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}}, "float32")
local y = lurn.tensor({{0}, {1}, {1}, {0}}, "float32")

-- parameters: leaves that require grad
local W1 = (lurn.randn(2, 16) * 0.8):requires_grad_()
local b1 = lurn.zeros(16, {requires_grad = true})
local W2 = (lurn.randn(16, 1) * 0.4):requires_grad_()
local b2 = lurn.zeros(1, {requires_grad = true})
local params = {W1, b1, W2, b2}

local function forward(x)
  local h = (x:matmul(W1) + b1):tanh()
  return (h:matmul(W2) + b2):sigmoid()
end

local steps, lr = tonumber(arg and arg[1]) or 2000, 1.0
local loss
for step = 1, steps do
  local p = forward(X)
  loss = ((p - y) ^ 2):mean()
  loss:backward()
  lurn.no_grad(function()
    for _, w in ipairs(params) do
      w:copy_(w - lr * w.grad)
      w.grad = nil
    end
  end)
  if step == 1 or step % 200 == 0 then
    print(("step %4d  loss %.4f"):format(step, loss:item()))
  end
end

local pred = lurn.no_grad(forward, X)
print("predictions", pred:view(-1))
print(("final loss %.4f"):format(loss:item()))
