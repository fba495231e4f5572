"""Training throughput: the batched ensemble vs one model at a time.

Both train ``--members`` MLPs (EoC initialisation, catalogue activation) for ``--steps``
SGD steps of ``--batch-size`` samples, with the data on the device and minibatches drawn
by random indices in the same way.  The ensemble path trains all members in one batched
model with the instrumentation hooks on (host sync every ``--log-every`` steps), as
:mod:`sparsefield.empirical.train` does, and without them; the plain path loops over
members, each an ``nn.Sequential``.  Throughput is member-samples per second; the ratio is
ensemble / plain (the fair one: a per-sample DataLoader baseline would inflate it).

    python benchmarks/bench_training.py --members 8 --width 256 --depth 4 --device auto
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from sparsefield.empirical.config import point
from sparsefield.empirical.data import random_data
from sparsefield.empirical.init import resolve
from sparsefield.empirical.instrument import Instrument
from sparsefield.empirical.models import build
from sparsefield.empirical.torch_act import TorchActivation
from sparsefield.empirical.train import member_loss, resolve_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_ensemble(args, data, device, instrument: bool) -> float:
    p = point(activation=args.activation, width=args.width, depth=args.depth)
    members = [resolve(p)] * args.members
    model = build(p, members, list(range(args.members)), data.shape, data.n_classes).to(device)
    x, y = torch.from_numpy(data.x_train).to(device), torch.from_numpy(data.y_train).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    inst = Instrument(model, args.members) if instrument else None
    if inst:
        inst.mode = "train"
    gen = torch.Generator().manual_seed(0)

    def step(t):
        idx = torch.randint(0, len(x), (args.batch_size,), generator=gen).to(device)
        loss = member_loss(model(x[idx]), y[idx], "ce")
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        if inst:
            inst.after_backward(loss)
        opt.step()
        if inst and t % args.log_every == 0:
            inst.fetch()

    for t in range(args.warmup):
        step(t + 1)
    _sync(device)
    start = time.perf_counter()
    for t in range(args.steps):
        step(t + 1)
    if inst:
        inst.fetch()
    _sync(device)
    return args.members * args.steps * args.batch_size / (time.perf_counter() - start)


def bench_plain(args, data, device) -> float:
    """One model at a time: an ``nn.Sequential`` per member, trained with the same data on
    the device and the same random-index minibatches as :func:`bench_ensemble` (no
    per-sample DataLoader: that would time Python batching, not the models)."""
    p = point(activation=args.activation, width=args.width, depth=args.depth)
    member = resolve(p)
    x = torch.from_numpy(data.x_train).flatten(1).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    dims = [x.shape[1]] + [args.width] * args.depth + [data.n_classes]
    elapsed = 0.0
    for seed in range(args.members):
        torch.manual_seed(seed)
        layers = []
        for i, (a, b) in enumerate(zip(dims, dims[1:])):
            layers.append(nn.Linear(a, b))
            if i < args.depth:
                layers.append(TorchActivation(member.act, 0, 2))
        model = nn.Sequential(*layers).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=args.lr)
        gen = torch.Generator().manual_seed(seed)

        def step():
            idx = torch.randint(0, len(x), (args.batch_size,), generator=gen).to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(args.warmup):
            step()
        _sync(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        _sync(device)
        elapsed += time.perf_counter() - start
    return args.members * args.steps * args.batch_size / elapsed


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data = random_data(n_train=args.n_train, n_test=10).standardized()
    res = {"device": str(device) + (f" ({torch.cuda.get_device_name(device)})"
                                    if device.type == "cuda" else ""),
           "config": {k: v for k, v in vars(args).items() if k != "json"}}
    res["plain_samples_per_s"] = bench_plain(args, data, device)
    res["ensemble_samples_per_s"] = bench_ensemble(args, data, device, instrument=True)
    res["ensemble_no_hooks_samples_per_s"] = bench_ensemble(args, data, device, instrument=False)
    res["ratio"] = res["ensemble_samples_per_s"] / res["plain_samples_per_s"]
    res["ratio_no_hooks"] = res["ensemble_no_hooks_samples_per_s"] / res["plain_samples_per_s"]
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"device {res['device']}; {args.members} MLPs width {args.width} depth {args.depth} "
              f"({args.activation}), batch {args.batch_size}, {args.steps} steps")
        print(f"{'one model at a time':<34}{res['plain_samples_per_s']:>14,.0f} samples/s")
        print(f"{'ensemble (instrumented)':<34}{res['ensemble_samples_per_s']:>14,.0f} samples/s")
        print(f"{'ensemble (no hooks)':<34}{res['ensemble_no_hooks_samples_per_s']:>14,.0f} samples/s")
        print(f"ratio ensemble/plain: {res['ratio']:.2f} (no hooks: {res['ratio_no_hooks']:.2f})")
    return res


if __name__ == "__main__":
    main()
