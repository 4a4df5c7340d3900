-- Transfer learning on Fashion-MNIST: pre-train on classes 0-4, then learn classes 5-9
-- from 50 labels per class, from scratch vs feature extraction vs fine-tuning (the
-- protocol of fmnist_torch.py), then two refinements: discriminative learning rates and
-- gradual unfreezing.
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local nn, F, optim, data = lurn.nn, lurn.nn.functional, lurn.optim, lurn.data
local C = require "common"

lurn.manual_seed(0)
local Xtr, ytr, Xte, yte = C.load()
local E_PRE, E_TGT = C.fast and 1 or 3, C.fast and 8 or 30

-- source task: classes 0-4 (rows of the training set by index: no copy of the images)
local t = lurn.clock()
local src_rows, ys = C.classes(ytr, 0, 4)
local test_src, yts = C.classes(yte, 0, 4)
local base = C.mlp({784, 256, 128, 5})
C.fit(base, Xtr, E_PRE, function(o, b) return F.cross_entropy(o, ys:index_select(0, b)) end,
      {name = "pretrain", verbose = true, rows = src_rows})
local pre_acc = C.accuracy(base, Xte, yts, test_src)
print(("pretrain(0-4) acc %.4f  %.2fs"):format(pre_acc, lurn.clock() - t))
C.report("transfer: pretrain (0-4)", pre_acc, lurn.clock() - t)
local pretrained = base:state_dict()

-- target task: classes 5-9 relabelled 0-4, 50 labelled examples per class
local tgt_rows, yt_all = C.classes(ytr, 5, 9)
local pick = data.per_class(yt_all, 50, {seed = 1})
local Xt, yt = Xtr:index_select(0, tgt_rows:index_select(0, pick)), yt_all:index_select(0, pick)
local test_tgt, ytt = C.classes(yte, 5, 9)
local function target_loss(o, b) return F.cross_entropy(o, yt:index_select(0, b)) end
local function fresh()
  local m = C.mlp({784, 256, 128, 5})
  m:load_state_dict(pretrained)
  m[4] = nn.Linear(128, 5) -- a new head in the last slot ("4")
  return m
end

t = lurn.clock()
local scratch = C.fit(C.mlp({784, 256, 128, 5}), Xt, E_TGT, target_loss, {bs = 32, name = "scratch"})
local fe = fresh():freeze("0", "2")                  -- the whole trunk frozen
C.fit(fe, Xt, E_TGT, target_loss, {bs = 32, name = "feature-extract"})
local ft = fresh():freeze("0")                       -- first layer frozen, the rest adapts
C.fit(ft, Xt, E_TGT, target_loss, {bs = 32, name = "fine-tune"})
local acc = {C.accuracy(scratch, Xte, ytt, test_tgt), C.accuracy(fe, Xte, ytt, test_tgt),
             C.accuracy(ft, Xte, ytt, test_tgt)}
print(("target(5-9, 250 labels) scratch %.4f feature-extract %.4f fine-tune %.4f  %.2fs"):format(
  acc[1], acc[2], acc[3], lurn.clock() - t))
C.report("transfer: scratch (250 labels)", acc[1])
C.report("transfer: feature extraction", acc[2])
C.report("transfer: fine-tuning", acc[3], lurn.clock() - t)

if C.twin then return end

-- beyond the twin: discriminative learning rates (the pre-trained trunk moves 10x slower
-- than the new head) and gradual unfreezing (head first, then one more layer per stage)
t = lurn.clock()
local disc = fresh()
local opt = optim.Adam({{params = disc[0]:parameters(), lr = 1e-4},
                        {params = disc[2]:parameters(), lr = 3e-4},
                        {params = disc[4]:parameters(), lr = 1e-3}})
C.fit(disc, Xt, E_TGT, target_loss, {bs = 32, optimizer = opt, name = "discriminative-lr"})

local grad = fresh():freeze("0", "2")
local stage = E_TGT // 3
C.fit(grad, Xt, E_TGT, target_loss, {bs = 32, name = "gradual-unfreeze",
  optimizer = optim.Adam(grad:parameters(), {lr = 1e-3}),
  before_epoch = function(ep)
    if ep == stage + 1 then grad:unfreeze("2") end
    if ep == 2 * stage + 1 then grad:unfreeze("0") end
  end})
local acc2 = {C.accuracy(disc, Xte, ytt, test_tgt), C.accuracy(grad, Xte, ytt, test_tgt)}
print(("target refinements: discriminative-lr %.4f gradual-unfreeze %.4f  %.2fs"):format(
  acc2[1], acc2[2], lurn.clock() - t))
C.report("transfer: discriminative LRs", acc2[1])
C.report("transfer: gradual unfreezing", acc2[2], lurn.clock() - t)

-- An experiment design where transfer helps. Classes 0-4 (tops, trousers, dresses, coats)
-- teach little about 5-9 (shoes, bags): above, scratch wins. Here the source task
-- {T-shirt, Trouser, Dress, Sandal, Bag} shares structure with the target {Pullover, Coat,
-- Shirt, Sneaker, Ankle boot} (tops with tops, shoes with shoes), and labels are scarce:
-- 3 per class, accuracy averaged over 3 draws of the labelled set.
t = lurn.clock()
local src = {0, 1, 3, 5, 8}
local tgt = {2, 4, 6, 7, 9}
local all_rows = lurn.arange(ytr:size(0))
local src2_rows, ys2 = data.select_classes(all_rows, ytr, src)
local base2 = C.mlp({784, 256, 128, 5})
C.fit(base2, Xtr, E_PRE, function(o, b) return F.cross_entropy(o, ys2:index_select(0, b)) end,
      {name = "pretrain-related", rows = src2_rows})
local related = base2:state_dict()
local r_rows, yr_all = data.select_classes(all_rows, ytr, tgt)
local Xrt, yrt = data.select_classes(Xte, yte, tgt)
local mean = {scratch = 0, fe = 0, ft = 0}
local E_FEW, draws = C.fast and 20 or 60, 3
for draw = 1, draws do
  local pick2 = data.per_class(yr_all, 3, {seed = draw})
  local Xf, yf = Xtr:index_select(0, r_rows:index_select(0, pick2)), yr_all:index_select(0, pick2)
  local function loss(o, b) return F.cross_entropy(o, yf:index_select(0, b)) end
  for _, variant in ipairs({"scratch", "fe", "ft"}) do
    local m = C.mlp({784, 256, 128, 5})
    if variant ~= "scratch" then
      m:load_state_dict(related)
      m[4] = nn.Linear(128, 5)
      if variant == "fe" then m:freeze("0", "2") else m:freeze("0") end
    end
    C.fit(m, Xf, E_FEW, loss, {bs = 32, name = "few-" .. variant})
    mean[variant] = mean[variant] + C.accuracy(m, Xrt, yrt) / draws
  end
end
print(("related target (3 labels/class) scratch %.4f feature-extract %.4f fine-tune %.4f  %.2fs"):format(
  mean.scratch, mean.fe, mean.ft, lurn.clock() - t))
C.report("transfer (related classes, 15 labels): scratch", mean.scratch)
C.report("transfer (related classes, 15 labels): feature extraction", mean.fe)
C.report("transfer (related classes, 15 labels): fine-tuning", mean.ft, lurn.clock() - t)
