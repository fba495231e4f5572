"""Memory a training run needs, estimated before it starts (torch-free arithmetic).

An ensemble of ``E`` members of an MLP (input ``d``, ``depth`` hidden layers of ``width``,
``C`` classes) holds ``P = E (d w + (depth - 1) w^2 + w C)`` parameters (a CNN:
``E (c_in c + (depth - 1) c^2) k^2 + E c C``), each stored as float32 with its gradient
and the optimiser's state (momentum: one more copy, Adam: two); the forward pass keeps
the pre- and post-activations of every layer for backward, ``2 E B w depth`` numbers for
a batch of ``B`` (a CNN: times the ``H W`` pixels); evaluation runs in batches as large,
without gradients.
:func:`check_fits` refuses a run whose estimate exceeds the memory of its device, naming
the estimate, before any data moves.
"""

from __future__ import annotations

import math
import os

from sparsefield.theory.errors import ParameterError

FLOAT = 4  # bytes per float32
SLACK = 1.5  # allocator, instrumentation, temporaries


def estimate_bytes(p: dict, data_shape: tuple[int, ...], n_classes: int, members: int) -> int:
    """Estimated peak bytes of training config point ``p`` as an ensemble of ``members``."""
    depth, batch = int(p["depth"]), int(p.get("batch_size", 128))
    states = 2 + {"sgd": 1 if p.get("momentum") else 0, "adam": 2}.get(p.get("optimizer", "sgd"), 2)
    if p.get("model", "mlp") == "cnn" and len(data_shape) == 3:
        c, k = int(p.get("channels") or p["width"]), int(p.get("kernel", 3))
        params = (data_shape[0] * c + (depth - 1) * c * c) * k * k + c * n_classes
        acts = 2 * batch * c * depth * data_shape[1] * data_shape[2]
    else:
        w, d = int(p["width"]), math.prod(data_shape)
        params = d * w + (depth - 1) * w * w + w * n_classes
        acts = 2 * batch * w * depth
    return int(SLACK * FLOAT * members * (states * params + acts))


def available_bytes(device) -> int:
    """Physical memory of ``device``: the GPU's total memory, else the machine's RAM."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(device).total_memory)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_fits(p: dict, data_shape: tuple[int, ...], n_classes: int, members: int, device) -> None:
    """:class:`ParameterError` when :func:`estimate_bytes` exceeds :func:`available_bytes`."""
    need, have = estimate_bytes(p, data_shape, n_classes, members), available_bytes(device)
    if need > have:
        size = (f"width {p['width']}" if p.get("model", "mlp") != "cnn"
                else f"channels {p.get('channels') or p['width']}")
        raise ParameterError("width", f"{size}, depth {p['depth']}, {members} member(s)",
                             f"a network that fits in memory: it needs about {need / 2**30:,.1f} "
                             f"GiB, {device} has {have / 2**30:,.1f} GiB (lower width, depth, "
                             "batch_size or max_members)")
