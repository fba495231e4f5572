"""Tests written to kill planted bugs that the rest of the suite let through (issue 24's
mutation check; ``benchmarks/mutation_smoke.py`` plants them again and expects these to fail).

Each test names the bug it catches and checks against an independent value: a closed form,
a symmetry, an mpmath root, or the behaviour of the file system.
"""

import json
import os

import mpmath as mp
import numpy as np
import pytest
from scipy.special import ndtri

from sparsefield.empirical import store
from sparsefield.theory import activations as A
from sparsefield.theory import clipping as C
from sparsefield.theory.maps import MeanField


# --- the correlation map below zero (bug: np.clip(rho, 0, 1) instead of (-1, 1)) -------------
@pytest.mark.parametrize("rho0", [-0.9, -0.3])
def test_identity_correlations_stay_negative(rho0):
    """Identity: ``rho' = (sigma_w^2 q rho + sigma_b^2) / (sigma_w^2 q + sigma_b^2)``, exact."""
    sw2, sb2, q, depth = 1.0, 0.0, 0.7, 5
    mf = MeanField(A.get("identity"), sw2, sb2)
    expect = [rho0]
    for _ in range(depth):
        expect.append((sw2 * q * expect[-1] + sb2) / (sw2 * q + sb2))
        q = sw2 * q + sb2
    assert mf.iterate_corr(rho0, 0.7, depth) == pytest.approx(expect, rel=1e-12, abs=1e-15)


def test_tanh_correlations_are_odd_in_rho():
    """tanh with ``sigma_b = 0`` is odd: ``rho^l(-rho0) = -rho^l(rho0)``, and one step from a
    negative ``rho0`` matches a tensor Gauss-Hermite quadrature of ``E[tanh u1 tanh u2]``."""
    mf, q = MeanField(A.get("tanh"), 1.5, 0.0), 0.8
    up, down = mf.iterate_corr(0.6, q, 6), mf.iterate_corr(-0.6, q, 6)
    assert np.all(down < 0)
    assert down == pytest.approx(-up, rel=1e-10)
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    rho = -0.6
    u1 = np.sqrt(q) * x[:, None]
    u2 = np.sqrt(q) * (rho * x[:, None] + np.sqrt(1 - rho * rho) * x[None, :])
    cross = np.sum(w[:, None] * w[None, :] * np.tanh(u1) * np.tanh(u2))
    var = np.sum(w * np.tanh(np.sqrt(q) * x) ** 2)
    assert down[1] == pytest.approx(cross / var, rel=1e-9)


# --- atomic writes (bug: Path.write_text in place) -----------------------------------------
def test_a_write_replaces_the_file_and_never_rewrites_it_in_place(tmp_path):
    """A reader holding the old file still reads the whole old content after a rewrite (a
    new inode replaced it); a rewrite in place would show it truncated or the new text."""
    path = store.atomic_write_json(tmp_path / "a.json", {"v": 1, "pad": "x" * 10000})
    with open(path, encoding="utf-8") as old:
        store.atomic_write_json(path, {"v": 2})
        assert json.load(old)["v"] == 1
    assert json.loads(path.read_text()) == {"v": 2}


def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    """The process dies between writing and committing (here: ``fsync`` fails): the old
    record is untouched and no temporary file is left."""
    rs = store.ResultStore(tmp_path, "exp")
    path = rs.write({"a": 1}, 0, {"acc": 0.5})
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk gone")
    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        rs.write({"a": 1}, 0, {"acc": 0.9})
    with pytest.raises(OSError, match="disk gone"):
        rs.write_summary({"rows": {}})
    assert path.read_bytes() == before
    assert sorted(p.name for p in rs.dir.iterdir()) == [path.name]


