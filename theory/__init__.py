"""Mean-field theory of sparsity-inducing activations (sympy + scipy; no torch, no numba).

Sources: [P24] Price et al., ICLR 2024; [DT26] Dent & Tanner 2026; [BF2] Shvetsov et al.
2026; Poole et al. 2016; Schoenholz et al. 2017.  See ``shared/science.md``.
"""

from .activations import CATALOGUE, Activation, Family, family, get
from .clipping import Derivation, critical_m, derive, derive_grid, m_for_vprime
from .drift import drift_stats
from .eoc import edge_of_chaos
from .errors import InfeasibleError, ParameterError
from .maps import FixedPoint, MeanField
from .sparsity import sparsity, tau_for_sparsity

__all__ = [
    "CATALOGUE", "Activation", "Family", "family", "get", "Derivation", "critical_m",
    "derive", "derive_grid", "m_for_vprime", "drift_stats", "edge_of_chaos",
    "InfeasibleError", "ParameterError", "FixedPoint", "MeanField", "sparsity",
    "tau_for_sparsity",
]
