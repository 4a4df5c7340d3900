#!/usr/bin/python3
"""Issue 8's six workloads: each runs in lurn and in its PyTorch twin, in separate processes
with the same thread count, ROUNDS times alternating; the table shows the medians, the
ratio, GFLOP/s, each process's peak RSS, the target and whether it is met.
usage: bench/compare.py LURN_BINARY KERNELS_BINARY [threads] [rounds]"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

LURN, KERNELS = sys.argv[1], sys.argv[2]
THREADS = sys.argv[3] if len(sys.argv) > 3 else "1"
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "..", "shared", "reference")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS=THREADS, OMP_NUM_THREADS=THREADS, LURN_PROGRESS="0")
PY = "/usr/bin/python3"


def run(cmd, cwd=None):
    """wall seconds, peak RSS (MiB) of this child alone (wait4), output"""
    with tempfile.TemporaryFile("w+") as out:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{text}")
    return wall, usage.ru_maxrss / 1024, text


def number(pattern, text):
    m = re.search(pattern, text)
    if not m:
        sys.exit(f"no match for {pattern!r} in:\n{text}")
    return float(m.group(1))


def verdict(ok):
    return "met" if ok else "MISSED"


rows = []  # (workload, lurn, torch, ratio, GEMM ceiling, details, target, verdict)

# ---- 6: kernels ----
gl = statistics.median(number(r"sgemm 2048\^3: ([\d.]+)",
                              run([LURN, "--threads", THREADS, os.path.join(ROOT, "bench", "bench_lurn.lua"), "sgemm"])[2])
                       for _ in range(ROUNDS))
gt = number(r"sgemm 2048\^3: ([\d.]+)", run([PY, os.path.join(ROOT, "bench", "torch_step.py"), THREADS, "sgemm"])[2])
kout = run([KERNELS, "2048"])[2]
gb, triad = number(r"openblas sgemm 2048\^3: ([\d.]+)", kout), number(r"memory triad: ([\d.]+)", kout)
gemm_row = ("GEMM 2048^3", f"{gl:.1f} GFLOP/s", f"{gt:.1f} GFLOP/s", f"{gl / gt:.2f}x", "",
             f"OpenBLAS alone {gb:.1f} GFLOP/s ({gl / gb * 100:.0f}%)", ">= 90% of OpenBLAS",
             verdict(gl >= 0.9 * gb))


def mlp_step_flops(sizes, n):
    """GEMM flops of training on n rows: forward, weight gradients, and input gradients of
    every layer but the first (the data needs none)"""
    layers = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2 * n * (3 * layers - sizes[0] * sizes[1])


def ceiling(torch_seconds, flops):
    """the speedup lurn would have if it did nothing but its GEMMs at OpenBLAS's rate"""
    return f"{torch_seconds / (flops / (gb * 1e9)):.2f}x"


# ---- 1-3: training steps (Adam, cross-entropy) ----
STEPS = [  # name, layer sizes, batch, target speedup
    ("seed-mlp 20-128-64-32-2 b32", [20, 128, 64, 32, 2], 32, 10.0),
    ("mnist-mlp 784-512-256-10 b128", [784, 512, 256, 10], 128, 2.0),
    ("mnist-mlp 784-512-256-10 b1024", [784, 512, 256, 10], 1024, 1.3),
    ("wide-mlp 1024-4096-4096-1024 b256", [1024, 4096, 4096, 1024], 256, 2.0),
]
US = r"\(([\d.]+) us/step"
for name, sizes, batch, target in STEPS:
    lus, tus, lrss, trss = [], [], 0, 0
    for _ in range(ROUNDS):
        _, r, out = run([LURN, "--threads", THREADS, os.path.join(ROOT, "bench", "bench_lurn.lua"), name])
        lus.append(number(US, out)); lrss = max(lrss, r)
        _, r, out = run([PY, os.path.join(ROOT, "bench", "torch_step.py"), THREADS, name])
        tus.append(number(US, out)); trss = max(trss, r)
    lu, tu = statistics.median(lus), statistics.median(tus)
    flops = mlp_step_flops(sizes, batch)
    rows.append((name + " step", f"{lu:.1f} us", f"{tu:.1f} us", f"{tu / lu:.2f}x", ceiling(tu * 1e-6, flops),
                 f"{flops / lu / 1e3:.0f} vs {flops / tu / 1e3:.0f} GFLOP/s; {lrss:.0f} vs {trss:.0f} MiB",
                 f">= {target}x", verdict(tu / lu >= target)))
