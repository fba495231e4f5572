"""The sweep engine: grid files, a tiny sweep on a loopback LocalCluster, a worker killed
mid-sweep, and resumption (a rerun submits nothing)."""

import csv
import dataclasses
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from sparsefield.cli import main
from sparsefield.empirical.config import point
from sparsefield.empirical.store import ResultStore, point_key
from sparsefield.sweep import ensemble_chunks, ensemble_task, load_sweep, run_sweep, summary_up_to_date, train_task
from sparsefield.theory.errors import ParameterError

TINY = Path(__file__).resolve().parents[1] / "sweeps" / "tiny.toml"
SWEEPS = TINY.parent


def stored_files(store: ResultStore, sweep) -> dict:
    """Number of result files per (point, seed) of the sweep."""
    return {(label, s): len(list(store.dir.glob(f"*__{point_key(p)}__seed{s}.json")))
            for label, p in sweep.points for s in sweep.seeds}


def test_tiny_grid_and_sizes():
    sw = load_sweep(TINY)
    assert sw.name == "tiny" and sw.seeds == [0, 1]
    assert sw.axes == ("activation", "sparsity", "vprime")
    assert [label for label, _ in sw.points] == ["crelu_sparsity=0.7_vprime=0.5",
                                                 "cst_sparsity=0.7_vprime=0.5"]
    assert {p["width"] for _, p in sw.points} == {16}
    one = load_sweep(TINY, size="one")
    assert one.seeds == [0]
    assert [label for label, _ in one.points] == ["crelu_sparsity=0.7_vprime=0.5"]
    assert point_key(one.points[0][1]) == point_key(sw.points[0][1])


def test_shipped_sweep_files():
    p24 = load_sweep(SWEEPS / "p24_dnn.toml")
    # ReLU baseline + clipped (2 x 4 sparsities x 3 V') + 1.5x bifurcation + unclipped (2 x 4)
    assert len(p24.points) == 1 + 2 * 4 * 3 + 1 + 2 * 4 and p24.seeds == [0, 1, 2, 3, 4]
    assert {(p["width"], p["depth"]) for _, p in p24.points} == {(300, 100)}
    relu = [p for _, p in p24.points if p["activation"] == "relu"]
    assert len(relu) == 1 and relu[0]["sparsity"] is None and relu[0]["init"] == "eoc"
    paper = load_sweep(SWEEPS / "p24_dnn.toml", size="paper-cpu")
    assert len(paper.points) == 10 and paper.seeds == [0, 1]
    assert {p["sparsity"] for _, p in paper.points} == {None, 0.85}
    # the depth sweep shares p24_dnn's store: its depth-100 points are the paper-cpu ones
    depth = load_sweep(SWEEPS / "p24_depth.toml", size="cpu")
    assert depth.name == paper.name
    keys = {point_key(p) for _, p in paper.points}
    assert sum(point_key(p) in keys for _, p in depth.points if p["depth"] == 100) == 6
    dt26 = load_sweep(SWEEPS / "dt26_qstar.toml", size="cpu")
    assert {p["q_star"] for _, p in dt26.points} == {1.0, 3.0, 10.0}
    reduced = load_sweep(SWEEPS / "p24_dnn.toml", size="reduced")
    assert {p["activation"] for _, p in reduced.points} == {"relu", "crelu", "cst", "relu_tau", "st"}
    assert {p["vprime"] for _, p in reduced.points} == {None, 0.5, 0.7, 0.9}
    assert max(p["depth"] * p["width"] for _, p in reduced.points) < 300 * 100
    trade = load_sweep(SWEEPS / "tradeoff.toml")
    assert {p["force"] for _, p in trade.points} >= {"none", "quantile"}


