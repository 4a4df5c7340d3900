#!/usr/bin/python3
"""Runs each lurn workload and its PyTorch twin in one invocation, with the same thread
count, and prints times, ratios and peak memory (issue 8's six workloads).
usage: bench/compare.py LURN_BINARY KERNELS_BINARY [threads]"""
import os
import re
import subprocess
import sys
import time

LURN, KERNELS = sys.argv[1], sys.argv[2]
THREADS = sys.argv[3] if len(sys.argv) > 3 else "1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "..", "shared", "reference")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS=THREADS, OMP_NUM_THREADS=THREADS, LURN_PROGRESS="0")


def run(cmd, cwd=None):
    """wall seconds, peak RSS (MiB) of this child alone (wait4), stdout"""
    import tempfile
    with tempfile.TemporaryFile("w+") as out:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{text}")
    return wall, usage.ru_maxrss / 1024, text


def per_step(text):
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(.+?): [\d.]+ steps/s\s+\(([\d.]+) us/step", text, re.M)}


print(f"threads: {THREADS}\n")
_, _, lout = run([LURN, "--threads", THREADS, os.path.join(ROOT, "bench", "bench_lurn.lua")])
_, _, tout = run(["/usr/bin/python3", os.path.join(REF, "bench_torch.py"), THREADS])
lsteps, tsteps = per_step(lout), per_step(tout)
print(f"{'workload (training step, Adam, CE)':42} {'lurn us':>10} {'torch us':>10} {'speedup':>8}")
for name, us in lsteps.items():
    t = tsteps.get(name)
    print(f"{name:42} {us:10.1f} {t or float('nan'):10.1f} {t / us if t else float('nan'):7.2f}x")

gl = re.search(r"sgemm 2048\^3: ([\d.]+)", lout)
gt = re.search(r"sgemm 2048\^3: ([\d.]+)", tout)
_, _, kout = run([KERNELS, "2048"])
gb = re.search(r"openblas sgemm 2048\^3: ([\d.]+)", kout)
ew = re.search(r"elementwise .*: ([\d.]+) GB/s", lout)
mb = re.search(r"memory triad: ([\d.]+) GB/s", kout)
print(f"\nGEMM 2048^3 GFLOP/s: lurn {gl.group(1)}, OpenBLAS alone {gb.group(1)} "
      f"({float(gl.group(1)) / float(gb.group(1)) * 100:.0f}%), torch {gt.group(1)}")
print(f"elementwise x + 0.5*y: lurn {ew.group(1)} GB/s; memory triad (plain C) {mb.group(1)} GB/s")

for label, lurn_cmd, torch_cmd in [
    ("seed suite", [LURN, "--threads", THREADS, os.path.join(ROOT, "scripts", "seed", "run_all.lua")],
     ["/usr/bin/python3", os.path.join(REF, "seed_notebook.py")]),
    ("Fashion-MNIST suite", [LURN, "--threads", THREADS, os.path.join(ROOT, "scripts", "fashion", "run_all.lua")],
     ["/usr/bin/python3", os.path.join(REF, "fmnist_torch.py"), THREADS]),
]:
    if "fashion" in label.lower() and not os.path.exists("/usr/share/datasets/fashion-mnist"):
        print(f"\n{label}: skipped (dataset-fashion-mnist not installed)")
        continue
    scratch = subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip()
    lw, lr, lo = run(lurn_cmd, cwd=scratch)
    tw, tr, to = run(torch_cmd, cwd=scratch)
    subprocess.run(["rm", "-rf", scratch])
    print(f"\n{label}: lurn {lw:.2f} s, {lr:.0f} MiB peak RSS | PyTorch {tw:.2f} s, {tr:.0f} MiB "
          f"| {tw / lw:.1f}x faster, {tr / lr:.1f}x less memory")
    if "fashion" in label.lower():  # the twin's result lines, side by side
        for key in ("load", "pretrain(0-4)", "target(5-9", "distill", "multitask acc", "total"):
            pick = lambda text: next((l.strip() for l in text.splitlines() if l.startswith(key)), "-")
            print(f"  lurn:  {pick(lo)}\n  torch: {pick(to)}")
