"""Identities of the mean-field theory proved with sympy on the derived formulas
(``simplify(lhs - rhs) == 0``), each also shown to FAIL when the derivation is broken
(a delta term dropped, a density scale or a sign lost): the proofs can fail.

Sources: Stein / Gaussian integration by parts (Poole et al. 2016); [P24] Price et al.,
ICLR 2024 (edge of chaos, clipping); docs/theory.md sections 3-4.
"""

import numpy as np
import pytest
import sympy as sp

from sparsefield.theory import family, get
from sparsefield.theory import symbolic as S
from sparsefield.theory.activations import TAU, Family
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.gaussian import gamma
from sparsefield.theory.maps import MeanField

TAU_S, M_S = family("crelu").symbols
CLIPPED_K = {"crelu": 1, "cst": 2}
HARD = Family("hard_threshold", (TAU,), lambda t: (-t, t), lambda x, t: (x, 0, x),
              "x 1{|x| >= tau}")


def zero(expr) -> bool:
    """Proved zero: ``simplify`` after writing ``Phi``/``phi`` with ``erf``/``exp``."""
    return sp.simplify(sp.sympify(expr).rewrite(sp.erf)) == 0


def f(name, quantity):
    return S.formula(name, quantity)


def on_eoc(name, expr):
    """``expr`` at ``q = q*`` with ``(sigma_w2, sigma_b2)`` on the edge of chaos."""
    sw2, sb2 = f(name, "EoC")
    return expr.subs(S.Q, S.Q_STAR).subs({S.SIGMA_W2: sw2, S.SIGMA_B2: sb2})


# --- the identities (each returns expressions that must vanish) -----------------------
def stein(name):
    """``d/dq V(q) = sigma_w2 (E[phi'^2] + E[phi phi''])`` with the breakpoint terms."""
    return [sp.diff(f(name, "V"), S.Q) - f(name, "dV")]


def unit_slope(name):
    """ReLU_tau, ST on their edge of chaos: ``V(q*) = q*``, ``chi_1 = 1`` and
    ``V'(q*) = 1``, the last both as printed and as ``dV/dq`` of ``V`` itself ([P24])."""
    return [on_eoc(name, f(name, "V")) - S.Q_STAR, on_eoc(name, f(name, "chi1")) - 1,
            f(name, "dV_eoc") - 1, on_eoc(name, sp.diff(f(name, "V"), S.Q)) - 1]


def clipped_slope(name):
    """``V'(q) = chi_1(q) - k sigma_w2 (m/sqrt q) phi((tau + m)/sqrt q)`` at every ``q``
    (``k = 1`` CReLU, ``2`` CST), hence ``V'(q*) = 1 - k sigma_w2 ...`` on the EoC [P24]."""
    k = CLIPPED_K[name]
    loss = k * S.SIGMA_W2 * M_S / sp.sqrt(S.Q) * S.phi((TAU_S + M_S) / sp.sqrt(S.Q))
    return [f(name, "dV") - (f(name, "chi1") - loss),
            f(name, "dV_eoc") - on_eoc(name, 1 - loss)]


def scale_invariance(name):
    """``tau, m ~ sqrt(q*)``: ``sigma_w2`` and ``V'(q*)`` unchanged, ``sigma_b2 ~ q*``,
    ``E[phi^2] ~ q`` (the piecewise-linear P24 family is positively homogeneous)."""
    lam = sp.sqrt(S.Q_STAR)
    scaled = {S.Q_STAR: 1, **{s: s / lam for s in family(name).symbols}}
    sw2, sb2 = f(name, "EoC")
    e2 = f(name, "Ephi2")
    at = lambda e: e.subs(scaled, simultaneous=True)  # noqa: E731
    return [sw2 - at(sw2), sb2 - S.Q_STAR * at(sb2), f(name, "dV_eoc") - at(f(name, "dV_eoc")),
            e2.subs(S.Q, S.Q * S.Q_STAR) - S.Q_STAR * at(e2)]


def cst_is_crelu():
    """CST at sparsity ``s`` is CReLU at ``(1 + s)/2`` (same ``tau``) with ``sigma_w2``
    halved: the maps agree, ``sigma_w2`` halves, ``sigma_b2`` and ``V'(q*)`` agree."""
    half = {S.SIGMA_W2: S.SIGMA_W2 / 2}
    out = [f("cst", k).subs(half) - f("crelu", k) for k in ("V", "dV", "d2V", "chi1")]
    (a_w, a_b), (b_w, b_b) = f("cst", "EoC"), f("crelu", "EoC")
    return out + [a_w - b_w / 2, a_b - b_b, f("cst", "dV_eoc") - f("crelu", "dV_eoc"),
                  f("cst", "P0") - (2 * f("crelu", "P0") - 1)]


