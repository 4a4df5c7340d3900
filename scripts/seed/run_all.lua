-- The whole seed notebook, cell by cell, in one process.
local here = arg[0]:match("^(.-)[^/]*$")
local scripts = {"01_pretrain", "02_fixed_model", "03_feature_extraction", "04_finetune",
                 "05_distillation", "06_multitask"}
local lurn = require "lurn"
lurn.manual_seed(0)
for _, name in ipairs(scripts) do
  print(("---- %s"):format(name))
  arg[0] = here .. name .. ".lua"
  dofile(arg[0])
end
