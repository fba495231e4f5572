"""The activation catalogue: every activation is defined once, here.

A definition is a list of increasing breakpoints ``b_0 < ... < b_{n-1}`` and one sympy
expression per interval ``(-inf, b_0), [b_0, b_1), ..., [b_{n-1}, inf)``, written in
terms of the parameter symbols.  Everything else is generated from it: the sympy
``Piecewise`` expression, exact derivatives per piece, the jumps of ``phi'`` at the
kinks (needed for the delta terms of ``phi''``, docs/theory.md section 3), the
piecewise-linear coefficients used by the closed forms, the parity used by the drift
theory, and numpy / pure-Python (numba-compilable) / torch callables.

Adding an activation is one call to :func:`_define`.  What a definition is and what is
generated from it: :mod:`.family`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .definition import Activation, Family, Param, Strip, x_symbol
from .errors import ParameterError

if TYPE_CHECKING:
    import sympy as sp
else:  # sympy is imported only where the symbolic forms are needed (not for catalogue numerics)
    from ._lazy import sympy as sp

__all__ = ["Activation", "Family", "Param", "Strip", "CATALOGUE", "PARAM_NAMES", "define",
           "validate", "names", "family", "get"]


def __getattr__(name: str):
    """``X`` (the sympy symbol of ``x``) and the exact SELU constants, imported on demand."""
    if name == "X":
        from .grammar import X
        return X
    if name in ("SELU_ALPHA_EXACT", "SELU_LAMBDA_EXACT", "SELU_ALPHA", "SELU_LAMBDA"):
        return dict(zip(("SELU_ALPHA_EXACT", "SELU_LAMBDA_EXACT", "SELU_ALPHA", "SELU_LAMBDA"),
                        _selu()))[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _positive(name: str, default: float | None = None,
              typical: tuple[float, float] = (0.1, 2.0)) -> Param:
    return Param(name, "a finite number > 0", lambda v: 0.0 < v < math.inf, default,
                 {"positive": True}, typical)


TAU = Param("tau", "a finite number >= 0", lambda v: 0.0 <= v < math.inf,
            assumptions={"nonnegative": True}, typical=(0.0, 2.0))
M = _positive("m", typical=(0.2, 4.0))
C = _positive("c", typical=(0.25, 4.0))
SLOPE = Param("slope", "a number in [0, 1]", lambda v: 0.0 <= v <= 1.0, default=0.01,
              typical=(0.0, 1.0))
ALPHA = _positive("alpha", 1.0, (0.25, 3.0))
BETA = _positive("beta", 1.0, (0.25, 4.0))
THETA = _positive("theta", typical=(0.1, 2.0))


def _gelu(x):
    return x * (1 + sp.erf(x / sp.sqrt(2))) / 2


def _selu_constants() -> tuple[sp.Expr, sp.Expr]:
    """``(alpha_01, lambda_01)`` of SELU, exactly (Klambauer et al. 2017, eqs. 14-15).

    The self-normalising fixed point ``E[selu(z)] = 0``, ``E[selu(z)^2] = 1`` for
    ``z ~ N(0, 1)``, with ``E[e^{a z}; z < 0] = e^{a^2/2} Phi(-a)``, gives
    ``alpha = sqrt(2/pi) / (1 - sqrt(e) erfc(1/sqrt 2))`` and
    ``lambda^-2 = 1/2 + alpha^2 (e^2 erfc(sqrt 2)/2 - sqrt(e) erfc(1/sqrt 2) + 1/2)``.
    """
    e = sp.E
    alpha = sp.sqrt(2 / sp.pi) / (1 - sp.sqrt(e) * sp.erfc(1 / sp.sqrt(2)))
    tail = e**2 * sp.erfc(sp.sqrt(2)) / 2 - sp.sqrt(e) * sp.erfc(1 / sp.sqrt(2)) + sp.Rational(1, 2)
    lam = 1 / sp.sqrt(sp.Rational(1, 2) + alpha**2 * tail)
    return alpha, lam


@lru_cache(maxsize=None)
def _selu() -> tuple:
    """``(alpha, lambda)`` exactly, then evaluated once to 40 digits (printed to double
    precision in the numeric forms): the module attributes ``SELU_ALPHA_EXACT``,
    ``SELU_LAMBDA_EXACT``, ``SELU_ALPHA``, ``SELU_LAMBDA``."""
    alpha, lam = _selu_constants()
    return alpha, lam, sp.Float(alpha.evalf(40), 40), sp.Float(lam.evalf(40), 40)


def _selu_pieces(x):
    alpha, lam = _selu()[2:]
    return lam * alpha * (sp.exp(x) - 1), lam * x


def _gelu_tanh(x):
    c = sp.Rational(44715, 1000000)  # Hendrycks & Gimpel 2016, eq. for GELU(x) ~ ...
    return x * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + c * x**3))) / 2


CATALOGUE: dict[str, Family] = {}


def define(name: str, params: Sequence[Param], breaks: Callable[..., Sequence],
           pieces: Callable[..., Sequence], description: str = "", **props) -> Family:
    """A new activation from increasing breakpoints and one sympy piece per interval.

    ``breaks(*symbols)`` gives ``b_0 < ... < b_{n-1}``, ``pieces(x, *symbols)`` the
    ``n + 1`` expressions on ``(-inf, b_0), [b_0, b_1), ..., [b_{n-1}, inf)``; ``props``
    are the :class:`Family` properties (``label``, ``color``, ``clipped``, ``clip``,
    ``threshold``, ``sided``, ``tags``, ``examples``, ``strip``).  Kinks and jumps follow from the
    pieces.  The family is not registered: use it directly (``fam.bind(...)``).  Bad
    definitions raise :class:`ParameterError`.
    """
    fam = _family(name, params, breaks, pieces, description, False, props)
    validate(fam)
    return fam


def _family(name, params, breaks, pieces, description, catalogue: bool, props: dict) -> Family:
    if "examples" in props:
        props["examples"] = tuple(dict(e) for e in props["examples"])
    if "tags" in props:
        props["tags"] = frozenset(props["tags"])
    return Family(name, tuple(params), breaks, pieces, description,
                  label=props.pop("label", name), catalogue=catalogue, **props)


def validate(fam: Family) -> None:
    """:class:`ParameterError` unless ``fam``'s pieces are ``len(breaks) + 1`` sympy
    expressions in ``x`` and its parameters, with strictly increasing finite breakpoints at
    every example (the catalogue's definitions are checked by the tests, not at import)."""
    name = fam.name
    try:
        n = len(fam.pieces_sym(0))
    except (TypeError, ValueError, sp.SympifyError) as e:
        raise ParameterError("pieces", name, f"len(breaks) + 1 sympy expressions in x ({e})") from None
    allowed = {x_symbol(), *fam.symbols}
    for p in fam.pieces_sym(0) + fam.breaks_sym:
        extra = p.free_symbols - allowed
        if extra:
            raise ParameterError("pieces", str(p), f"expressions in x and {[q.name for q in fam.params]}"
                                 f" only (found {sorted(map(str, extra))})")
    for ex in fam.examples:
        if len(fam.params) and not ex and any(q.default is None for q in fam.params):
            continue
        b = fam.bind(**ex).breakpoints
        if np.any(np.diff(b) <= 0) or not np.all(np.isfinite(b)):
            raise ParameterError("breaks", b.tolist(), f"strictly increasing finite numbers ({n - 1})")


def _define(name, params, breaks, pieces, description, **props) -> None:
    """Register a catalogue family (validated by the tests, :func:`validate`)."""
    CATALOGUE[name] = _family(name, params, breaks, pieces, description, True, props)


# [P24] sparsity-inducing activations.
_define("relu", [], lambda: (0,), lambda x: (0, x), "max(0, x)", label="ReLU",
        color="#4d4d4d", tags={"bf2", "drift"})
_define("relu_tau", [TAU], lambda t: (t,), lambda x, t: (0, x - t),
        "shifted ReLU max(0, x - tau) [P24]", label=r"ReLU$_\tau$", color="#d62728",
        threshold="tau", sided=1, tags={"p24"},
        examples=[{"tau": 0.0}, {"tau": 0.7}, {"tau": 2.5}])
_define("st", [TAU], lambda t: (-t, t), lambda x, t: (x + t, 0, x - t),
        "soft thresholding sign(x) max(|x| - tau, 0) [P24]", label=r"ST$_\tau$",
        color="#ff7f0e", threshold="tau", sided=2, tags={"p24"},
        examples=[{"tau": 0.3}, {"tau": 1.9}])
_define("crelu", [TAU, M], lambda t, m: (t, t + m), lambda x, t, m: (0, x - t, m),
        "clipped shifted ReLU min(max(x - tau, 0), m) [P24]", label=r"CReLU$_{\tau,m}$",
        color="#1f77b4", clipped=True, clip="m", threshold="tau", sided=1, tags={"p24"},
        examples=[{"tau": 0.5, "m": 0.2}, {"tau": 1.1, "m": 1.7}, {"tau": 0.0, "m": 4.0}])
_define("cst", [TAU, M], lambda t, m: (-t - m, -t, t, t + m),
        lambda x, t, m: (-m, x + t, 0, x - t, m),
        "clipped soft thresholding sign(x) min(max(|x| - tau, 0), m) [P24]",
        label=r"CST$_{\tau,m}$", color="#2ca02c", clipped=True, clip="m", threshold="tau",
        sided=2, tags={"p24"}, examples=[{"tau": 0.4, "m": 0.6}, {"tau": 1.4, "m": 2.2}])
# [BF2] drift family and controls (tags "drift" and "control": the drift experiment's default
# activations, with ReLU and ReLU^2).
_define("gelu", [], lambda: (), lambda x: (_gelu(x),), "x Phi(x) (exact erf form)",
        label="GELU", color="#9467bd", tags={"bf2", "drift"},
        strip=lambda: Strip(math.inf, 0.5))  # entire; |Phi(iy)| ~ e^{y^2/2}
_define("silu", [], lambda: (), lambda x: (x / (1 + sp.exp(-x)),), "x sigmoid(x)",
        label="SiLU", color="#8c564b", tags={"bf2", "drift"},
        strip=lambda: Strip(math.pi))  # poles of the sigmoid at i pi (2k + 1)
_define("leaky_relu", [SLOPE], lambda a: (0,), lambda x, a: (a * x, x),
        "max(slope x, x)", label="LeakyReLU", color="#7f7f7f", tags={"bf2"},
        examples=[{"slope": 0.01}, {"slope": 0.3}])
_define("sigmoid", [], lambda: (), lambda x: (1 / (1 + sp.exp(-x)),), "1 / (1 + e^-x)",
        label="sigmoid", color="#bcbd22", tags={"bf2"},
        strip=lambda: Strip(math.pi))  # poles i pi (2k + 1)
_define("tanh", [], lambda: (), lambda x: (sp.tanh(x),), "tanh(x) (control)", label="tanh",
        color="#17becf", tags={"control"}, strip=lambda: Strip(math.pi / 2))  # poles i pi (k + 1/2)
_define("identity", [], lambda: (), lambda x: (x,), "x (control)", label="identity",
        color="#aaaaaa", tags={"control"}, strip=lambda: Strip(math.inf))
_define("abs", [], lambda: (0,), lambda x: (-x, x), "|x| (control)", label="|x|",
        color="#e377c2", tags={"control"})
_define("relu2", [], lambda: (0,), lambda x: (0, x**2), "relu(x)^2 (Primer)",
        label=r"ReLU$^2$", color="#a52a2a", tags={"bf2", "drift"})
_define("crelu2", [C], lambda c: (0, sp.sqrt(c)), lambda x, c: (0, x**2, c),
        "min(relu(x)^2, c) (clipped ReLU^2 [BF2])", label=r"clipped ReLU$^2$",
        color="#5f9ea0", clipped=True, clip="c", tags={"bf2"},
        examples=[{"c": 1.0}, {"c": 0.5}, {"c": 3.0}])
_define("gelu2", [], lambda: (), lambda x: (_gelu(x) ** 2,), "GELU(x)^2 [BF2]",
        label=r"GELU$^2$", color="#6a3d9a", tags={"bf2"},
        strip=lambda: Strip(math.inf, 1.0))
# Smooth activations of the literature.
_define("elu", [ALPHA], lambda a: (0,), lambda x, a: (a * (sp.exp(x) - 1), x),
        "alpha (e^x - 1) for x < 0, x otherwise (Clevert et al. 2016, ELU)", label="ELU",
        color="#e6550d", examples=[{"alpha": 1.0}, {"alpha": 0.5}])
_define("selu", [], lambda: (0,),
        _selu_pieces,
        "lambda_01 elu_{alpha_01}(x), constants of the self-normalising fixed point "
        "(Klambauer et al. 2017, eqs. 14-15; derived in _selu_constants)", label="SELU",
        color="#31a354")
_define("celu", [ALPHA], lambda a: (0,), lambda x, a: (a * (sp.exp(x / a) - 1), x),
        "max(0, x) + min(0, alpha (e^{x/alpha} - 1)) (Barron 2017, CELU)", label="CELU",
        color="#fd8d3c", examples=[{"alpha": 1.0}, {"alpha": 2.0}])
_define("softplus", [BETA], lambda b: (0,),  # split at 0: exp never overflows
        lambda x, b: (sp.log(1 + sp.exp(b * x)) / b, x + sp.log(1 + sp.exp(-b * x)) / b),
        "log(1 + e^{beta x}) / beta (Dugas et al. 2001; beta as in torch.nn.Softplus)",
        label="softplus", color="#756bb1", examples=[{"beta": 1.0}, {"beta": 3.0}],
        strip=lambda b: Strip(math.pi / b))  # branch points of log(1 + e^{beta x})
_define("mish", [], lambda: (0,),  # x tanh(softplus(x)), written without overflow
        lambda x: (x * (sp.exp(2 * x) + 2 * sp.exp(x)) / (sp.exp(2 * x) + 2 * sp.exp(x) + 2),
                   x * (1 + 2 * sp.exp(-x)) / (1 + 2 * sp.exp(-x) + 2 * sp.exp(-2 * x))),
        "x tanh(log(1 + e^x)) (Misra 2019, Mish)", label="Mish", color="#de2d26",
        # tanh(softplus(x)) = +-i pi/2 at x = log(sqrt 2) + i (+-3 pi/4 + 2 pi k); log's
        # branch points at i pi (2k + 1)
        strip=lambda: Strip(3 * math.pi / 4))
_define("gelu_tanh", [], lambda: (),
        lambda x: (_gelu_tanh(x),),
        "x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (Hendrycks & Gimpel 2016, "
        "tanh approximation of GELU)", label="GELU (tanh)", color="#bc80bd",
        # tanh(sqrt(2/pi) (x + 0.044715 x^3)): poles at 0.63 + 2.75i, 3.10 + 3.26i, ...,
        # asymptotically at arg x = pi/6 (so Im t -> pi/6)
        strip=lambda: Strip(2.75, 0.0, math.pi / 6))
_define("erf", [], lambda: (), lambda x: (sp.erf(x),),
        "erf(x) (Williams 1997: closed-form arcsine kernel)", label="erf", color="#08519c",
        strip=lambda: Strip(math.inf, 1.0))  # entire, |erf(iy)| ~ e^{y^2}
_define("swish", [BETA], lambda b: (), lambda x, b: (x / (1 + sp.exp(-b * x)),),
        "x sigmoid(beta x) (Ramachandran et al. 2017, Swish)", label="Swish",
        color="#a6761d", examples=[{"beta": 1.0}, {"beta": 2.5}],
        strip=lambda b: Strip(math.pi / b))
_define("golu", [], lambda: (), lambda x: (x * sp.exp(-sp.exp(-x)),),
        "x exp(-e^{-x}): the Gompertz gate (Das et al. 2025, GoLU)", label="GoLU",
        color="#1b9e77", band=lambda: math.pi / 2)  # |e^{-e^{-x}}| <= 1 for Re x < 0, <= e else
_define("aptx", [], lambda: (), lambda x: ((1 + sp.tanh(x)) * x / 2,),
        "(alpha + tanh(beta x)) gamma x at the paper's defaults alpha = 1, beta = 1, "
        "gamma = 1/2 (Kumar 2022, APTx)", label="APTx", color="#e7298a",
        strip=lambda: Strip(math.pi / 2))
# Kinked (piecewise linear or quadratic) activations.
_define("relu6", [], lambda: (0, 6), lambda x: (0, x, 6),
        "min(max(x, 0), 6) (Krizhevsky 2010; Howard et al. 2017, MobileNets)",
        label="ReLU6", color="#3182bd", clipped=True)
_define("hardtanh", [], lambda: (-1, 1), lambda x: (-1, x, 1),
        "max(-1, min(1, x)) (Collobert 2004; torch.nn.Hardtanh)", label="hardtanh",
        color="#6baed6", clipped=True)
_define("hardsigmoid", [], lambda: (-3, 3), lambda x: (0, x / 6 + sp.Rational(1, 2), 1),
        "relu6(x + 3) / 6 (Howard et al. 2019, MobileNetV3)", label="hardsigmoid",
        color="#9e9ac8", clipped=True)
_define("hardswish", [], lambda: (-3, 3), lambda x: (0, x * (x + 3) / 6, x),
        "x relu6(x + 3) / 6 (Howard et al. 2019, MobileNetV3)", label="hardswish",
        color="#d95f02")
# Jumps: phi itself is discontinuous (theory/jumps.py: chi_1 = inf, Stein-form V').
_define("jumprelu", [THETA], lambda t: (t,), lambda x, t: (0, x),
        "x 1[x > theta] (Rajamanoharan et al. 2024, JumpReLU sparse autoencoders)",
        label=r"JumpReLU$_\theta$", color="#b15928", threshold="theta", sided=1,
        examples=[{"theta": 1.0}, {"theta": 0.3}])
_define("hard_threshold", [THETA], lambda t: (-t, t), lambda x, t: (x, 0, x),
        "x 1[|x| > theta]: magnitude thresholding (Liu et al. 2024, TEAL; Lee et al. "
        "2024, CATS); the wide limit of per-token top-k (theory/jumps.py)",
        label=r"HT$_\theta$", color="#ff7f00", threshold="theta", sided=2,
        examples=[{"theta": 1.0}, {"theta": 0.4}])


PARAM_NAMES = tuple(sorted({p.name for f in CATALOGUE.values() for p in f.params}))


def names(**where) -> tuple[str, ...]:
    """Catalogue names whose properties match, in catalogue order, e.g.
    ``names(tag="p24")``, ``names(clipped=True)``, ``names(derivable=True)``."""
    tag = where.pop("tag", None)
    return tuple(n for n, f in CATALOGUE.items()
                 if (tag is None or tag in f.tags)
                 and all(getattr(f, k) == v for k, v in where.items()))


def family(name: str) -> Family:
    """Look up a catalogue family by name."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ParameterError("activation", name, f"one of {sorted(CATALOGUE)}") from None


def get(name: str, **params: float) -> Activation:
    """Catalogue activation ``name`` bound to ``params`` (validated)."""
    return family(name).bind(**params)
