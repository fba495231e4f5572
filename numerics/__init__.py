"""Numerical checks of :mod:`theory`: Gaussian Monte Carlo (numba), finite-width random
networks, drift Monte Carlo [BF2], and the verification matrix of ``sparsefield check``.

Modules: ``stats`` (estimates, z-scores, control variates), ``kernels`` (numba kernel and
catalogue callbacks), ``gaussian_mc``, ``finite_width``, ``reproduce`` ([P24] claims),
``drift_mc``, ``check``, ``derivation_checks`` (the report's Monte Carlo and
finite-width parts at the derived initialisations).
"""
