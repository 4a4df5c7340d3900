-- Knowledge distillation on Fashion-MNIST: a 784-512-512-10 teacher, and a 784-32-10
-- student trained alone vs with the teacher's softened outputs (T = 4, alpha = 0.7).
package.path = arg[0]:match("^(.-)[^/]*$") .. "?.lua;" .. package.path
local lurn = require "lurn"
local F = lurn.nn.functional
local C = require "common"

lurn.manual_seed(0)
local Xtr, ytr, Xte, yte = C.load()
local E_T, E_S = C.fast and 1 or 3, C.fast and 1 or 2

local t = lurn.clock()
local function hard(o, b) return F.cross_entropy(o, ytr:index_select(0, b)) end
local teacher = C.fit(C.mlp({784, 512, 512, 10}), Xtr, E_T, hard, {name = "teacher", verbose = true})
local teacher_logits = C.predict(teacher, Xtr)       -- computed once, no tape, in blocks
local alone = C.fit(C.mlp({784, 32, 10}), Xtr, E_S, hard, {name = "student-alone"})
local student = C.fit(C.mlp({784, 32, 10}), Xtr, E_S, function(o, b)
  return F.distillation_loss(o, teacher_logits:index_select(0, b), ytr:index_select(0, b),
                             {T = 4, alpha = 0.7})
end, {name = "student-kd"})
local acc = {C.accuracy(teacher, Xte, yte), C.accuracy(alone, Xte, yte), C.accuracy(student, Xte, yte)}
print(("distill teacher %.4f student-alone %.4f student-kd %.4f  %.2fs"):format(
  acc[1], acc[2], acc[3], lurn.clock() - t))
C.report("distillation: teacher", acc[1])
C.report("distillation: student alone", acc[2])
C.report("distillation: student with KD", acc[3], lurn.clock() - t)
