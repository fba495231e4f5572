"""The exact formulas of ``theory.symbolic`` against the numeric theory (an independent
route: the hand-written closed forms of ``piecewise_linear`` and piecewise quadrature).

The printed expressions (``sparsefield formula --json``) are read back and evaluated at
30 digits (mpmath), so the comparison measures the numeric code, not float round-off in
the formula; 1e-14 relative on every grid point, every quantity, every activation.
"""

import contextlib
import io
import itertools
import json
import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from sparsefield.cli import build_parser, main
from sparsefield.references import quad
from sparsefield.theory import edge_of_chaos, family, moments, symbolic
from sparsefield.theory.activations import TAU, Family
from sparsefield.theory.errors import InfeasibleError
from sparsefield.theory.maps import MeanField

GRID = {"tau": [0.0, 0.5, 0.9], "m": [0.8, 2.0], "c": [1.0, 3.0], "slope": [0.01, 0.3]}
QS = (0.5, 1.0, 2.0)
SW2, SB2 = 1.7, 0.2
RTOL = 1e-14
MPMATH = [{"Phi": mp.ncdf, "phi": mp.npdf}, "mpmath"]
# phi jumps at the thresholds: a user-defined family, to cover the [phi^2] delta' terms
HARD = Family("hard_threshold", (TAU,), lambda t: (-t, t), lambda x, t: (x, 0, x),
              "x 1{|x| >= tau}")


# The families whose parameters GRID covers and whose phi is continuous (jumping ones have no
# edge of chaos and are covered by test_jumping_activation_delta_prime_terms).
SUPPORTED = [n for n in symbolic.supported()
             if all(p.name in GRID for p in family(n).params) and not family(n).has_jumps]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def cli_json():
    """``sparsefield ... --json`` in-process, parsed; one parser for many calls."""
    parser = build_parser()

    def call(*argv):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            args = parser.parse_args([*argv, "--json"])
            assert args.func(args) == 0
        return json.loads(buf.getvalue())
    return call


def points(name):
    fam = family(name)
    for vals in itertools.product(*(GRID[p.name] for p in fam.params)):
        yield dict(zip((p.name for p in fam.params), vals))


def exact(fn, *args):
    with mp.workdps(30):
        return float(fn(*args))


def assert_close(value, reference, what, scale=0.0):
    """Relative to ``max(|reference|, scale)``: ``scale`` for a difference of larger terms."""
    if reference == 0.0 and scale == 0.0:
        assert abs(value) <= 1e-15, what
    else:
        assert abs(value - reference) <= RTOL * max(abs(reference), scale), \
            f"{what}: {value!r} vs exact {reference!r} (rel {abs(value / reference - 1):.2e})"


def numeric(act, quantity, q):
    """The numeric theory: ``sparsefield map`` quantities and ``moments`` for the rest."""
    return {"Ephi": moments.e_phi, "Ephi2": moments.e_phi2, "Edphi2": moments.e_dphi2,
            "Ephidphi": moments.e_phi_dphi, "Ephid2phi": moments.e_phi_d2phi,
            "P0": moments.p_zero}[quantity](act, q)


