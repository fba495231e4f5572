"""Test set-up: one thread for torch and numba (the CI machine has 2 shared cores)."""

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "2")

try:
    import torch
except ImportError:  # torch is optional for the theory and numerics tests
    torch = None
else:
    torch.set_num_threads(1)
