"""Sizes and training constants of the GPT experiment
(:mod:`sparsefield.empirical.gpt_experiment`).

Plain data; the size names (stored in every record's config) and their order are
:data:`sparsefield.results.names.GPT_SIZES`, where the figures read them.
"""

from sparsefield.results.names import GPT_SIZES

# Architecture and budget per size.  "cpu" is sized for ~1.5 min per activation on one
# core; "gpu" is the nanoGPT shakespeare-char model.
SIZES: dict[str, dict] = dict(zip(GPT_SIZES, (
    dict(n_layer=2, n_head=2, d_model=32, block_size=32, batch_size=16, steps=60,  # ci
         eval_every=20, eval_tokens=2048, metrics_tokens=1024, lr=3e-3),
    dict(n_layer=4, n_head=4, d_model=64, block_size=64, batch_size=32, steps=500,  # cpu
         eval_every=50, eval_tokens=16384, metrics_tokens=8192, lr=3e-3),
    dict(n_layer=6, n_head=6, d_model=384, block_size=256, batch_size=64, steps=5000,  # gpu
         eval_every=250, eval_tokens=262144, metrics_tokens=8192, lr=1e-3),
), strict=True))
TRAIN = dict(weight_decay=0.1, beta2=0.99, warmup_frac=0.05, min_lr_frac=0.1, grad_clip=1.0,
             val_fraction=0.1)