@pytest.mark.parametrize("name", SUPPORTED)
def test_formula_json_equals_numeric_theory(cli_json, name):
    quantities = cli_json("formula", "--activation", name)["quantities"]
    assert set(quantities) == set(symbolic.UNIVARIATE)
    fns = {}
    for qn, entry in quantities.items():
        parts = entry.items() if qn == "EoC" else [(qn, entry)]
        for key, e in parts:
            expr = symbolic.parse(e["expr"], name)
            fns[key] = sp.lambdify(symbolic.arguments(name, qn), expr, modules=MPMATH)
    v = quantities["V"]  # the erf form is plain sympy and says the same
    assert sp.simplify((symbolic.parse(v["expr"], name) - sp.sympify(v["erf"], locals={
        s.name: s for s in symbolic.arguments(name, "V")})).rewrite(sp.erf)) == 0
    n = 0
    for params in points(name):
        act = family(name).bind(**params)
        vals = tuple(params.values())
        for q in QS:
            mapped = cli_json("map", "--activation", name, *sum(
                ([f"--{k}", repr(v)] for k, v in params.items()), []),
                "--sigma-w2", repr(SW2), "--sigma-b2", repr(SB2), "--q", repr(q))
            for key in ("V", "dV", "d2V", "chi1"):  # V'' of a map of size V: relative to V
                assert_close(mapped[key], exact(fns[key], q, SW2, SB2, *vals),
                             f"{name} {params} q={q} {key}", mapped["V"] if key == "d2V" else 0.0)
            for key in ("Ephi", "Ephi2", "Edphi2", "Ephidphi", "Ephid2phi", "P0"):
                assert_close(float(numeric(act, key, q)), exact(fns[key], q, SW2, SB2, *vals),
                             f"{name} {params} q={q} {key}")
            sw2, sb2 = (exact(fns[k], q, SW2, SB2, *vals) for k in ("sigma_w2", "sigma_b2"))
            try:
                num_sw2, num_sb2 = edge_of_chaos(act, q)
            except InfeasibleError:
                assert sb2 < 0  # same verdict: the edge of chaos needs sigma_b^2 < 0
            else:
                assert_close(num_sw2, sw2, f"{name} {params} q*={q} sigma_w2")
                # q* - sigma_w2 E[phi^2]: a difference of terms of size q*
                assert_close(num_sb2, max(sb2, 0.0), f"{name} {params} q*={q} sigma_b2", q)
                assert_close(float(MeanField(act, num_sw2, num_sb2).dV(q)),
                             exact(fns["dV_eoc"], q, SW2, SB2, *vals), f"{name} q*={q} dV_eoc")
            n += 1
    assert n >= 3


@pytest.mark.parametrize("name", SUPPORTED)
def test_lambdified_float64_accuracy(name):
    """The generated numpy functions (``lambdify``, ``cse``) are within 1e-13 of exact."""
    for quantity in ("V", "dV", "d2V", "chi1", "Ephi2", "P0", "dV_eoc"):
        f = symbolic.lambdified(name, quantity)
        g = sp.lambdify(symbolic.arguments(name, quantity), symbolic.formula(name, quantity),
                        modules=MPMATH)
        for params in points(name):
            for q in QS:
                args = (q, SW2, SB2, *params.values())
                ref = exact(g, *args)
                assert abs(float(f(*args)) - ref) <= 1e-13 * abs(ref) + 1e-300, (quantity, params, q)
    v = symbolic.lambdified(name, "V")(np.array(QS), SW2, SB2, *next(points(name)).values())
    assert np.shape(v) == (len(QS),)  # broadcasts over a grid of q


def test_cli_substitution_value_equals_map(capsys):
    args = ["--activation", "crelu", "--tau", "0.5", "--m", "1.3", "--q", "1.1",
            "--sigma-w2", "2", "--sigma-b2", "0.1"]
    _, out, _ = run(capsys, "formula", *args, "--quantity", "V", "dV", "d2V", "chi1", "--json")
    got = json.loads(out)["quantities"]
    _, out, _ = run(capsys, "map", *args, "--json")
    want = json.loads(out)
    for k in ("V", "dV", "d2V", "chi1"):
        assert got[k]["symbols"] == []
        assert got[k]["value"] == pytest.approx(want[k], rel=RTOL)
    _, out, _ = run(capsys, "formula", "--activation", "crelu", "--quantity", "V", "--tau", "0.5")
    assert "tau" not in out.splitlines()[0] and "m" in out and "Phi(" in out


