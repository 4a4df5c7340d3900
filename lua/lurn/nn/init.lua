-- lurn.nn: modules, layers, losses and the functional forms.
local Module = require "lurn.nn.module"
local act = require "lurn.nn.activation"
local loss = require "lurn.nn.loss"

local nn = {
  Module = Module,
  Parameter = Module.Parameter,
  is_module = Module.is_module,
  Linear = require "lurn.nn.linear",
  Sequential = require "lurn.nn.sequential",
  functional = require "lurn.nn.functional",
}
for _, name in ipairs({"ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Identity",
                       "Dropout", "Flatten"}) do
  nn[name] = act[name]
end
for name, cls in pairs(loss) do nn[name] = cls end

return nn
