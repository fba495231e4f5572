"""The verification matrix (numerics.check) and ``sparsefield check``."""

import dataclasses
import json

import pytest

from sparsefield.cli import main
from sparsefield.numerics import check
from sparsefield.theory.activations import CATALOGUE, get

TINY = dataclasses.replace(check.QUICK, n_mc=1 << 15, drift_samples=1500, drift_inits=300)


def test_quick_matrix_covers_every_activation_and_method():
    names = [n for n, _ in check.tasks(quick=True)]
    for act in CATALOGUE:
        assert f"monte carlo {act}" in names
    for act in ("relu", "relu_tau", "st", "crelu", "cst", "leaky_relu", "identity", "abs"):
        assert f"quadrature {act}" in names
    assert "finite width claims" in names and "finite width crelu" in names
    assert any(n.startswith("drift ") for n in names)


def test_monte_carlo_and_quadrature_rows_pass():
    act = get("cst", tau=0.9, m=0.7)
    rows = check.monte_carlo_rows(act, 2.0, 0.1, TINY, seed=1) + check.quadrature_rows(act, TINY)
    # CST is odd: E[phi phi'] = 0, exact under antithetic pairs (an EXACT row beside its
    # plain Monte Carlo z-row)
    assert {r.method for r in rows} == {"monte carlo", "quadrature", check.EXACT}
    assert {r.quantity for r in rows if r.method == check.EXACT} <= {
        r.quantity for r in rows if r.method == "monte carlo"}
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
    assert any(r.quantity.startswith("R'(rho)") for r in rows)


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_drift_rows_pass(name):
    rows = check.drift_rows(get(name), TINY, seed=2)
    assert rows and all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_selu_weights_are_a_control_because_its_mean_is_zero():
    """SELU has E[phi] = 0: its bias drifts (E[phi phi'] > 0) but E[dL/dW2] ~ E[delta] E[phi]
    does not, so the weight row is a |z| < 4.5 control, while ELU's (E[phi] > 0) must drift."""
    rows = {(r.activation, r.quantity): r for a in ("selu", "elu")
            for r in check.drift_rows(get(a), check.QUICK, seed=0)}
    w_selu = rows[("selu", "net E[dL/dW2] 2 hidden layers (ce)")]
    w_elu = rows[next(k for k in rows if k[0].startswith("elu") and "dW2" in k[1])]
    assert w_selu.passed and w_selu.theory == 0.0 and "E[phi] = 0" in w_selu.note
    assert w_elu.passed and w_elu.z > check.Z_BOUND and w_elu.theory is None


def test_no_monte_carlo_row_has_an_error_of_zero_by_construction():
    """ReLU's E[phi'^2] is exact under antithetic pairs: it is re-estimated by plain Monte
    Carlo; identity's E[phi'^2] = 1 and GELU's P(phi=0) = 0 are constants: no rows."""
    rows, exact = [], []
    for name in ("relu", "identity", "gelu"):
        got = check.monte_carlo_rows(get(name), 2.0, 0.0, TINY, seed=3, smooth_corr=False)
        rows += [r for r in got if r.method != check.EXACT]
        exact += [r for r in got if r.method == check.EXACT]
    assert {(r.activation, r.quantity) for r in exact} >= {("relu", "E[phi'^2] q=1"),
                                                         ("identity", "E[phi'^2] q=1")}
    assert all(r.passed and "exact by construction" in r.note for r in exact)
    assert rows and all(r.stderr > check.DEGENERATE * max(abs(r.estimate), 1e-300)
                        for r in rows), [r for r in rows if r.stderr == 0]
    labels = {(r.activation, r.quantity) for r in rows}
    assert ("relu", "E[phi'^2] q=1") in labels and ("identity", "E[phi'^2] q=1") not in labels
    assert ("gelu", "P(phi=0) q=1") not in labels
    assert any("plain MC" in r.note for r in rows if r.activation == "relu")


def test_matrix_covers_smooth_correlations_and_drift_of_every_activation():
    full = [n for n, _ in check.tasks(quick=False)]
    for act in CATALOGUE:
        assert f"drift {act}" in full
    assert len(check.FULL.smooth_corr) >= 3 and len({q for q, _ in check.FULL.smooth_corr}) >= 2
    assert check.QUICK.smooth_corr and check.QUICK_SMOOTH


def test_activation_specs_restrict_the_matrix(capsys):
    names = [n for n, _ in check.tasks(quick=True, activations=["crelu2:c=4", "tanh"])]
    assert names == ["monte carlo crelu2", "monte carlo tanh", "drift crelu2", "drift tanh"]
    assert main(["check", "--quick", "--activation", "crelu2:c=-1"]) == 2
    assert "c=" in capsys.readouterr().err


