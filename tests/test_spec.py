"""Activation specs ``name[:k=v,...]``: parsing, defaults, errors naming the parameter."""

import pytest

from sparsefield.theory import spec
from sparsefield.theory.activations import CATALOGUE, get
from sparsefield.theory.errors import ParameterError


@pytest.mark.parametrize("text, name, params", [
    ("relu", "relu", {}),
    ("crelu2:c=4", "crelu2", {"c": 4.0}),
    ("crelu:tau=1,m=2", "crelu", {"tau": 1.0, "m": 2.0}),
    (" crelu : m = 2 , tau = 0 ", "crelu", {"tau": 0.0, "m": 2.0}),
    ("leaky_relu", "leaky_relu", {"slope": 0.01}),
    ("leaky_relu:slope=0.2", "leaky_relu", {"slope": 0.2}),
])
def test_parse(text, name, params):
    act = spec.parse(text)
    assert act == get(name, **params)
    assert spec.parse(spec.format_spec(act)) == act  # round trip


@pytest.mark.parametrize("text, param, words", [
    ("crelu2", "c", "crelu2:c=VALUE"),
    ("crelu2:c=0", "c", "> 0"),
    ("crelu2:c=nan", "c", "> 0"),
    ("crelu2:c=abc", "c", "> 0"),
    ("crelu2:c", "c", "crelu2:c=VALUE"),
    ("crelu2:c=1,c=2", "c", "once"),
    ("crelu2:x=1", "x", "a parameter of crelu2: c"),
    ("relu:tau=1", "tau", "it takes none"),
    ("leaky_relu:slope=2", "slope", "[0, 1]"),
    ("nosuch_activation", "activation", "one of"),
    ("", "activation", "name"),
])
def test_errors_name_the_parameter_and_range(text, param, words):
    with pytest.raises(ParameterError) as err:
        spec.parse(text)
    assert err.value.param == param and words in str(err.value) and "must be" in str(err.value)


def test_every_catalogue_family_parses():
    for name, fam in CATALOGUE.items():
        text = name + "".join(f"{':' if i == 0 else ','}{p.name}=0.5"
                              for i, p in enumerate(fam.params))
        assert spec.parse(text).name == name


def test_prefix_dispatch(monkeypatch):
    """A registered prefix receives the rest of the spec (the hook for other forms)."""
    seen = []
    monkeypatch.setitem(spec.PREFIXES, "fake", lambda rest: seen.append(rest) or get("relu"))
    assert spec.parse("fake:x*sin(x), a=1").name == "relu" and seen == ["x*sin(x), a=1"]
    assert not set(spec.PREFIXES) & set(CATALOGUE)


def test_expr_spec_equals_the_catalogue_entry():
    from sparsefield.theory.maps import MeanField
    from sparsefield.theory.spec import parse

    a = MeanField(parse("expr:Min(Max(x - 1, 0), 2)"), 2.0, 0.1)
    b = MeanField(parse("crelu:tau=1,m=2"), 2.0, 0.1)
    for f in ("V", "dV", "d2V", "chi1"):
        assert abs(getattr(a, f)(1.3) - getattr(b, f)(1.3)) <= 1e-12 * abs(getattr(b, f)(1.3))
