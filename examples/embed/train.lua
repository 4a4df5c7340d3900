-- The Lua half of examples/embed: a model and the functions the C host calls.
-- host.c hands its data over as tensors, calls train() a few times and predict() once.
local lurn = require "lurn"
local nn, optim = lurn.nn, lurn.optim

lurn.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
local opt = optim.Adam(model:parameters(), {lr = 0.02})
local loss_fn = nn.MSELoss()

--- steps of Adam on (x [N, 2], y [N, 1]); returns the last loss
function train(x, y, steps)
  model:train()
  local loss
  for _ = 1, steps do
    opt:zero_grad()
    loss = loss_fn(model(x), y)
    loss:backward()
    opt:step()
  end
  return loss:item()
end

--- predictions [N, 1] for x [N, 2], without recording autograd history
function predict(x)
  model:eval()
  return lurn.no_grad(function() return model(x) end)
end
