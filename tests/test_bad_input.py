"""Broken results and awkward runs: a truncated or otherwise corrupt record never counts
as finished, readers skip it with a warning naming the file and go on; a diverged run is
a result; a scheduler that does not answer is a quick one-line error."""

import json
import time

import pytest

from sparsefield.cli import main
from sparsefield.empirical.store import ResultStore

DRIFT = ["experiment", "drift", "--activations", "relu", "--datasets", "random", "--width", "8",
         "--depth", "2", "--steps", "4", "--n-train", "64", "--n-test", "32", "--eval-size", "32",
         "--eval-every", "2", "--log-every", "2", "--seeds", "0", "1", "--no-progress"]
CORRUPT = {"truncated": None, "binary": bytes(range(256)), "empty": b"",
           "nan": None, "schema": b'{"experiment": "drift", "seed": "zero"}'}


def _plant(store_dir, good):
    """Corrupt copies of the record ``good`` under names a record could have."""
    text = good.read_text()
    rec = json.loads(text)
    paths = {}
    for i, (kind, raw) in enumerate(CORRUPT.items()):
        p = store_dir / f"bad{kind}__{'%012x' % i}__seed0.json"
        if kind == "truncated":
            raw = text[: len(text) // 2].encode()
        elif kind == "nan":
            raw = json.dumps({**rec, "key": "%012x" % i}).replace('"seed": 0', '"seed": NaN').encode()
        p.write_bytes(raw)
        paths[kind] = p
    return paths


def test_truncated_record_is_redone_and_never_counted(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    assert main(DRIFT + out) == 0
    store = ResultStore(tmp_path, "drift")
    files = sorted(store.dir.glob("*__seed*.json"))
    assert len(files) == 2
    victim = files[0]
    victim.write_text(victim.read_text()[:100])  # a crash-truncated file (not ours, but seen)
    capsys.readouterr()
    assert main(DRIFT + out + ["--json"]) == 0
    cap = capsys.readouterr()
    summary = json.loads(cap.out)
    assert summary["ran"] == 1 and summary["skipped"] == 1  # redone, not skipped forever
    assert str(victim) in cap.err and "redone" in cap.err
    json.loads(victim.read_text())  # replaced by a complete record


@pytest.fixture(scope="module")
def drift_results(tmp_path_factory):
    from sparsefield.empirical.store import write_part
    from sparsefield.theory import curves

    root = tmp_path_factory.mktemp("drift-results")
    assert main(DRIFT + ["--out", str(root)]) == 0
    write_part(root, "theory", "drift_table", curves.drift_table())
    return root


def test_readers_skip_corrupt_records_with_a_warning_naming_each(drift_results, tmp_path, capsys):
    from sparsefield.figures.results import Results

    store = ResultStore(drift_results, "drift")
    good = sorted(store.dir.glob("*__seed*.json"))
    planted = _plant(store.dir, good[0])
    try:
        capsys.readouterr()
        records = Results(drift_results).records("drift")
        err = capsys.readouterr().err
        assert len(records) == len(good)
        for kind, p in planted.items():
            assert str(p) in err, kind
        assert main(["figures", "--results", str(drift_results), "--out", str(tmp_path),
                     "--only", "drift", "--formats", "png", "--no-progress"]) == 0
        assert (tmp_path / "drift.png").exists()
    finally:
        for p in planted.values():
            p.unlink()


def test_corrupt_summary_and_parts_read_as_absent(tmp_path, capsys):
    from sparsefield.empirical.store import part_path
    from sparsefield.figures.results import Results

    (tmp_path / "drift").mkdir()
    (tmp_path / "drift" / "summary.json").write_text('{"experiment": "drift", "rows": {')
    part = part_path(tmp_path, "theory", "derivations")
    part.parent.mkdir()
    part.write_bytes(b"\x00\xff binary")
    res = Results(tmp_path)
    assert res.summary("drift") is None and res.part("theory", "derivations") is None
    err = capsys.readouterr().err
    assert "summary.json" in err and "derivations.json" in err


def test_report_skips_a_corrupt_sweep_record(tmp_path, capsys):
    from sparsefield.figures.results import Results
    from sparsefield.report import sweep_section as _sweep_section

    folder = tmp_path / "s" / "sweep-tiny"
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text('{"sweep": "s", "seeds": 3}')
    assert _sweep_section(Results(tmp_path)) == ""
    assert str(folder / "sweep.json") in capsys.readouterr().err


def test_diverged_run_is_printed_as_a_result_and_reruns(tmp_path, capsys):
    argv = ["train", "--activation", "relu2", "--lr", "1e4", "--width", "8", "--depth", "2",
            "--steps", "20", "--dataset", "random", "--n-train", "64", "--n-test", "32",
            "--eval-size", "32", "--eval-every", "10", "--log-every", "5", "--no-progress",
            "--out", str(tmp_path)]
    for _ in range(2):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "diverged" in out and "finite False" in out


def test_config_file_sets_fields_and_flags_override_it(tmp_path):
    import argparse

    from sparsefield.empirical.config import TrainConfig
    from sparsefield.empirical.config_cli import from_arguments

    cfg = tmp_path / "c.json"
    cfg.write_text('{"width": 12, "lr": 0.5}')
    args = argparse.Namespace(lr=0.25)
    got = from_arguments(TrainConfig, args, str(cfg))
    assert (got.width, got.lr) == (12, 0.25)


def test_scheduler_that_does_not_answer_fails_within_seconds(tmp_path, capsys):
    pytest.importorskip("distributed")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from bad_inputs import SWEEP_OK

    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP_OK)
    t0 = time.perf_counter()
    rc = main(["sweep", str(sweep), "--results", str(tmp_path / "r"), "--scheduler",
               "tcp://127.0.0.1:1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "scheduler" in err[0]
    assert time.perf_counter() - t0 < 30  # the connect timeout is 5 s
