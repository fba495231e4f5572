"""Issue 26, faults: a full disk (a real tiny tmpfs when run as root, else writes made to
fail with ENOSPC), two processes training into one results folder, and (in
test_security_local) truncated checkpoints.  Each ends in a clean message naming the
path, exit 2, no temporary left behind, nothing trained twice or lost."""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_fuzz_cli import run_cli  # noqa: E402


@contextlib.contextmanager
def full_disk(tmp_path: Path, monkeypatch):
    """A folder on a 16 KiB tmpfs (root), else a folder whose writes fail with ENOSPC."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
        capture_output=True).returncode == 0
    if not mounted:
        real_write = os.write

        def write(fd, data):
            if str(folder) in os.readlink(f"/proc/self/fd/{fd}"):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)
        monkeypatch.setattr(os, "write", write)
    try:
        yield folder
    finally:
        if mounted:  # (a failed savefig can leave its file open until collected)
            gc.collect()
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(folder)], check=True)


def test_store_write_on_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    from sparsefield.empirical.store import atomic_write_json

    with full_disk(tmp_path, monkeypatch) as folder:
        with pytest.raises(OSError) as err:
            atomic_write_json(folder / "big.json", {"x": list(range(100000))})
        assert err.value.errno == errno.ENOSPC and err.value.filename == str(folder / "big.json")
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_checkpoint_write_on_a_full_disk_is_an_os_error_naming_it(tmp_path, monkeypatch):
    import torch

    from sparsefield.empirical.store import atomic_torch_save

    with full_disk(tmp_path, monkeypatch) as folder:
        with pytest.raises(OSError) as err:
            atomic_torch_save(folder / "ckpt.pt", {"w": torch.zeros(100000)})
        assert err.value.filename == str(folder / "ckpt.pt")
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_figures_on_a_full_disk_exit_2_naming_the_path(tmp_path, monkeypatch):
    """Was an AttributeError traceback and a partial ``.pdf.tmp``: now an OSError naming
    the figure, which the CLI prints as one line, exit 2."""
    import matplotlib.pyplot as plt

    from sparsefield.figures import catalogue, style

    with full_disk(tmp_path, monkeypatch) as folder:
        fig, ax = plt.subplots()
        ax.plot(range(10000), [i % 7 for i in range(10000)])
        with pytest.raises(OSError) as err:
            style.save(fig, folder, "big")
        assert err.value.filename in (str(folder / "big.png"), str(folder / "big.pdf"))
        assert not [p for p in folder.rglob("*.tmp")]

        def draw(res, out, notes):
            fig, ax = plt.subplots()
            ax.plot(range(10000), [i % 7 for i in range(10000)])
            return style.save(fig, out, "big")
        monkeypatch.setattr(catalogue, "FIGURES", [catalogue.Figure("big", "t", "c", draw)])
        rc, out, err = run_cli(["figures", "--results", str(tmp_path), "--out", str(folder),
                                "--no-progress"])
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and str(folder / "big.") in lines[0], err[-2000:]
        assert not [p for p in folder.rglob("*.tmp")]


CONCURRENT = """
import sys, time
from pathlib import Path
from sparsefield.empirical.config import RunOptions, point
from sparsefield.empirical.runner import run_points
from sparsefield.empirical.store import ResultStore
root, go = Path(sys.argv[1]), Path(sys.argv[2])
pts = [(f"w{w}", point(activation="relu", width=w, depth=2, dataset="mixture", n_train=256,
                       n_test=64, steps=150, batch_size=32, lr=0.05, log_every=10,
                       eval_every=150, eval_size=64)) for w in (8, 9, 10, 11)]
while not go.exists():
    time.sleep(0.05)
rep = run_points(ResultStore(root, "t"), pts, [0], RunOptions(out=str(root), progress=False,
                                                              max_members=1))
print(len(rep.ran))
"""


def test_two_processes_on_one_results_folder_train_each_run_once(tmp_path):
    """Was: every run trained twice.  Per-run locks (empirical/locks.py): whoever holds a
    run's lock trains it, the other skips it once it is stored."""
    from sparsefield.empirical.store import ResultStore

    go = tmp_path / "go"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(CONCURRENT),
                               str(tmp_path / "res"), str(go)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    time.sleep(1.0)
    go.touch()  # both start training at about the same time
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-1500:] for _, e in outs]
    ran = [int(o.split()[-1]) for o, _ in outs]
    assert sum(ran) == 4, ran  # without the locks: 8
    assert len(ResultStore(tmp_path / "res", "t").load_all()) == 4
