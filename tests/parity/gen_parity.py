#!/usr/bin/python3
"""Writes the PyTorch parity fixtures that tests/lua/test_parity_*.lua compare against.

Run by hand where Debian's python3-torch is installed (the fixtures are committed):
    /usr/bin/python3 tests/parity/gen_parity.py
Everything is float32 and seeded, so reruns write the same files.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def save_safetensors(tensors, path, metadata=None):
    """A minimal safetensors writer (the format is an 8-byte header length, a JSON
    header and raw little-endian data), so no extra Python package is needed."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.array(tensors[name], order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("bool"): "BOOL"}[a.dtype]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def t2n(t):
    return t.detach().numpy().copy()


def layer_cases():
    torch.manual_seed(0)
    out = {}

    def grads_of(name, fn, inputs, params=()):
        """forward fn, then backward of sum(y * g) for a random upstream gradient g"""
        for t in list(inputs) + list(params):
            t.requires_grad_(True)
        y = fn(*inputs)
        g = torch.randn_like(y)
        (y * g).sum().backward()
        for i, t in enumerate(inputs):
            out[f"{name}.x{i}"] = t2n(t)
            if t.grad is not None:
                out[f"{name}.gx{i}"] = t2n(t.grad)
        for i, p in enumerate(params):
            out[f"{name}.p{i}"] = t2n(p)
            out[f"{name}.gp{i}"] = t2n(p.grad)
        out[f"{name}.y"] = t2n(y)
        out[f"{name}.g"] = t2n(g)

    lin = nn.Linear(5, 4)
    grads_of("linear", lin, [torch.randn(3, 5)], [lin.weight, lin.bias])
    lin3 = nn.Linear(6, 2)
    grads_of("linear3d", lin3, [torch.randn(2, 3, 6)], [lin3.weight, lin3.bias])
    lnb = nn.Linear(4, 3, bias=False)
    grads_of("linear_nobias", lnb, [torch.randn(5, 4)], [lnb.weight])
    grads_of("relu", nn.ReLU(), [torch.randn(4, 5)])
    grads_of("sigmoid", nn.Sigmoid(), [torch.randn(4, 5) * 4])
    grads_of("tanh", nn.Tanh(), [torch.randn(4, 5) * 2])
    grads_of("softmax", nn.Softmax(dim=1), [torch.randn(4, 5) * 3])
    grads_of("log_softmax", nn.LogSoftmax(dim=1), [torch.randn(4, 5) * 3])
    grads_of("softmax0", nn.Softmax(dim=0), [torch.randn(4, 5)])
    grads_of("flatten", nn.Flatten(), [torch.randn(2, 3, 4)])
    return out


