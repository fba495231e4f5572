"""Independent references, not production code: what the tests, :mod:`sparsefield.testing`
and the verification matrix (:mod:`sparsefield.numerics.check`) compare the production
routes with.  No production module imports this package (``tests/test_structure.py``).

* :mod:`.mpmath_moments` -- Gaussian moments in mpmath from an activation's definition;
* :mod:`.quad` -- adaptive quadrature of each piece between breakpoints (float64, slow);
* :mod:`.gated_mc` -- Monte Carlo and finite-width networks of gated units.
"""
