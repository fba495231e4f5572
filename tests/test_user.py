"""User-defined activations: an expression or pieces give the same numbers as the
equivalent catalogue entry; the parser refuses anything outside its grammar."""

import pytest
import sympy as sp

from sparsefield.theory import activations as A
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.maps import MeanField
from sparsefield.theory.user import from_expression, from_pieces

SAME = [("Min(Max(x - 1, 0), 2)", "crelu", {"tau": 1.0, "m": 2.0}),
        ("sign(x)*Max(Abs(x) - 1/2, 0)", "st", {"tau": 0.5}),
        ("x*Heaviside(x - 1)", "jumprelu", {"theta": 1.0}),
        ("Piecewise((x, Abs(x) > 1), (0, True))", "hard_threshold", {"theta": 1.0}),
        ("Max(x, 0)**2", "relu2", {}),
        ("Max(-1, Min(1, x))", "hardtanh", {}),
        ("x*erf(x/sqrt(2))/2 + x/2", "gelu", {})]


@pytest.mark.parametrize("text,name,params", SAME, ids=[s[1] for s in SAME])
def test_expression_gives_the_catalogue_numbers(text, name, params):
    user, ref = from_expression(text), A.get(name, **params)
    assert user.breakpoints.tolist() == pytest.approx(ref.breakpoints.tolist())
    assert user.kinks.tolist() == pytest.approx(ref.kinks.tolist())
    assert user.jumps.tolist() == pytest.approx(ref.jumps.tolist())
    a, b = MeanField(user, 1.7, 0.2), MeanField(ref, 1.7, 0.2)
    for f in (a.V, a.dV, a.d2V, a.chi1):
        g = getattr(b, f.__name__)
        assert float(f(1.3)) == pytest.approx(float(g(1.3)), rel=1e-11, abs=1e-14)
    if ref.is_piecewise_linear:
        assert float(a.R(0.4, 1.3)) == pytest.approx(float(b.R(0.4, 1.3)), rel=1e-11)
        assert float(a.dR(0.4, 1.3)) == pytest.approx(float(b.dR(0.4, 1.3)), rel=1e-10)


def test_pieces_with_parameters():
    act = from_pieces("shifted", ["t"], ["0", "x - t"], {"t": 0.7})
    ref = A.get("relu_tau", tau=0.7)
    assert float(MeanField(act, 2.0, 0.0).V(1.1)) == pytest.approx(float(MeanField(ref, 2.0, 0.0).V(1.1)), rel=1e-13)
    x = sp.Symbol("x")
    same = from_expression(sp.Max(x - sp.Rational(7, 10), 0))
    assert same.breakpoints.tolist() == [0.7]


def test_user_activation_through_numba_monte_carlo():
    from sparsefield.numerics import gaussian_mc

    act = from_expression("Min(Max(x, 0), 1)")
    est = gaussian_mc.estimates(act, 1.0, 1.0, 0.0, n=1 << 15, seed=1)
    ref = gaussian_mc.estimates(A.get("crelu", tau=0.0, m=1.0), 1.0, 1.0, 0.0, n=1 << 15, seed=1)
    assert est["e_phi2"].value == ref["e_phi2"].value  # same compiled function, same draws


@pytest.mark.parametrize("text,why", [
    ("x.__class__", "attribute access"), ("__import__('os')", "the call __import__"),
    ("open('f')", "the call open"), ("y + 1", "the name 'y'"), ("x if x else 1", "IfExp"),
    ("lambda: 1", "Lambda"), ("'a'", "constant"), ("exp(x, k=1)", "keyword"),
    ("x[0]", "Subscript"), ("1/0*x", "finite"), ("log(x)", "real and finite"),
    ("Piecewise((x, x > 0))", "every real x"), ("Piecewise((1, sin(x) > 0), (0, True))",
                                                 "finitely many points"),
    ("(x, 1)", "number-valued"), ("", "expression in x"), ("x +", "valid syntax"),
])
def test_refused_with_a_clear_error(text, why):
    with pytest.raises(ParameterError, match="expression=") as e:
        from_expression(text)
    assert why in str(e.value)