def loss_cases():
    torch.manual_seed(1)
    out = {}

    def case(name, fn, x, target, **extra):
        x = x.clone().requires_grad_(True)
        loss = fn(x, target)
        g = torch.randn_like(loss) if loss.dim() > 0 else torch.ones(())
        (loss * g).sum().backward()
        out[f"{name}.x"] = t2n(x)
        out[f"{name}.target"] = t2n(target)
        out[f"{name}.loss"] = t2n(loss)
        out[f"{name}.g"] = t2n(g)
        out[f"{name}.gx"] = t2n(x.grad)
        for k, v in extra.items():
            out[f"{name}.{k}"] = t2n(v)

    N, C = 6, 4
    logits = torch.randn(N, C) * 2
    labels = torch.randint(0, C, (N,))
    probs = torch.rand(N, 1) * 0.98 + 0.01
    binary = torch.randint(0, 2, (N, 1)).float()
    w = torch.rand(C) + 0.5
    pw = torch.tensor([2.5])
    reg_x, reg_y = torch.randn(N, 3), torch.randn(N, 3)
    lab_ign = labels.clone()
    lab_ign[2] = -100

    case("bce", nn.BCELoss(), probs, binary)
    case("bce_sum", nn.BCELoss(reduction="sum"), probs, binary)
    case("bce_logits", nn.BCEWithLogitsLoss(), logits[:, :1].contiguous() * 3, binary)
    case("bce_logits_pw", nn.BCEWithLogitsLoss(pos_weight=pw), logits[:, :1].contiguous(), binary, pos_weight=pw)
    case("ce", nn.CrossEntropyLoss(), logits, labels)
    case("ce_none", nn.CrossEntropyLoss(reduction="none"), logits, labels)
    case("ce_sum", nn.CrossEntropyLoss(reduction="sum"), logits, labels)
    case("ce_weight", nn.CrossEntropyLoss(weight=w), logits, labels, weight=w)
    case("ce_ignore", nn.CrossEntropyLoss(), logits, lab_ign)
    case("ce_smooth", nn.CrossEntropyLoss(label_smoothing=0.1), logits, labels)
    case("ce_smooth_weight", nn.CrossEntropyLoss(weight=w, label_smoothing=0.2), logits, lab_ign, weight=w)
    case("ce_probs", nn.CrossEntropyLoss(), logits, torch.softmax(torch.randn(N, C), 1))
    case("nll", nn.NLLLoss(), torch.log_softmax(logits, 1), labels)
    case("mse", nn.MSELoss(), reg_x, reg_y)
    case("mse_none", nn.MSELoss(reduction="none"), reg_x, reg_y)
    case("l1", nn.L1Loss(), reg_x, reg_y)
    case("smooth_l1", nn.SmoothL1Loss(beta=0.5), reg_x, reg_y)
    case("kl_batchmean", nn.KLDivLoss(reduction="batchmean"), torch.log_softmax(logits, 1),
         torch.softmax(torch.randn(N, C), 1))
    case("kl_log_target", nn.KLDivLoss(reduction="sum", log_target=True), torch.log_softmax(logits, 1),
         torch.log_softmax(torch.randn(N, C), 1))

    # Hinton distillation: alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE
    teacher = torch.randn(N, C) * 3
    T, alpha = 4.0, 0.7

    def distill(s, y):
        kd = F.kl_div(F.log_softmax(s / T, 1), F.softmax(teacher / T, 1), reduction="batchmean")
        return alpha * T * T * kd + (1 - alpha) * F.cross_entropy(s, y)

    case("distill", distill, logits, labels, teacher=teacher)
    return out


class MLP(nn.Module):
    """The seed's FFNN shape: 20-128-64-32-k with ReLUs."""

    def __init__(self, k):
        super().__init__()
        self.fc1 = nn.Linear(20, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 32)
        self.fc4 = nn.Linear(32, k)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        return self.fc4(x)


def train_cases(steps=25):
    out = {}
    torch.manual_seed(2)
    X = torch.rand(200, 20)
    yb = torch.randint(0, 2, (200, 1)).float()
    yc = torch.randint(0, 3, (200,))
    out["X"], out["y_binary"], out["y_class"] = t2n(X), t2n(yb), t2n(yc)

    def run(name, k, make_opt, loss_fn, target, freeze=()):
        m = MLP(k)
        for n, p in m.named_parameters():
            out[f"{name}.init.{n}"] = t2n(p)
        for f in freeze:
            for p in getattr(m, f).parameters():
                p.requires_grad_(False)
        opt = make_opt(m.parameters())
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(m(X), target)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        out[f"{name}.losses"] = np.array(losses, dtype=np.float32)
        for n, p in m.named_parameters():
            out[f"{name}.final.{n}"] = t2n(p)

    bce = lambda o, y: F.binary_cross_entropy(torch.sigmoid(o), y)
    run("adam_bce", 1, lambda p: torch.optim.Adam(p, lr=1e-3), bce, yb)
    run("sgd_ce", 3, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
        F.cross_entropy, yc, freeze=("fc1",))
    run("sgd_nesterov", 3, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        F.cross_entropy, yc)
    run("adamw_amsgrad", 3, lambda p: torch.optim.AdamW(p, lr=2e-3, weight_decay=0.05, amsgrad=True),
        F.cross_entropy, yc)
    run("adam_wd", 1, lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.8, 0.99), weight_decay=1e-2),
        bce, yb)
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    meta = {"generator": "tests/parity/gen_parity.py", "torch": torch.__version__}
    save_safetensors(layer_cases(), os.path.join(OUT, "parity_layers.safetensors"), meta)
    save_safetensors(loss_cases(), os.path.join(OUT, "parity_losses.safetensors"), meta)
    save_safetensors(train_cases(), os.path.join(OUT, "parity_train.safetensors"), meta)
    print("wrote parity fixtures to", os.path.normpath(OUT))