def test_bad_sweep_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[base]\nwidht = 3\n[grid]\nactivation = ["crelu"]\n')
    with pytest.raises(ParameterError, match="widht"):
        load_sweep(bad)
    bad.write_text('[grid]\nactivation = ["crelux"]\n')
    with pytest.raises(ParameterError):
        load_sweep(bad)
    with pytest.raises(ParameterError, match="size"):
        load_sweep(TINY, size="huge")
    # Two grids giving one point twice (under two labels): it is trained once.
    dup = tmp_path / "dup.toml"
    dup.write_text('[[grid]]\nactivation = ["relu", "gelu"]\n'
                   '[[grid]]\nactivation = ["relu"]\ninit = ["eoc"]\n')
    assert [label for label, _ in load_sweep(dup).points] == ["relu", "gelu"]
    # Distinct points must not share a label (the summary groups seeds by label).
    dup.write_text('[grid]\nactivation = ["relu_tau"]\ntau = [0.5, 0.5000001]\n')
    with pytest.raises(ParameterError, match="distinct labels"):
        load_sweep(dup)


def test_bad_point_is_reported_not_retried(tmp_path):
    # point() rejects this at load now; a task can still meet it (a hand-made point)
    p = {**point(activation="relu", width=4, depth=1, dataset="random"), "sparsity": 0.7}
    res = train_task(str(tmp_path), "bad", "relu-sparse", p, 0)
    assert res["error"].startswith("ParameterError")
    assert not list((tmp_path / "bad").glob("*.json"))


def test_ensemble_chunks_and_task(tmp_path):
    """--max-members: runs grouped by ensemble group (one family per chunk), each run in
    exactly one chunk of at most max_members; a chunk trains as one batched ensemble."""
    sw = load_sweep(TINY)
    todo = [(label, p, s) for label, p in sw.points for s in sw.seeds]
    for size in (1, 2, 3, 8):
        chunks = ensemble_chunks(todo, size)
        assert sorted(r[0] + str(r[2]) for c in chunks for r in c) == \
            sorted(r[0] + str(r[2]) for r in todo)
        assert all(1 <= len(c) <= size for c in chunks)
        assert all(len({r[1]["activation"] for r in c}) == 1 for c in chunks)
    (crelu, cst) = ensemble_chunks(todo, 8)
    res = ensemble_task(str(tmp_path), "tiny", crelu, "cpu")
    assert res["ran"] == 2
    store = ResultStore(tmp_path, "tiny")
    recs = [json.loads(f.read_text()) for f in store.dir.glob("*.json")]
    assert len(recs) == 2 and {r["seed"] for r in recs} == {0, 1}
    assert {r["metrics"]["run"]["ensemble_size"] for r in recs} == {2}
    assert ensemble_task(str(tmp_path), "tiny", crelu, "cpu")["ran"] == 0  # stored: skipped


def test_in_process_ensemble_sweep(tmp_path, capsys):
    """--workers 0 (no Dask) with --max-members: every run trained, in ensembles."""
    args = ["sweep", str(TINY), "--results", str(tmp_path), "--workers", "0",
            "--max-members", "4", "--no-progress"]
    assert main(args) == 0
    assert "4 submitted, 0 skipped, 4 done, 0 failed" in capsys.readouterr().out
    recs = [json.loads(f.read_text()) for f in (tmp_path / "tiny").glob("*.json")]
    assert sorted(r["metrics"]["run"]["ensemble_size"] for r in recs) == [2, 2, 2, 2]
    assert main(args[:5] + ["-1", "--no-progress"]) == 2  # --workers -1: one-line error


