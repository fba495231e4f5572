"""Shared fixtures for the theory tests: parameter sets covering every catalogue family."""

from sparsefield.theory import activations as A

PARAMS = {
    "relu_tau": [{"tau": 0.0}, {"tau": 0.7}, {"tau": 2.5}],
    "st": [{"tau": 0.3}, {"tau": 1.9}],
    "crelu": [{"tau": 0.5, "m": 0.2}, {"tau": 1.1, "m": 1.7}, {"tau": 0.0, "m": 4.0}],
    "cst": [{"tau": 0.4, "m": 0.6}, {"tau": 1.4, "m": 2.2}],
    "leaky_relu": [{"slope": 0.01}, {"slope": 0.3}],
    "crelu2": [{"c": 0.5}, {"c": 3.0}],
}


def all_activations():
    """Every catalogue family at one or more parameter values."""
    out = []
    for name, fam in A.CATALOGUE.items():
        for params in PARAMS.get(name, [{}]):
            out.append(fam.bind(**params))
    return out


def ids(acts):
    return [f"{a.name}{a.values}" for a in acts]
