"""Training overhead: the instrumented trainer against plain loops doing the same work.

Three ways to train ``--members`` MLPs (EoC initialisation, catalogue activation) with
SGD on random-index minibatches of ``--batch-size`` samples, the data on the device:

* ``plain``: one model at a time, each an ``nn.Sequential`` (the straightforward loop);
* ``stacked``: all members as one batched model (:class:`EnsembleMLP`), no hooks;
* ``trainer``: :func:`sparsefield.empirical.train.train_ensemble` itself, with its
  instrumentation, logging, diagnostics and evaluations.  Its per-step cost is
  ``(T(warmup + steps) - T(warmup)) / steps`` over two calls that evaluate equally often
  (at step 0 and at the end), so the evaluations cancel and the per-step overhead remains.

Each is repeated ``--repeats`` times; the medians of per-step CPU time (``process_time``,
robust on a shared machine; wall time printed too) give the ratios, in one run, with the
load average before and after.  [P24] size (issue 27):

    python benchmarks/bench_training.py --members 4 --width 300 --depth 100 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from sparsefield.empirical.config import point
from sparsefield.empirical.data import random_data
from sparsefield.empirical.init import resolve
from sparsefield.empirical.models import build
from sparsefield.empirical.torch_act import TorchActivation
from sparsefield.empirical.train import member_loss, resolve_device, train_ensemble


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock(device: torch.device) -> tuple[float, float]:
    _sync(device)
    return time.process_time(), time.perf_counter()


def _point(args) -> dict:
    return point(activation=args.activation, width=args.width, depth=args.depth)


def _stacked(args, data, device) -> tuple[float, float]:
    """Per-step (cpu, wall) seconds of the batched model without hooks."""
    p = _point(args)
    model = build(p, [resolve(p)] * args.members, list(range(args.members)), data.shape,
                  data.n_classes).to(device)
    x, y = torch.from_numpy(data.x_train).to(device), torch.from_numpy(data.y_train).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(0)

    def step():
        idx = torch.randint(0, len(x), (args.batch_size,), generator=gen).to(device)
        loss = member_loss(model(x[idx]), y[idx], "ce")
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    c0, w0 = _clock(device)
    for _ in range(args.steps):
        step()
    c1, w1 = _clock(device)
    return (c1 - c0) / args.steps, (w1 - w0) / args.steps


def _plain(args, data, device) -> tuple[float, float]:
    """Per-step (cpu, wall) seconds of all members trained one at a time (summed)."""
    member = resolve(_point(args))
    x = torch.from_numpy(data.x_train).flatten(1).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    dims = [x.shape[1]] + [args.width] * args.depth + [data.n_classes]
    cpu = wall = 0.0
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
        c0, w0 = _clock(device)
        for _ in range(args.steps):
            step()
        c1, w1 = _clock(device)
        cpu, wall = cpu + c1 - c0, wall + w1 - w0
    return cpu / args.steps, wall / args.steps


def _trainer(args, data, device) -> tuple[float, float]:
    """Per-step (cpu, wall) seconds of ``train_ensemble`` (difference of two runs)."""
    p = _point(args)

    def run(steps: int) -> tuple[float, float]:
        model = build(p, [resolve(p)] * args.members, list(range(args.members)), data.shape,
                      data.n_classes)
        spec = dict(steps=steps, batch_size=args.batch_size, lr=args.lr,
                    log_every=args.log_every, stats_every=args.stats_every, eval_every=steps,
                    eval_size=args.eval_size)
        c0, w0 = _clock(device)
        train_ensemble(model, data, spec, args.members, device, progress=False)
        c1, w1 = _clock(device)
        return c1 - c0, w1 - w0

    short, full = run(args.warmup), run(args.warmup + args.steps)
    return (full[0] - short[0]) / args.steps, (full[1] - short[1]) / args.steps


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--width", type=int, default=300)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--stats-every", type=int, default=10,
                    help="activation statistics every k-th step (the [P24] sweeps: 10-20)")
    ap.add_argument("--eval-size", type=int, default=256)
    ap.add_argument("--n-train", type=int, default=4096)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data = random_data(n_train=args.n_train, n_test=args.eval_size).standardized()
    res = {"device": str(device) + (f" ({torch.cuda.get_device_name(device)})"
                                    if device.type == "cuda" else ""),
           "threads": torch.get_num_threads(), "load_before": os.getloadavg(),
           "config": {k: v for k, v in vars(args).items() if k != "json"}}
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "stacked": [], "trainer": []}
    for _ in range(args.repeats):  # interleaved, so a change in load hits all three
        times["plain"].append(_plain(args, data, device))
        times["stacked"].append(_stacked(args, data, device))
        times["trainer"].append(_trainer(args, data, device))
    res["load_after"] = os.getloadavg()
    for k, v in times.items():
        res[f"{k}_cpu_s_per_step"] = statistics.median(c for c, _ in v)
        res[f"{k}_wall_s_per_step"] = statistics.median(w for _, w in v)
        res[f"{k}_samples_per_s"] = args.members * args.batch_size / res[f"{k}_wall_s_per_step"]
    best = min(res["plain_cpu_s_per_step"], res["stacked_cpu_s_per_step"])
    res["trainer_over_best_plain"] = res["trainer_cpu_s_per_step"] / best
    res["stacked_over_one_at_a_time"] = res["stacked_cpu_s_per_step"] / res["plain_cpu_s_per_step"]
    # the keys benchmarks/gpu.sh reads: throughput ratios ensemble / one at a time
    res["ensemble_samples_per_s"] = res["trainer_samples_per_s"]
    res["ratio"] = res["plain_wall_s_per_step"] / res["trainer_wall_s_per_step"]
    res["ratio_no_hooks"] = res["plain_wall_s_per_step"] / res["stacked_wall_s_per_step"]
    if args.json:
        print(json.dumps(res, indent=2))
        return res
    print(f"device {res['device']}, {res['threads']} thread(s); {args.members} MLPs width "
          f"{args.width} depth {args.depth} ({args.activation}), batch {args.batch_size}, "
          f"{args.steps} timed steps, stats every {args.stats_every}, median of "
          f"{args.repeats}; load average "
          f"{res['load_before'][0]:.2f} before, {res['load_after'][0]:.2f} after")
    for k, what in (("plain", "one model at a time (nn.Sequential)"),
                    ("stacked", "stacked ensemble, no hooks"),
                    ("trainer", "train_ensemble (instrumented)")):
        print(f"  {what:<40}{res[f'{k}_cpu_s_per_step'] * 1e3:>9.1f} ms CPU/step"
              f"{res[f'{k}_wall_s_per_step'] * 1e3:>9.1f} ms wall/step")
    print(f"trainer / best plain loop (CPU medians): {res['trainer_over_best_plain']:.3f}")
    print("stacked ensemble / one at a time (CPU medians): "
          f"{res['stacked_over_one_at_a_time']:.3f}")
    return res


if __name__ == "__main__":
    main()