def test_tiny_sweep_end_to_end_then_nothing_to_do(tmp_path, capsys):
    pytest.importorskip("distributed")
    args = ["sweep", str(TINY), "--results", str(tmp_path), "--workers", "1", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 submitted, 0 skipped, 4 done, 0 failed" in out
    sw, store = load_sweep(TINY), ResultStore(tmp_path, "tiny")
    assert set(stored_files(store, sw).values()) == {1}
    folder = tmp_path / "tiny" / "sweep-full"
    with open(folder / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert {(r["label"], int(r["seed"])) for r in rows} == {
        (label, s) for label, _ in sw.points for s in (0, 1)}
    for r in rows:
        assert 0.0 <= float(r["test_acc"]) <= 1.0 and r["diverged"] == "False"
        # At initialisation the exact-zero fraction is near its target (width 16, 128 inputs).
        assert abs(float(r["zero_init"]) - float(r["sparsity"])) < 0.1
    for fig in ("clipping_crelu_s0.7.png", "clipping_cst_s0.7.pdf", "tradeoff.png", "tradeoff.pdf"):
        assert (folder / fig).stat().st_size > 0
    assert not list(tmp_path.rglob("*.tmp"))

    record = json.loads((folder / "sweep.json").read_text())
    assert record["submitted"] == 4
    assert sorted(Path(f).name for f in record["outputs"]["figures"]) == sorted(  # a JSON list
        f"{stem}.{ext}" for stem in ("clipping_crelu_s0.7", "clipping_cst_s0.7", "tradeoff")
        for ext in ("png", "pdf"))
    written = {f: f.stat().st_mtime_ns for f in tmp_path.rglob("*") if f.is_file()}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0 submitted, 4 skipped, 0 done" in out and "crelu_sparsity=0.7_vprime=0.5" in out
    assert {f: f.stat().st_mtime_ns for f in tmp_path.rglob("*") if f.is_file()} == written
    # A result newer than the summary (trained elsewhere) makes a rerun summarise again.
    assert summary_up_to_date(folder / "sweep.json", store, sw)
    os.utime(next((tmp_path / "tiny").glob("*.json")))
    assert not summary_up_to_date(folder / "sweep.json", store, sw)


HANG = 600.0  # s: a generous ceiling for each wait below, not a timing


def test_worker_killed_mid_sweep(tmp_path):
    pytest.importorskip("distributed")
    import dask
    from distributed import Client, LocalCluster

    sw = dataclasses.replace(load_sweep(TINY), figures=())  # figures: tested above
    store = ResultStore(tmp_path, "tiny")
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        before = client.run(os.getpid)
        out, finished = [], threading.Event()

        def sweep():
            try:
                out.append(run_sweep(sw, tmp_path, scheduler=cluster.scheduler_address,
                                     progress=False))
            finally:
                finished.set()
        thread = threading.Thread(target=sweep, daemon=True)
        thread.start()
        # Event-driven waits, no fixed sleeps: the scheduler tells when a task runs, the
        # sweep's own completion ends the wait.  HANG only catches a real hang (a loaded
        # machine makes each step slow, not wrong).
        deadline = time.monotonic() + HANG
        while not any(client.processing().values()):
            assert not finished.is_set(), "the sweep ended before any task was seen running"
            assert time.monotonic() < deadline, "no task started"
            finished.wait(0.05)
        victim = next(w for w, keys in client.processing().items() if keys)
        os.kill(before[victim], signal.SIGKILL)
        assert finished.wait(HANG), "the sweep did not finish after the worker was killed"
        thread.join()
        client.wait_for_workers(1, timeout=HANG)
        after = client.run(os.getpid)
    report = out[0]
    assert before[victim] not in after.values()  # the nanny started a new worker
    assert report.submitted == 4 and len(report.done) == 4, report.failed
    assert not report.failed
    assert set(stored_files(store, sw).values()) == {1}


def test_paper_results_verdicts_relative_to_relu():
    """A run at chance or diverged is 'failed' whatever the baseline; within 0.02 of ReLU
    'matches ReLU'; in between 'degraded'."""
    from sparsefield.paper_results import short_label, verdict

    assert verdict(0.11, 0.92, False) == "failed"
    assert verdict(0.15, None, False) == "failed"
    assert verdict(0.91, 0.92, True) == "failed"
    assert verdict(float("nan"), 0.92, False) == "failed"
    assert verdict(0.905, 0.92, False) == "matches ReLU"
    assert verdict(0.60, 0.92, False) == "degraded"
    assert short_label(point(activation="crelu", sparsity=0.85, vprime=0.5)) == "CReLU V'=0.5"
    assert short_label(point(activation="relu")) == "ReLU"