# --- a record whose config was edited (bug: the key/config check disabled) -----------------
def test_a_record_whose_config_no_longer_matches_its_key_is_corrupt(tmp_path, capsys):
    rs = store.ResultStore(tmp_path, "exp")
    cfg = {"activation": "relu", "width": 8}
    path = rs.write(cfg, 0, {"acc": 0.5})
    rec = json.loads(path.read_text())
    rec["config"]["width"] = 16  # same file name, same key: a forged or hand-edited record
    path.write_text(json.dumps(rec))
    with pytest.raises(store.CorruptRecord, match="key does not match"):
        store.read_record(path)
    assert not rs.has(cfg, 0) and rs.load_all() == []
    assert "key does not match its config" in capsys.readouterr().err


# --- the report's verdict on depth (bug: "explodes" when q^L/q* > 0 instead of > 2) --------
def test_depth_verdicts_use_their_thresholds(tmp_path):
    """Stable clips pass when the median ``q^L/q*`` is within 0.5 of 1; unclipped ones only
    when it exceeds 2 (an explosion); 1.5 passes neither."""
    from sparsefield import report
    from sparsefield.figures.results import Results

    def panel(name, m, final):
        return {"activation": name, "m": m, "final": final, "theory": [1.0, 1.0]}

    panels = [panel("crelu", 1.0, [1.2, 1.3, 1.4]), panel("cst", 1.0, [1.5, 1.6, 1.7]),
              panel("relu_tau", None, [2.5, 3.0, 9.0]), panel("st", None, [1.4, 1.5, 1.6])]
    store.write_part(tmp_path, "numerics", "depth",
                     {"depth": 10, "width": 8, "n_networks": 3, "curves": panels})
    def field(row, name):  # a plain dict or a typed Check row
        return row[name] if isinstance(row, dict) else getattr(row, name)
    rows = [r for r in report.verification_rows(Results(tmp_path))
            if field(r, "check").startswith("q^L")]
    assert [field(r, "ok") for r in rows] == [True, False, True, False]


# --- the bifurcation clip (bug: the Newton polish bracket off by one grid point) -----------
def _ephi2_mp(name, t, m, q):
    """``E[phi^2]``, ``x ~ N(0, q)``: ``int_t^{t+m} (x-t)^2 p + m^2 P(x > t+m)`` (x2 for CST)."""
    s = mp.sqrt(q)
    a, b = t / s, (t + m) / s
    tail = lambda z: mp.erfc(z / mp.sqrt(2)) / 2  # noqa: E731
    dens = lambda z: mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    p = tail(a) - tail(b)
    e = q * (p + a * dens(a) - b * dens(b)) - 2 * s * t * (dens(a) - dens(b)) + t * t * p \
        + m * m * tail(b)
    return 2 * e if name == "cst" else e


@pytest.mark.parametrize("name, s", [("crelu", 0.85), ("cst", 0.9)])
def test_bifurcation_clip_matches_an_mpmath_saddle_node(name, s):
    """The bifurcation is a saddle-node of ``g(q) = V(q) - q`` above ``q* = 1`` on the edge
    of chaos: ``g = g' = 0``; solved for ``(mu, q)`` at 40 digits, ``sigma_w^2 = 1/E[phi'^2]``
    and ``sigma_b^2 = 1 - sigma_w^2 E[phi^2]`` at ``q = 1`` ([P24]; docs/theory.md 4.4)."""
    bif = C.critical_m(name, s)["bifurcation"]
    extra = [f["q"] for f in C.derive(name, s, m=1.001 * bif).fixed_points if f["q"] > 1 + 1e-6]
    with mp.workdps(40):
        t = mp.mpf(float(ndtri(s) if name == "crelu" else ndtri((1 + s) / 2)))

        def saddle(mu, q):
            p = (mp.erfc(t / mp.sqrt(2)) - mp.erfc((t + mu) / mp.sqrt(2))) / 2
            sw2 = 1 / (p if name == "crelu" else 2 * p)
            sb2 = 1 - sw2 * _ephi2_mp(name, t, mu, 1)

            def g(x):
                return sw2 * _ephi2_mp(name, t, mu, x) + sb2 - x
            return g(q), mp.diff(g, q)
        mu, _ = mp.findroot(saddle, (mp.mpf(bif), mp.sqrt(extra[0] * extra[1])), tol=1e-30)
    assert bif == pytest.approx(float(mu), rel=1e-10)
