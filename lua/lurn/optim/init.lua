-- lurn.optim: SGD, Adam, AdamW and learning-rate schedulers.
local adam = require "lurn.optim.adam"
return {
  Optimizer = require "lurn.optim.optimizer",
  SGD = require "lurn.optim.sgd",
  Adam = adam.Adam,
  AdamW = adam.AdamW,
  lr_scheduler = require "lurn.optim.lr_scheduler",
}
