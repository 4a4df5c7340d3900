#!/usr/bin/python3
"""Checkpoint interchange fixtures, both directions (run by hand with python3-torch):
  PyTorch -> lurn: torch_ffnn.safetensors (a PyTorch-initialised seed FFNN state_dict) and
                   torch_ffnn_io.safetensors (inputs and PyTorch's predictions);
  lurn -> PyTorch: reads lurn_ffnn.safetensors (written by make_lurn_checkpoint.lua),
                   loads it into the PyTorch model and writes torch_preds_of_lurn.safetensors.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

from gen_parity import save_safetensors

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def load_safetensors(path):
    """A plain reader: 8-byte length, JSON header, little-endian data."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    dtypes = {"F32": "<f4", "I64": "<i8", "BOOL": "?"}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        a = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=dtypes[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(a.copy())
    return out


class FFNNModel(nn.Module):
    """The seed notebook's model; its keys (fc1.weight, ...) are lurn's too."""

    def __init__(self, input_size):
        super().__init__()
        self.fc1 = nn.Linear(input_size, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 32)
        self.fc4 = nn.Linear(32, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return torch.sigmoid(self.fc4(x))


torch.manual_seed(3)
m = FFNNModel(20)
X = torch.rand(16, 20)
with torch.no_grad():
    p = m(X)
sd = {k: v.numpy() for k, v in m.state_dict().items()}
save_safetensors(sd, os.path.join(FIX, "torch_ffnn.safetensors"), {"written_by": "PyTorch " + torch.__version__})
save_safetensors({"X": X.numpy(), "pred": p.numpy()}, os.path.join(FIX, "torch_ffnn_io.safetensors"))

lurn_sd = load_safetensors(os.path.join(FIX, "lurn_ffnn.safetensors"))
m2 = FFNNModel(20)
m2.load_state_dict(lurn_sd, strict=True)
with torch.no_grad():
    p2 = m2(X)
save_safetensors({"pred": p2.numpy()}, os.path.join(FIX, "torch_preds_of_lurn.safetensors"))
print("wrote checkpoint interchange fixtures")
