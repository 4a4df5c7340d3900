#!/usr/bin/python3
"""Writes tests/fixtures/numpy_sklearn.safetensors: NumPy legacy RandomState draws and the
rows scikit-learn's train_test_split selects, for tests/lua/test_data.lua to match.
Run by hand with Debian's python3-numpy and python3-sklearn (the fixture is committed)."""
import os
import sys

import numpy as np
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
from gen_parity import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "numpy_sklearn.safetensors")
f32 = lambda a: np.asarray(a, dtype=np.float32)
i64 = lambda a: np.asarray(a, dtype=np.int64)

out = {}
# the seed notebook's data
np.random.seed(42)
X = np.random.rand(1000, 20)
y = np.random.randint(2, size=1000)
out["seed42.rand"], out["seed42.randint"] = f32(X), i64(y)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42)
out["seed42.Xtr"], out["seed42.Xte"], out["seed42.ytr"], out["seed42.yte"] = f32(Xtr), f32(Xte), i64(ytr), i64(yte)
X_fixed = np.random.rand(100, 20)  # the notebook's next cell continues the same stream
out["seed42.next_rand"] = f32(X_fixed)

np.random.seed(0)
out["seed0.randn"] = f32(np.random.randn(7, 3))
out["seed0.randint"] = i64(np.random.randint(-5, 17, size=50))
out["seed0.uniform"] = f32(np.random.uniform(-2, 3, size=10))
out["seed0.normal"] = f32(np.random.normal(1.5, 0.5, size=10))
out["seed7.permutation"] = i64(np.random.RandomState(7).permutation(37))
big = np.random.RandomState(3).randint(0, 2**40, size=8)  # 64-bit draws
out["seed3.randint_big"] = i64(big)
a = np.arange(20)
np.random.RandomState(11).shuffle(a)
out["seed11.shuffle"] = i64(a)

# splits, as row indices
idx = np.arange(103)
labels = np.array([0] * 50 + [1] * 30 + [2] * 23)
cases = {
    "plain": dict(test_size=0.2, random_state=42),
    "int_test": dict(test_size=17, random_state=5),
    "train_size": dict(train_size=0.5, test_size=0.3, random_state=1),
    "no_shuffle": dict(test_size=0.25, shuffle=False),
    "stratify": dict(test_size=0.2, random_state=42, stratify=labels),
    "stratify_odd": dict(test_size=0.33, random_state=9, stratify=labels),
}
for name, kw in cases.items():
    tr, te = train_test_split(idx, **kw)
    out[f"split.{name}.train"], out[f"split.{name}.test"] = i64(tr), i64(te)
out["split.labels"] = i64(labels)

save_safetensors(out, OUT, {"generator": "tests/data/gen_random_split.py"})
print("wrote", os.path.normpath(OUT))
