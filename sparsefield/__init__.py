"""sparsefield: command line and report, on top of theory, numerics, empirical, figures."""
