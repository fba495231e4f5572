"""Shared fixtures for the theory tests: parameter sets covering every catalogue family
(the ``examples`` of each definition, :func:`sparsefield.testing.catalogue_activations`)."""

from sparsefield import testing
from sparsefield.theory import activations as A

PARAMS = {name: list(fam.examples) for name, fam in A.CATALOGUE.items() if fam.params}


def all_activations():
    """Every catalogue family at each of its example parameter sets."""
    return testing.catalogue_activations()


def ids(acts):
    return [f"{a.name}{a.values}" for a in acts]
