"""The benchmarks' timing statistic (benchmarks/timing.py) and the comparison of two runs
(benchmarks/compare_runs.py), on a fake clock and made-up outputs: nothing is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import compare_runs  # noqa: E402
import timing  # noqa: E402


@pytest.fixture
def clock(monkeypatch):
    """A fake CPU clock and wall clock that only the timed functions advance."""
    now = [0.0]
    monkeypatch.setattr(timing.time, "process_time", lambda: now[0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])
    return now


def test_rounds_are_sized_until_they_last_round_s(clock):
    def fn():
        clock[0] += 1e-6
    inner, per = timing.calibrate(fn)
    assert inner == 50_000 and per == pytest.approx(1e-6)  # 20,000 calls: 20 ms < 25 ms
    assert timing.cpu_median(fn) == pytest.approx(1e-6)


def test_a_long_call_is_timed_once_warm_and_a_cold_one_first(clock):
    cost = iter([5.0, 2.0, 2.0])  # the first call: compilation

    def fn():
        clock[0] += next(cost)
    assert timing.calibrate(fn) == (0, 2.0)
    cost = iter([5.0])
    assert timing.cpu_median(fn, warm=False) == 5.0


def test_rounds_of_the_rows_compared_are_interleaved(clock):
    calls = []

    def make(name, cost):
        def fn():
            calls.append(name)
            clock[0] += cost
        return fn
    out = timing.cpu_medians({"a": make("a", 0.03), "b": make("b", 0.06)}, repeats=3)
    assert out == {"a": pytest.approx(0.03), "b": pytest.approx(0.06)}
    rounds = calls[-6:]  # after the warm-up: one call per round (each lasts >= 25 ms)
    assert rounds == ["a", "b"] * 3


SUMMARY = """commit abc1234
2026-12-05T10:54:24Z, 2 CPUs, load {load}, x86_64

### bench_theory
README (load {load} -> 0.5): derive_grid 0.20 s (20 us/point) vs brentq {base} us/point: 1.3x ({err})

### bench_peers (README table)
| case | sparsefield: error, CPU time | numpy closed form: error, time | sparsefield / numpy |
|---|---|---|---|
| E[phi^2] ReLU q=1 | {err}, {ours} us | numpy closed form: 0.0e+00, 0.792 us | 5.4x |
"""


def _write(tmp_path, name, **kw):
    values = {"load": "0.45", "base": "27", "err": "0.0e+00", "ours": "4.31", **kw}
    path = tmp_path / name
    path.write_text(SUMMARY.format(**values))
    return path


def test_compare_runs_lists_exactly_the_numbers_that_moved(tmp_path, capsys):
    a = _write(tmp_path, "a.txt")
    same = _write(tmp_path, "b.txt", load="3.5", err="2.2e-16")  # load, errors: not compared
    assert compare_runs.main([str(a), str(same)]) == 0
    assert "7 numbers compared; 7 within 30%" in capsys.readouterr().out
    moved = _write(tmp_path, "c.txt", base="37", ours="2.9")  # 1.37x and 0.67x
    assert compare_runs.main([str(a), str(moved)]) == 1
    out = capsys.readouterr().out
    assert "7 numbers compared; 5 within 30%" in out
    assert "27 us -> 37 us (1.37x)" in out and "4.31 us -> 2.9 us (0.67x)" in out


def test_times_are_compared_in_seconds_whatever_their_unit():
    (_, _, a), = compare_runs.numbers("dks: 1.66 ms", plain=False)
    (_, _, b), = compare_runs.numbers("dks: 1,660 us", plain=False)
    assert a == pytest.approx(b) == pytest.approx(1.66e-3)
