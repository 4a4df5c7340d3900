-- The learning paradigms on Fashion-MNIST, one after the other in one process, then a
-- summary table; the per-epoch losses go to fashion_history.csv and fashion_loss.svg.
-- usage: lurn scripts/fashion/run_all.lua [--fast] [--twin]
local here = arg[0]:match("^(.-)[^/]*$")
package.path = here .. "?.lua;" .. package.path
local lurn = require "lurn"
local C = require "common"

local t0 = lurn.clock()
for _, name in ipairs({"transfer", "distillation", "multitask"}) do
  print(("---- %s"):format(name))
  arg[0] = here .. name .. ".lua"
  dofile(arg[0])
  -- what an experiment made (models, optimizer state, batches) goes before the next one
  collectgarbage()
  lurn.empty_cache()
end

print("\nsummary")
print(("%-60s %10s %10s"):format("experiment", "result", "time (s)"))
for _, r in ipairs(C.results) do
  print(("%-60s %10.4f %10s"):format(r.name, r.value, r.seconds and ("%.2f"):format(r.seconds) or ""))
end
print(("total %.2fs, peak tensor memory %.1f MiB"):format(lurn.clock() - t0,
  lurn.memory().peak_bytes / 2 ^ 20))
C.history:to_csv("fashion_history.csv")
C.history:plot_svg("fashion_loss.svg", {x = "epoch", y = {"loss"}, by = "run",
                                      title = "Fashion-MNIST: training loss per epoch"})