rows.append(gemm_row)

lout = run([LURN, "--threads", THREADS, os.path.join(ROOT, "bench", "bench_lurn.lua"), "elementwise"])[2]
tout = run([PY, os.path.join(ROOT, "bench", "torch_step.py"), THREADS, "elementwise"])[2]
for label, pat in [("x + 0.5*y, 16M floats (new outputs)", r"16M floats\): ([\d.]+)"),
                   ("x + y, 256K floats (in cache)", r"in cache\): ([\d.]+)")]:
    l, t = number(pat, lout), number(pat, tout)
    rows.append((label, f"{l:.1f} GB/s", f"{t:.1f} GB/s", f"{l / t:.2f}x", "",
                 f"memory triad {triad:.1f} GB/s" if "16M" in label else "", "-", "-"))

# ---- 4-5: whole suites ----
SUITES = [
    ("seed suite", [LURN, "--threads", THREADS, os.path.join(ROOT, "scripts", "seed", "run_all.lua")],
     [PY, os.path.join(REF, "seed_notebook.py")], 20.0, 10.0, None),
    ("Fashion-MNIST twin protocol",
     [LURN, "--threads", THREADS, os.path.join(ROOT, "scripts", "fashion", "run_all.lua"), "--twin"],
     [PY, os.path.join(REF, "fmnist_torch.py"), THREADS], 2.0, 3.0,
     # the protocol's training GEMMs (rows x epochs, per model) and the teacher's logits
     mlp_step_flops([784, 256, 128, 5], 30000 * 3) + mlp_step_flops([784, 512, 512, 10], 60000 * 3)
     + 2 * 60000 * 784 * 512 + 2 * 60000 * (512 * 512 + 512 * 10)
     + mlp_step_flops([784, 32, 10], 60000 * 2) * 2 + mlp_step_flops([784, 256, 64, 11], 60000 * 2)),
]
side_by_side = []
for label, lurn_cmd, torch_cmd, speed_target, mem_target, flops in SUITES:
    if "Fashion" in label and not os.path.exists("/usr/share/datasets/fashion-mnist"):
        rows.append((label, "skipped: dataset-fashion-mnist not installed", "", "", "", "", "", ""))
        continue
    scratch = tempfile.mkdtemp()
    lw, lr, lo = run(lurn_cmd, cwd=scratch)
    tw, tr, to = run(torch_cmd, cwd=scratch)
    subprocess.run(["rm", "-rf", scratch])
    rows.append((label + " time", f"{lw:.2f} s", f"{tw:.2f} s", f"{tw / lw:.2f}x",
                 ceiling(tw, flops) if flops else "", "", f">= {speed_target}x", verdict(tw / lw >= speed_target)))
    rows.append((label + " peak RSS", f"{lr:.0f} MiB", f"{tr:.0f} MiB", f"{tr / lr:.2f}x less", "", "",
                 f">= {mem_target}x less", verdict(tr / lr >= mem_target)))
    if "Fashion" in label:  # the twin's result lines, side by side
        for key in ("load", "pretrain(0-4)", "target(5-9", "distill", "multitask acc", "total"):
            pick = lambda text: next((l.strip() for l in text.splitlines() if l.startswith(key)), "-")
            side_by_side.append(f"  lurn:  {pick(lo)}\n  torch: {pick(to)}")

print(f"threads: {THREADS}, medians of {ROUNDS} rounds for the step workloads and the GEMM")
print("GEMM ceiling: PyTorch's time over the workload's GEMM flops at OpenBLAS's own rate, i.e. the")
print("ratio lurn would reach doing nothing but its GEMMs; a target above it cannot be met\n")
head = ("workload", "lurn", "PyTorch", "ratio", "GEMM ceiling", "details (lurn vs PyTorch)", "target", "")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
for r in [head] + rows:
    print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
if side_by_side:
    print("\nFashion-MNIST results, side by side:")
    print("\n".join(side_by_side))