@pytest.mark.parametrize("argv, param", [
    (["--activation", "crelu", "--tau", "-1"], "tau"),
    (["--activation", "crelu", "--m", "0"], "m"),
    (["--activation", "gelu"], "activation"),
    (["--activation", "nope"], "activation"),
    (["--activation", "crelu", "--quantity", "V", "foo"], "quantity"),
    (["--activation", "relu", "--slope", "0.1"], "slope"),
    (["--activation", "relu", "--q", "0"], "q"),
    (["--activation", "relu", "--sigma-b2", "-1"], "sigma_b2"),
    (["--activation", "relu", "--rho", "1", "--quantity", "R"], "rho"),
    (["--activation", "crelu", "--q-star", "nan"], "q_star"),
])
def test_cli_bad_input_one_line_exit_2(capsys, argv, param):
    code, out, err = run(capsys, "formula", *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sparsefield formula: error: {param}=")
    assert "must be" in lines[0]


def test_latex_renders_with_mathtext(capsys):
    from matplotlib import mathtext

    code, out, _ = run(capsys, "formula", "--activation", "crelu", "--quantity", "V", "dV_eoc",
                       "EoC", "--latex")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 4 and lines[0].startswith("V(q) = ")
    assert r"\Phi\left(" in lines[0] and r"\varphi\left(" in lines[0]
    parser = mathtext.MathTextParser("path")
    for line in lines + list(symbolic.crelu_formulas().values()):
        parser.parse(f"${line}$")  # raises ValueError on anything mathtext cannot typeset


def test_crelu_card_png(tmp_path):
    from sparsefield.figures.formulas import crelu_card

    paths = crelu_card(tmp_path)
    png = [p for p in paths if p.suffix == ".png"]
    assert png and png[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png[0].stat().st_size > 5000


def test_relu_power_arccos_kernels():
    """Cho & Saul arc-cosine kernels for ReLU and ReLU^2 against piecewise quadrature,
    and at rho = 0, 1 against the product of means and the second moment."""
    for name in ("relu", "relu2"):
        pp, dd = (symbolic.formula(name, k) for k in ("Ephiphi", "Edphidphi"))
        assert not pp.has(sp.Integral) and pp.has(sp.acos)
        f, g = (sp.lambdify((symbolic.Q, symbolic.RHO), e, "mpmath") for e in (pp, dd))
        act = family(name).bind()
        for q, rho in ((0.7, -0.6), (1.3, 0.25), (2.0, 0.9)):
            assert_close(float(moments.e_phi_phi(act, q, rho)), exact(f, q, rho), f"{name} phiphi")
            assert abs(float(moments.e_dphi_dphi(act, q, rho)) / exact(g, q, rho) - 1) < 1e-12
        e1, e2 = symbolic.formula(name, "Ephi"), symbolic.formula(name, "Ephi2")
        assert sp.simplify(pp.subs(symbolic.RHO, 0) - e1 ** 2) == 0
        assert sp.simplify(pp.subs(symbolic.RHO, 1) - e2) == 0


def test_bivariate_integral_representation(capsys):
    """Elsewhere an exact 1-D integral of the closed-form conditional expectation; its
    value equals ``sparsefield map``'s R and R' (R at rho -> 1 equals 1 at a fixed point)."""
    expr = symbolic.formula("crelu", "Ephiphi")
    assert expr.has(sp.Integral)
    args = ["--activation", "crelu", "--tau", "0.5", "--m", "1.3", "--q", "1.1",
            "--sigma-w2", "2", "--sigma-b2", "0.1"]
    _, out, _ = run(capsys, "map", *args, "--rho", "0.3", "--json")
    want = json.loads(out)
    for k in ("R", "dR"):
        f = symbolic.lambdified("crelu", k)
        assert float(f(1.1, 0.3, 2.0, 0.1, 0.5, 1.3)) == pytest.approx(want[k], rel=1e-12)
    _, out, _ = run(capsys, "formula", *args, "--rho", "0.3", "--quantity", "R", "--json")
    assert json.loads(out)["quantities"]["R"]["value"] == pytest.approx(want["R"], rel=1e-12)


def test_jumping_activation_delta_prime_terms():
    """Where phi jumps, V' and V'' carry ``[phi^2]_b delta'`` terms: checked against the
    density-derivative quadratures ``E[phi^2 (x^2/q - 1)]/(2q)`` (independent of phi');
    ``E[phi'^2]`` is infinite, so chi_1 is and the edge of chaos is unreachable."""
    act = HARD.bind(tau=0.7)
    dv, d2v = symbolic.lambdified(HARD, "dV"), symbolic.lambdified(HARD, "d2V")
    for q in (0.5, 1.3):
        assert float(dv(q, 1.0, 0.0, 0.7)) == pytest.approx(float(moments.dq_e_phi2(act, q)), rel=1e-13)
        assert float(d2v(q, 1.0, 0.0, 0.7)) == pytest.approx(
            float(quad.d2q_e_phi2(act, q)), rel=1e-11)
    assert symbolic.formula(HARD, "Edphi2") is sp.oo
    with pytest.raises(InfeasibleError, match="infinite"):
        symbolic.formula(HARD, "EoC")


def test_cached_derivation():
    assert symbolic.formula("cst", "V") is symbolic.formula("cst", "V")
    assert symbolic.lambdified("cst", "V") is symbolic.lambdified("cst", "V")
    assert math.isclose(float(symbolic.formula("relu", "P0")), 0.5)
