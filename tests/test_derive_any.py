"""``derive`` for any activation (catalogue spec, ``expr:`` spec, ``from_pieces``): the
threshold for a target sparsity solved numerically, the edge of chaos, ``V'(q*)``, and the
stability warnings through ``warnings.warn``; every reference value is an independent
closed form (Gaussian tail probabilities and moments), not the code's own equation."""

import math
import warnings

import pytest
from scipy.stats import norm

import sparsefield as sf
from sparsefield.cli import main
from sparsefield.theory.user import from_expression, from_pieces


def test_threshold_for_a_target_sparsity_is_solved_for_a_user_activation():
    soft = from_pieces("soft", ["-tau", "tau"], ["x + tau", "0", "x - tau"], {"tau": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sf.StabilityWarning)
        d = sf.derive(soft, 0.6, q_star=2.0)
    # P(|x| < tau) = 2 Phi(tau / sqrt(q*)) - 1 = 0.6
    assert d.tau == pytest.approx(math.sqrt(2.0) * norm.ppf(0.8), rel=1e-9)
    assert d.sparsity == pytest.approx(0.6, abs=1e-12) and d.activation.startswith("soft:tau=")
    # edge of chaos: sigma_w^2 = 1 / E[phi'^2] = 1 / P(|x| > tau)
    assert d.sigma_w2 == pytest.approx(1.0 / 0.4, rel=1e-9) and d.chi1 == pytest.approx(1.0)


def test_an_expression_spec_is_derived_at_its_own_parameters():
    d = sf.derive("expr:Max(x - 1, 0)")  # = ReLU_tau at tau = 1
    assert d.sigma_w2 == pytest.approx(1.0 / norm.sf(1.0), rel=1e-9)
    assert d.sparsity == pytest.approx(norm.cdf(1.0), rel=1e-12)
    assert d.activation == "expr:Max(x - 1, 0)" and d.vprime == pytest.approx(1.0, abs=1e-9)


def test_an_unstable_edge_of_chaos_warns_through_the_api():
    """ReLU^2 at q* = 1: sigma_w^2 = 1/(4 E[x^2; x>0]) = 1/2, sigma_b^2 = 1 - E[x^4; x>0]/2
    = 1/4, so V(q) = 3q^2/4 + 1/4 and V'(1) = 3/2 > 1: unstable."""
    with pytest.warns(sf.StabilityWarning, match=r"relu2: unstable: V'\(q\*\)=1\.5>1"):
        sw2, sb2 = sf.edge_of_chaos(sf.get("relu2"), 1.0)
    assert (sw2, sb2) == (pytest.approx(0.5), pytest.approx(0.25))
    with pytest.warns(sf.StabilityWarning):
        d = sf.derive(from_expression("Max(x, 0)**2"))
    assert d.vprime == pytest.approx(1.5, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sf.StabilityWarning)  # users can filter it
        with pytest.raises(sf.StabilityWarning):
            sf.derive("relu_tau", 0.8)
        sf.derive("crelu", 0.85, vprime=0.5)  # stable: no warning


def test_errors_name_the_activation_by_its_spec():
    act = from_expression("tanh(x)")
    with pytest.raises(sf.ParameterError) as err:
        sf.derive(act, 0.5)
    assert "expr:tanh(x)" in str(err.value) and "no zero region" in str(err.value)
    assert len(str(err.value)) < 200
    with pytest.raises(sf.ParameterError, match="no threshold parameter tau"):
        sf.derive("expr:Max(x - 1, 0)", 0.5)
    with pytest.raises(sf.ParameterError, match="vprime.*omitted for gelu"):
        sf.derive("gelu", vprime=0.5)
    with pytest.raises(sf.ParameterError, match="sparsity"):
        sf.derive("crelu")


def test_the_command_line_derives_any_spec(capsys):
    assert main(["derive", "--activation", "relu2"]) == 0
    out = capsys.readouterr().out
    assert "vprime" in out and "warning: relu2: unstable" in out
    assert main(["derive", "--activation", "relu_tau:tau=0", "--sparsity", "0.8"]) == 0
    assert f"{norm.ppf(0.8):.10g}"[:8] in capsys.readouterr().out
    assert main(["derive", "--activation", "tanh", "--sparsity", "0.5"]) == 2
    assert "no zero region" in capsys.readouterr().err
