"""PyTorch side of bench/train_throughput: times the same training step in Python.

Prints one JSON line: {"images_per_s": ..., "params": ..., "threads": ...}.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import Network  # noqa: E402


def focal_dice(z, t, alpha=0.75, gamma=2.0):
    logp = torch.nn.functional.logsigmoid(z)
    log1mp = torch.nn.functional.logsigmoid(-z)
    p = logp.exp()
    focal = (t * (-alpha * (1 - p) ** gamma * logp) + (1 - t) * (-(1 - alpha) * p**gamma * log1mp)).mean()
    ps = torch.sigmoid(z)
    dice = 1 - (2 * (ps * t).sum() + 1) / (ps.sum() + t.sum() + 1)
    return focal + dice


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--genome", required=True)
    ap.add_argument("--bands", type=int, default=4)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--channels-last", action="store_true", help="model and input in channels_last")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Network(a.genome, a.bands)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.randn(a.batch, a.bands, a.size, a.size)
    t = (torch.rand(a.batch, 1, a.size, a.size) > 0.97).float()
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = focal_dice(net(x), t)
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    print(json.dumps({"images_per_s": a.steps * a.batch / dt, "params": params, "threads": a.threads}))


if __name__ == "__main__":
    main()
