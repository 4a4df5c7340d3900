#!/usr/bin/python3
"""PyTorch's side of one benchmark workload, so that each runs in its own process (peak RSS
per workload). The step workloads are ../shared/reference/bench_torch.py's code, with a
filter and a steps argument; "elementwise" is the twin of bench_lurn.lua's.
usage: torch_step.py THREADS NAME"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
NAME = sys.argv[2]

WORKLOADS = {
    "seed-mlp 20-128-64-32-2 b32": ([20, 128, 64, 32, 2], 32, 2000),
    "mnist-mlp 784-512-256-10 b128": ([784, 512, 256, 10], 128, 300),
    "mnist-mlp 784-512-256-10 b1024": ([784, 512, 256, 10], 1024, 50),
    "wide-mlp 1024-4096-4096-1024 b256": ([1024, 4096, 4096, 1024], 256, 10),
}


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


if NAME in WORKLOADS:
    sizes, batch, steps = WORKLOADS[NAME]
    m = mlp(sizes)
    opt = optim.Adam(m.parameters(), lr=1e-3)
    x = torch.rand(batch, sizes[0])
    y = torch.randint(sizes[-1], (batch,))
    crit = nn.CrossEntropyLoss()
    for _ in range(10):
        opt.zero_grad(); l = crit(m(x), y); l.backward(); opt.step()
    t = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(); l = crit(m(x), y); l.backward(); opt.step()
    dt = time.perf_counter() - t
    print(f"{NAME}: {steps/dt:.1f} steps/s  ({dt/steps*1e6:.1f} us/step)")
elif NAME == "sgemm":
    a = torch.rand(2048, 2048); b = torch.rand(2048, 2048)
    torch.mm(a, b)
    t = time.perf_counter(); n = 5
    for _ in range(n): torch.mm(a, b)
    dt = (time.perf_counter() - t) / n
    print(f"sgemm 2048^3: {2*2048**3/dt/1e9:.1f} GFLOP/s")
elif NAME == "elementwise":
    x = torch.rand(16 * 1024 * 1024); y = torch.rand(16 * 1024 * 1024)
    n, t = 5, time.perf_counter()
    for _ in range(n): z = x + y * 0.5; del z
    dt = (time.perf_counter() - t) / n
    print(f"elementwise x + 0.5*y (16M floats): {5*4*16*1024*1024/dt/1e9:.1f} GB/s")
    x = torch.rand(256 * 1024); y = torch.rand(256 * 1024)
    n, t = 2000, time.perf_counter()
    for _ in range(n): z = x + y; del z
    dt = (time.perf_counter() - t) / n
    print(f"elementwise x + y (256K floats, in cache): {3*4*256*1024/dt/1e9:.1f} GB/s")
else:
    sys.exit(f"unknown workload {NAME}")
