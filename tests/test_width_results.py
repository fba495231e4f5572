"""The width-experiment tables (sparsefield.width_results): the boundary fit, the stored-row
reader and the error on an empty results root."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sparsefield import width_results as wr

ROOT = Path(__file__).resolve().parents[1]


def test_fit_boundary_separates_and_counts_ties():
    x = np.array([0.1, 0.5, 0.9, 1.5, 3.0, 6.0])
    trains = np.array([True, True, True, False, False, False])
    c = wr.fit_boundary(x, trains)
    assert 0.9 < c < 1.5
    assert c == np.sqrt(0.9 * 1.5)     # the geometric middle of the gap
    # one cell on the wrong side: the best threshold still makes exactly one error
    trains[4] = True
    c = wr.fit_boundary(x, trains)
    assert int(np.sum((x < c) != trains)) == 1


def test_stored_rows_are_read_with_their_depth_and_family():
    rows = wr.stored_rows(ROOT / "docs/results/dt26_qstar.csv",
                        lambda r: "s" if r["depth"] == "100" else None)
    assert {r["depth"] for r in rows} == {100}
    fixed_m = [r for r in rows if r["vprime_target"] is None]
    assert fixed_m and all(abs(r["m"] - 1.063208) < 1e-5 for r in fixed_m)
    assert all(r["seeds"] == len(r["test_acc_seeds"]) == 2 for r in rows)


def test_empty_results_root_exits_2(tmp_path, capsys):
    assert wr.main(["--results", str(tmp_path), "--out", str(tmp_path / "out"),
                    "--only", "clip"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0]