def _fake_rows(ok: bool):
    return [check.Row("relu", "E[phi^2] q=1", "monte carlo", 0.5, 0.5004, 0.0001, 4.0, ok),
            check.Row("tanh", "E[phi'^2] q=1", "quadrature", 0.46, 0.46, None, None, True)]


@pytest.mark.parametrize("ok, status", [(True, 0), (False, 1)])
def test_cli_exit_status_and_table(monkeypatch, capsys, ok, status):
    monkeypatch.setattr(check, "run", lambda quick, seed, progress, activations: _fake_rows(ok))
    assert main(["check", "--quick"]) == status
    out = capsys.readouterr().out
    assert ("FAIL" in out) is not ok
    assert "theory" in out and "stderr" in out and "verdict" in out
    assert f"2 checks, {0 if ok else 1} failed" in out


def test_cli_json_has_rows_summary_and_versions(monkeypatch, capsys):
    seen = {}

    def fake(quick, seed, progress, activations):
        seen.update(quick=quick, seed=seed, progress=progress, activations=activations)
        return _fake_rows(False)
    monkeypatch.setattr(check, "run", fake)
    assert main(["check", "--json", "--seed", "7"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert seen == {"quick": False, "seed": 7, "progress": False, "activations": None}
    assert data["summary"] == {"rows": 2, "failed": 1, "max_abs_z": 4.0}
    assert data["rows"][0]["z"] == 4.0 and data["versions"]["numpy"]


def test_cli_rejects_a_negative_seed(capsys):
    assert main(["check", "--quick", "--seed", "-1"]) == 2
    assert "seed" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_check_end_to_end_passes(capsys):
    """The whole quick matrix (the pieces are covered by the faster tests above)."""
    assert main(["check", "--quick", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["failed"] == 0 and data["summary"]["rows"] > 150


def test_an_exact_row_fails_when_the_theory_is_off():
    """A planted error of 1e-6 relative in the theory fails the exact-by-construction row."""
    from sparsefield.numerics.stats import Estimate
    assert check._exact_row("relu", "E[phi'^2]", 0.5, Estimate(0.5, 0.0, 1000)).passed
    assert not check._exact_row("relu", "E[phi'^2]", 0.5 * (1 + 1e-6), Estimate(0.5, 0.0, 1000)).passed


def test_relu_second_moments_get_an_exact_row_and_a_plain_row_that_can_fail():
    """Issue 28: under the antithetic pair + control variates ReLU's E[phi^2] and E[phi'^2]
    (so V and chi_1) have standard error 0 up to rounding: each gets an EXACT row (equal to
    the theory to rounding) and a plain Monte Carlo z-row, at the quick matrix's size; a
    planted error of 1e-6 fails the exact row, one of 10 standard errors the plain row."""
    rows = check.monte_carlo_rows(get("relu"), 2.0, 0.1, check.QUICK, seed=5, smooth_corr=False)
    by = {(r.quantity, r.method): r for r in rows}
    for quantity in ("E[phi^2] q=1", "E[phi'^2] q=1", "V(q) q=1", "chi_1(q) q=1"):
        exact, plain = by[(quantity, check.EXACT)], by[(quantity, "monte carlo")]
        assert exact.passed and exact.stderr <= check.DEGENERATE * abs(exact.theory)
        assert plain.passed and plain.stderr > 1e-4 * abs(plain.theory) and "plain MC" in plain.note
        est = check.Estimate(exact.estimate, exact.stderr, 1)
        assert not check._exact_row("relu", quantity, exact.theory * (1 + 1e-6), est).passed
        off = plain.theory + 10 * plain.stderr
        assert not check._z_row("relu", quantity, "monte carlo", off,
                                check.Estimate(plain.estimate, plain.stderr, 1)).passed


def test_exact_by_construction_is_a_property_of_the_integrand():
    """The pair sum must lie in the controls' span: ReLU's phi^2 (z^2 q) does, ReLU6's
    (clipped at 36) and the shifted ReLU's do not, whatever the sampled error says."""
    relu, relu6, shifted = get("relu"), get("relu6"), get("relu_tau", tau=0.7)
    assert all(check.exact_by_construction(relu, 1.0, k) for k in check.INTEGRANDS)
    assert not check.exact_by_construction(relu6, 1.0, "e_phi2")
    assert not check.exact_by_construction(relu6, 1.0, "e_phi_dphi")
    assert not check.exact_by_construction(shifted, 2.5, "e_phi2")
    # ReLU6 at q = 1: E[phi phi'] varies only beyond 6 sds; its tiny error is no exact row
    rows = check.monte_carlo_rows(relu6, 2.0, 0.1, TINY, seed=3, smooth_corr=False)
    assert not [r for r in rows if r.method == check.EXACT and "phi phi'" in r.quantity]
