"""Exact mean-field formulas as sympy expressions, derived from the catalogue definition.

For every activation whose pieces are polynomials in ``x`` (the breakpoints and pieces of
:class:`sparsefield.theory.activations.Family`), every Gaussian expectation over
``x ~ N(0, q)`` is a finite sum of truncated-normal moments, which obey the recurrence
(integration by parts of ``u p(u) = mu p(u) - v p'(u)`` for ``u ~ N(mu, v)``)::

    M_k = mu M_{k-1} + (k-1) v M_{k-2} + v (a^{k-1} p(a) - b^{k-1} p(b)),
    M_0 = Phi((b - mu)/s) - Phi((a - mu)/s),   s = sqrt(v),   M_k = E[u^k 1{a <= u < b}].

Results are written with the standard normal cdf :class:`Phi` and density :class:`phi`
(named functions; ``Phi(z) = (1 + erf(z/sqrt 2))/2``, ``phi(z) = exp(-z^2/2)/sqrt(2 pi)``).
The maps follow docs/theory.md section 3 (Poole et al. 2016; Schoenholz et al. 2017;
[P24] Price et al., ICLR 2024):

* ``V(q) = sigma_w2 E[phi^2] + sigma_b2``, ``chi_1 = sigma_w2 E[phi'^2]``;
* ``V'(q) = sigma_w2 (E[phi'^2] + E[phi phi''])`` with the distributional ``phi''``: at a
  breakpoint ``b`` where ``phi'`` jumps by ``J`` and ``phi`` by ``D``,
  ``(phi^2)'' / 2`` carries ``([phi phi']_b) delta_b + ([phi^2]_b / 2) delta'_b``, so
  ``E[phi phi'']`` gains ``([phi phi']_b + [phi^2]_b b / (2q)) p_q(b)``
  (``= J phi(b) p_q(b)`` for continuous ``phi``);
* ``V''(q)`` is the exact ``q``-derivative of that closed form; the edge of chaos is
  ``sigma_w2 = 1/E[phi'^2]``, ``sigma_b2 = q* - sigma_w2 E[phi^2]`` at ``q = q*``.

Where ``phi`` itself jumps, ``E[phi'^2]`` contains ``delta^2`` and is infinite (so are
``chi_1`` and the edge of chaos); ``E[phi phi']`` is always the pointwise (a.e.) one, the
product autograd sees ([BF2] drift).  The bivariate maps are the arc-cosine kernels for
``ReLU^k`` (Cho & Saul 2009) and otherwise an exact one-dimensional integral of the
closed-form conditional expectation.  Derivations are cached per family.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import sympy as sp
from scipy import special

from .activations import CATALOGUE, Family, X, family
from .errors import InfeasibleError, ParameterError
from .exact_value import value  # noqa: F401  (symbolic.value: the printed number)

Q = sp.Symbol("q", positive=True)
Q_STAR = sp.Symbol("q_star", positive=True)
SIGMA_W2 = sp.Symbol("sigma_w2", positive=True)
SIGMA_B2 = sp.Symbol("sigma_b2", nonnegative=True)
RHO = sp.Symbol("rho", real=True)
GLOBAL_SYMBOLS = {s.name: s for s in (Q, Q_STAR, SIGMA_W2, SIGMA_B2, RHO)}
LATEX_NAMES = {Q: "q", Q_STAR: "q^{*}", SIGMA_W2: r"\sigma_w^{2}", SIGMA_B2: r"\sigma_b^{2}",
               RHO: r"\rho"}


class Phi(sp.Function):
    """Standard normal cdf ``Phi(z) = (1 + erf(z / sqrt 2)) / 2``."""

    @classmethod
    def eval(cls, z):
        if z is sp.S.Infinity:
            return sp.S.One
        if z is sp.S.NegativeInfinity:
            return sp.S.Zero
        if z.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        return phi(self.args[0])

    def _eval_rewrite_as_erf(self, z, **kwargs):
        return (1 + sp.erf(z / sp.sqrt(2))) / 2

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_erf(*self.args)._eval_evalf(prec)

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        s = rf"\Phi\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class phi(sp.Function):  # noqa: N801  (the conventional name of the density)
    """Standard normal density ``phi(z) = exp(-z^2 / 2) / sqrt(2 pi)`` (even)."""

    @classmethod
    def eval(cls, z):
        if z.is_infinite:
            return sp.S.Zero
        if z.is_zero:
            return 1 / sp.sqrt(2 * sp.pi)
        if z.could_extract_minus_sign():
            return cls(-z)

    def fdiff(self, argindex=1):
        return -self.args[0] * phi(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)

    _eval_rewrite_as_erf = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):  # (mpmath's own ``phi`` is the golden ratio)
        return self._eval_rewrite_as_exp(*self.args)._eval_evalf(prec)

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        s = rf"\varphi\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


FUNCTIONS = {"Phi": Phi, "phi": phi}
DEFINITIONS = {"Phi": "Phi(z) = (1 + erf(z/sqrt(2)))/2", "phi": "phi(z) = exp(-z**2/2)/sqrt(2*pi)"}
NUMERIC = {"Phi": special.ndtr, "phi": lambda z: np.exp(-0.5 * np.square(z)) / np.sqrt(2 * np.pi)}

UNIVARIATE = ("Ephi", "Ephi2", "Edphi2", "Ephidphi", "Ephid2phi", "P0", "V", "dV", "d2V",
              "chi1", "EoC", "dV_eoc")
BIVARIATE = ("Ephiphi", "Edphidphi", "R", "dR")
QUANTITIES = UNIVARIATE + BIVARIATE
DESCRIPTIONS = {
    "Ephi": "E[phi(x)], x ~ N(0, q)", "Ephi2": "E[phi(x)^2]",
    "Edphi2": "E[phi'(x)^2] (infinite where phi jumps)",
    "Ephidphi": "E[phi(x) phi'(x)] (pointwise phi', as autograd sees it)",
    "Ephid2phi": "E[phi(x) phi''(x)] with the delta terms at breakpoints",
    "P0": "P(phi(x) = 0): exact-zero sparsity", "V": "V(q) = sigma_w2 E[phi^2] + sigma_b2",
    "dV": "V'(q) = sigma_w2 (E[phi'^2] + E[phi phi''])", "d2V": "V''(q)",
    "chi1": "chi_1(q) = sigma_w2 E[phi'^2]",
    "EoC": "edge of chaos at q*: sigma_w2 = 1/E[phi'^2], sigma_b2 = q* - sigma_w2 E[phi^2]",
    "dV_eoc": "V'(q*) on the edge of chaos",
    "Ephiphi": "E[phi(u1) phi(u2)], u1, u2 ~ N(0, q) with correlation rho",
    "Edphidphi": "E[phi'(u1) phi'(u2)]",
    "R": "R(rho) = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / V(q)",
    "dR": "R'(rho) = sigma_w2 E[phi'(u1) phi'(u2)] q / V(q)",
}


def is_piecewise_polynomial(fam: Family) -> bool:
    """Whether every piece of ``fam`` is a polynomial in ``x``."""
    return all(p.is_polynomial(X) for p in fam.pieces_sym(0))


def supported() -> list[str]:
    """Catalogue activations with exact formulas (piecewise-polynomial pieces)."""
    return [n for n, f in CATALOGUE.items() if is_piecewise_polynomial(f)]


def polynomial_family(activation: str | Family) -> Family:
    """The catalogue family of ``activation`` if it is piecewise polynomial (the forms
    this module integrates exactly), else a :class:`ParameterError` naming it."""
    fam = family(activation) if isinstance(activation, str) else activation
    if not is_piecewise_polynomial(fam):
        raise ParameterError("activation", fam.name,
                             f"a piecewise-polynomial activation: one of {supported()}")
    return fam


# --- Gaussian integrals of polynomials over intervals ---------------------------------
def _mass(a, b, mu, s):
    """``P(a <= u < b)``, upper tails written ``Phi(-z)`` (accurate where ``z >> 0``)."""
    za, zb = (a - mu) / s, (b - mu) / s
    if a is sp.S.NegativeInfinity:
        return Phi(zb)
    if b is sp.S.Infinity:
        return Phi(-za)
    if za.is_nonnegative:
        return Phi(-za) - Phi(-zb)
    return Phi(zb) - Phi(za)


def truncated_moments(a, b, kmax: int, mu=0, v=Q) -> list[sp.Expr]:
    """``[M_0, ..., M_kmax]``, ``M_k = E[u^k 1{a <= u < b}]`` for ``u ~ N(mu, v)``, by the
    recurrence of the module docstring (``a``, ``b`` may be ``-oo``, ``oo``)."""
    s = sp.sqrt(v)
    a, b = sp.sympify(a), sp.sympify(b)
    m = [_mass(a, b, mu, s)]
    for k in range(1, kmax + 1):
        prev2 = m[k - 2] if k >= 2 else sp.S.Zero
        m.append(mu * m[k - 1] + (k - 1) * v * prev2
                 + v * (_edge_term(a, k - 1, mu, s) - _edge_term(b, k - 1, mu, s)))
    return m


def _edge_term(e, k: int, mu, s) -> sp.Expr:
    """``e^k p(e)`` for the density ``p`` of ``N(mu, s^2)``; zero at infinite ends."""
    return sp.S.Zero if e.is_infinite else e ** k * phi((e - mu) / s) / s


def _expect_poly(poly: sp.Expr, a, b, mu=0, v=Q) -> sp.Expr:
    """``E[poly(u) 1{a <= u < b}]`` for ``u ~ N(mu, v)``, ``poly`` a polynomial in ``X``."""
    poly = sp.expand(poly)
    if poly == 0:
        return sp.S.Zero
    p = sp.Poly(poly, X)
    m = truncated_moments(a, b, p.degree(), mu, v)
    return sum((c * m[k] for (k,), c in p.terms()), sp.S.Zero)


def _edges(fam: Family) -> list:
    return [sp.S.NegativeInfinity, *fam.breaks_sym, sp.S.Infinity]


def _expect(fam: Family, integrand: Callable[[int], sp.Expr]) -> sp.Expr:
    """``sum_k E[integrand(k)(x) 1{x in interval k}]``, ``x ~ N(0, q)``."""
    e = _edges(fam)
    return sum((_expect_poly(integrand(k), e[k], e[k + 1]) for k in range(len(e) - 1)),
               sp.S.Zero)


def _density(b, v=Q) -> sp.Expr:
    return phi(b / sp.sqrt(v)) / sp.sqrt(v)


def _canonical_args(expr: sp.Expr) -> sp.Expr:
    """Factor the arguments of ``Phi``/``phi``: ``Phi(m/sqrt(q) + tau/sqrt(q))`` becomes
    ``Phi((m + tau)/sqrt(q))``, so equal arguments collect."""
    return expr.replace(lambda a: isinstance(a, (Phi, phi)),
                        lambda a: a.func(sp.factor(a.args[0])))


def tidy(expr: sp.Expr) -> sp.Expr:
    """A readable form: collected on the ``Phi``/``phi`` terms, each coefficient factored."""
    expr = _canonical_args(sp.expand(expr))
    atoms = sorted(expr.atoms(Phi, phi), key=sp.default_sort_key)
    if not atoms:
        return sp.factor(expr)
    collected = sp.collect(expr, atoms, evaluate=False)
    return sp.Add(*(sp.factor(c) * t for t, c in collected.items()))


# --- the derivations (cached per family) ----------------------------------------------
@lru_cache(maxsize=None)
def _derive(fam: Family) -> dict[str, sp.Expr]:
    p0, p1, p2 = (fam.pieces_sym(k) for k in range(3))

    def product(f, g=None) -> sp.Expr:
        """``E[f g]`` (``E[f]`` without ``g``) for piecewise ``f``, ``g`` (lists of pieces)."""
        return _expect(fam, lambda k: f[k] * (1 if g is None else g[k]))
    d = {"Ephi": product(p0), "Ephi2": product(p0, p0), "Ephidphi": product(p0, p1),
         "P0": sum((_mass(e0, e1, 0, sp.sqrt(Q)) for e0, e1, z in
                    zip(_edges(fam)[:-1], _edges(fam)[1:], fam.zero_pieces) if z), sp.S.Zero)}
    dphi2 = product(p1, p1)
    d["Ephid2phi"] = product(p0, p2) + breakpoint_terms(fam)
    jumps_phi = any(j != 0 for j in fam.value_jumps_sym)
    d["Edphi2"] = sp.oo if jumps_phi else dphi2
    d = {k: tidy(v) if v is not sp.oo else v for k, v in d.items()}
    slope = dphi2 + d["Ephid2phi"]
    d["V"] = SIGMA_W2 * d["Ephi2"] + SIGMA_B2
    d["dV"] = SIGMA_W2 * tidy(slope)
    d["d2V"] = SIGMA_W2 * tidy(sp.diff(slope, Q))
    d["chi1"] = SIGMA_W2 * d["Edphi2"]
    if not jumps_phi:
        at = {Q: Q_STAR}
        e1, e2 = tidy(dphi2.subs(at)), d["Ephi2"].subs(at)
        d["EoC"] = sp.Tuple(1 / e1, Q_STAR - e2 / e1)
        d["dV_eoc"] = 1 + d["Ephid2phi"].subs(at) / e1
    return d


def breakpoint_terms(fam: Family) -> sp.Expr:
    """The delta contributions to ``E[phi phi'']`` at the breakpoints ``b``:
    ``sum_b ([phi phi']_b + [phi^2]_b b / (2q)) p_q(b)``, ``[f]_b`` the jump of ``f`` at ``b``
    (``= J_b phi(b) p_q(b)`` for continuous ``phi``, [P24])."""
    p0, p1 = fam.pieces_sym(0), fam.pieces_sym(1)
    return sum((((p0[k + 1] * p1[k + 1] - p0[k] * p1[k]).subs(X, b)
                 + (p0[k + 1] ** 2 - p0[k] ** 2).subs(X, b) * b / (2 * Q)) * _density(b)
                for k, b in enumerate(fam.breaks_sym)), sp.S.Zero)


def _relu_power(fam: Family) -> int | None:
    """``k`` if ``fam`` is ``ReLU^k`` (``max(0, x)^k``, ``k >= 1``), else ``None``."""
    p = fam.pieces_sym(0)
    if fam.breaks_sym != (0,) or p[0] != 0 or not p[1].is_polynomial(X):
        return None
    poly = sp.Poly(p[1], X)
    k = poly.degree()
    return k if k >= 1 and poly == sp.Poly(X ** k, X) else None


def arccos_kernel(n: int) -> sp.Expr:
    """Cho & Saul (2009) ``J_n(theta) = (-1)^n sin^{2n+1} (1/sin d/dtheta)^n ((pi - theta)/sin)``
    at ``cos theta = rho``, so that ``E[relu(u1)^n relu(u2)^n] = q^n J_n / (2 pi)``; written
    ``A(rho) + B(rho) (pi - acos rho)``."""
    t, psi = sp.Dummy("theta"), sp.Dummy("psi")
    f = (sp.pi - t) / sp.sin(t)
    for _ in range(n):
        f = sp.diff(f, t) / sp.sin(t)
    j = ((-1) ** n * sp.sin(t) ** (2 * n + 1) * f).subs(t, sp.pi - psi)
    j = sp.expand(sp.cancel(j.subs({sp.sin(psi): sp.sqrt(1 - RHO ** 2), sp.cos(psi): -RHO})))
    c = sp.collect(j, psi, evaluate=False)
    return sp.Add(*(sp.collect(v, sp.sqrt(1 - RHO ** 2)) * (sp.pi - sp.acos(RHO)) ** sp.degree(k, psi)
                    for k, v in c.items()))


def _conditional(fam: Family, pieces, x) -> sp.Expr:
    """``E[f(u2) | u1 = x]`` for the piecewise polynomial ``f`` with pieces ``pieces``:
    ``u2 | u1 = x ~ N(rho x, q (1 - rho^2))`` (closed form)."""
    e = _edges(fam)
    return sum((_expect_poly(pieces[k], e[k], e[k + 1], RHO * x, Q * (1 - RHO ** 2))
                for k in range(len(e) - 1)), sp.S.Zero)


@lru_cache(maxsize=None)
def _derive_bivariate(fam: Family) -> dict[str, sp.Expr]:
    k = _relu_power(fam)
    if k is not None:
        out = {"Ephiphi": Q ** k * arccos_kernel(k) / (2 * sp.pi),
               "Edphidphi": k ** 2 * Q ** (k - 1) * arccos_kernel(k - 1) / (2 * sp.pi)}
    else:
        out = {}
        e = _edges(fam)
        for name, order in (("Ephiphi", 0), ("Edphidphi", 1)):
            pieces = fam.pieces_sym(order)
            inner = _conditional(fam, pieces, X)
            out[name] = sp.Add(*(sp.Integral(tidy(pieces[j] * inner) * _density(X), (X, e[j], e[j + 1]))
                                 for j in range(len(e) - 1) if pieces[j] != 0))
    v = _derive(fam)["V"]
    out["R"] = (SIGMA_W2 * out["Ephiphi"] + SIGMA_B2) / v
    out["dR"] = SIGMA_W2 * out["Edphidphi"] * Q / v
    return out


def formula(activation: str | Family, quantity: str) -> sp.Expr:
    """The exact expression of ``quantity`` (one of :data:`QUANTITIES`) for ``activation``.

    Free symbols: ``q`` (``q_star`` for ``EoC``/``dV_eoc``), ``sigma_w2``, ``sigma_b2``,
    ``rho`` (bivariate) and the family's parameters.  ``EoC`` is the pair
    ``(sigma_w2, sigma_b2)``.  Raises :class:`ParameterError` for an unknown quantity or an
    activation without polynomial pieces, :class:`InfeasibleError` for ``EoC``/``dV_eoc``
    when ``phi`` jumps (``E[phi'^2]`` is infinite).
    """
    fam = polynomial_family(activation)
    if quantity not in QUANTITIES:
        raise ParameterError("quantity", quantity, f"one of {list(QUANTITIES)}")
    d = _derive_bivariate(fam) if quantity in BIVARIATE else _derive(fam)
    if quantity not in d:
        raise InfeasibleError(f"{quantity} is undefined for {fam.name}: phi jumps, so "
                              "E[phi'^2] (and chi_1) is infinite")
    return d[quantity]


def arguments(activation: str | Family, quantity: str) -> tuple[sp.Symbol, ...]:
    """Argument order of :func:`lambdified`: ``q`` or ``q_star``, then ``rho`` (bivariate),
    ``sigma_w2``, ``sigma_b2``, then the family's parameters."""
    fam = polynomial_family(activation)
    first = (Q_STAR,) if quantity in ("EoC", "dV_eoc") else (Q,)
    mid = (RHO,) if quantity in BIVARIATE else ()
    return first + mid + (SIGMA_W2, SIGMA_B2) + fam.symbols


@lru_cache(maxsize=None)
def _lambdified(fam: Family, quantity: str) -> Callable:
    expr = formula(fam, quantity)
    # sympy's cse would hoist the integration variable out of ``quad``'s lambda
    return sp.lambdify(arguments(fam, quantity), expr, modules=[NUMERIC, "scipy", "numpy"],
                       cse=not expr.has(sp.Integral))


def lambdified(activation: str | Family, quantity: str) -> Callable:
    """Numpy function of :func:`arguments` evaluating :func:`formula` (``lambdify``, ``cse``)."""
    return _lambdified(polynomial_family(activation), quantity)


def parse(text: str, activation: str | Family | None = None) -> sp.Expr:
    """Read back a printed formula (``str`` of :func:`formula`) with the right symbols.
    Trusted text only (this package's own output, in its tests): ``sympify`` evaluates it;
    user text goes through :func:`sparsefield.theory.grammar.parse`."""
    names = dict(GLOBAL_SYMBOLS, **FUNCTIONS)
    if activation is not None:
        names.update({s.name: s for s in polynomial_family(activation).symbols})
    names["x"] = X
    return sp.sympify(text, locals=names)


def latex(expr: sp.Expr) -> str:
    """LaTeX of ``expr`` with ``sigma_w^2``, ``sigma_b^2``, ``q^*`` written as in the papers
    (matplotlib mathtext renders it)."""
    return sp.latex(expr, symbol_names=LATEX_NAMES)


def crelu_formulas() -> dict[str, str]:
    """LaTeX of the CReLU formulas shown in the report and README: ``V(q)``, the edge of
    chaos and ``V'(q*)`` on it ([P24])."""
    sw2, sb2 = formula("crelu", "EoC")
    loss = 1 - formula("crelu", "dV_eoc")  # printed as 1 - (...), as [P24] writes it
    return {"V": f"V(q) = {latex(formula('crelu', 'V'))}",
            "sigma_w2": rf"\sigma_w^{{2}} = {latex(sw2)}",
            "sigma_b2": rf"\sigma_b^{{2}} = {latex(sb2)}",
            "dV_eoc": rf"V'(q^{{*}}) = 1 - {latex(loss)}"}