IDENTITIES = {
    **{f"stein[{n}]": (lambda n=n: stein(n)) for n in S.supported()},
    "stein[hard_threshold]": lambda: stein(HARD),
    **{f"unit_slope[{n}]": (lambda n=n: unit_slope(n)) for n in ("relu_tau", "st")},
    **{f"clipped[{n}]": (lambda n=n: clipped_slope(n)) for n in CLIPPED_K},
    **{f"scale[{n}]": (lambda n=n: scale_invariance(n)) for n in ("relu_tau", "st", "crelu", "cst")},
    "cst_is_crelu": cst_is_crelu,
}


@pytest.fixture
def rederive():
    """Derivations are cached: clear before and after, so a mutation is seen and undone."""
    def clear():
        for fn in (S._derive, S._derive_bivariate, S._lambdified):
            fn.cache_clear()
    clear()
    yield
    clear()


@pytest.mark.parametrize("key", list(IDENTITIES))
def test_identity_proved(key):
    for expr in IDENTITIES[key]():
        assert zero(expr), f"{key}: {expr}"


# --- each proof fails when the derivation is broken -----------------------------------
def _no_delta(fam):
    return sp.S.Zero


def _no_density_scale(e, k, mu, s):
    return sp.S.Zero if e.is_infinite else e ** k * S.phi((e - mu) / s)


def _even_powers(e, k, mu, s):
    return sp.S.Zero if e.is_infinite else abs(e) ** k * S.phi((e - mu) / s) / s


def _no_jump_term(fam):  # keeps [phi phi']_b, drops the [phi^2]_b delta' term
    p0, p1 = fam.pieces_sym(0), fam.pieces_sym(1)
    return sum(((p0[k + 1] * p1[k + 1] - p0[k] * p1[k]).subs(S.X, b)) * S._density(b)
               for k, b in enumerate(fam.breaks_sym))


MUTATIONS = [  # (what is broken, patched attribute, replacement, identities that must fail)
    ("delta terms dropped", "breakpoint_terms", _no_delta,
     ["stein[crelu]", "stein[cst]", "stein[crelu2]", "stein[hard_threshold]", "clipped[crelu]",
      "clipped[cst]"]),
    ("delta' term of a jump dropped", "breakpoint_terms", _no_jump_term, ["stein[hard_threshold]"]),
    ("1/sqrt(v) lost in the moment recurrence", "_edge_term", _no_density_scale,
     ["stein[crelu]", "unit_slope[relu_tau]", "unit_slope[st]", "scale[relu_tau]", "scale[crelu]",
      "scale[cst]"]),
    ("sign of odd powers lost at negative edges", "_edge_term", _even_powers,
     ["cst_is_crelu", "stein[st]", "unit_slope[st]"]),
]


@pytest.mark.parametrize("what, attr, repl, broken", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_broken_derivation_fails_the_proofs(rederive, monkeypatch, what, attr, repl, broken):
    monkeypatch.setattr(S, attr, repl)
    for key in broken:
        exprs = IDENTITIES[key]()
        assert not all(zero(e) for e in exprs), f"{key} still holds with {what}"


# --- the clipped form checked against the numeric code first (no sympy) ---------------
@pytest.mark.parametrize("name", list(CLIPPED_K))
def test_clipped_slope_form_numeric(name):
    """``V'(q) = chi_1 - k sigma_w^2 (m/sqrt q) gamma((tau + m)/sqrt q)`` with the numeric
    theory (closed forms of ``piecewise_linear``), also on the edge of chaos."""
    k = CLIPPED_K[name]
    for tau, m, q in ((0.3, 0.5, 0.7), (1.1, 1.7, 1.0), (0.0, 3.0, 2.5)):
        act = get(name, tau=tau, m=m)
        for sw2, sb2 in ((1.9, 0.05), edge_of_chaos(act, q)):
            mf = MeanField(act, sw2, sb2)
            want = float(mf.chi1(q)) - k * sw2 * m / np.sqrt(q) * float(gamma((tau + m) / np.sqrt(q)))
            assert float(mf.dV(q)) == pytest.approx(want, rel=1e-13)
