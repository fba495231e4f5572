"""The result store: atomic JSON with config/seed/versions, keys, loading; torch-free imports."""

import json
import subprocess
import sys

from sparsefield.empirical.store import ResultStore, atomic_write_json, point_key


def test_write_has_load_roundtrip(tmp_path):
    store = ResultStore(tmp_path, "exp")
    cfg = {"activation": "relu", "width": 8, "lr": 0.1}
    assert not store.has(cfg, 0)
    done = {"eval": {"step": [1], "test_acc": [0.5]}, "final": {"test_acc": 0.5}}
    path = store.write(cfg, 0, {**done, "bad": float("nan"), "curve": [1.0, float("inf")]},
                       label="relu w8")
    assert store.has(cfg, 0) and not store.has(cfg, 1)
    assert path.name.startswith("relu-w8__") and path.name.endswith("__seed0.json")
    rec = store.load(cfg, 0)
    assert rec["config"] == cfg and rec["seed"] == 0 and rec["versions"]["torch"]
    assert rec["metrics"] == {**done, "bad": None, "curve": [1.0, None]}
    store.write({**cfg, "lr": 0.2}, 0, done, label="other")
    store.write_summary({"rows": {}})
    assert [r["config"]["lr"] for r in store.load_all()] == [0.2, 0.1]  # summary.json excluded
    assert not list(tmp_path.rglob("*.tmp"))


def test_point_key_ignores_dict_order_and_changes_with_values():
    a = {"x": 1, "y": [1, 2]}
    assert point_key(a) == point_key({"y": [1, 2], "x": 1})
    assert point_key(a) != point_key({"x": 2, "y": [1, 2]})


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = atomic_write_json(tmp_path / "a.json", {"v": 1})
    try:
        atomic_write_json(path, {"v": object()})
    except TypeError:
        pass
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_store_experiments_and_cli_parser_import_without_torch():
    code = ("import sys, sparsefield.empirical.store, sparsefield.empirical.experiments.drift, "
            "sparsefield.empirical.experiments.clipping, sparsefield.empirical.experiments.tradeoff, "
            "sparsefield.cmd_empirical; "
            "bad = [m for m in ('torch', 'sympy') if m in sys.modules]; assert not bad, bad; "
            "import sparsefield.cli; sparsefield.cli.build_parser(); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
