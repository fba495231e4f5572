"""Every command's ``--json`` output is strict JSON: a parser that rejects ``Infinity`` and
``NaN`` (not JSON) reads it.  The list of commands is checked against the parser, so a new
``--json`` command without a case here fails."""

import json

import pytest

from sparsefield.cli import COMMANDS, build_parser, main
from sparsefield.jsonout import dumps, strict

from bad_inputs import EXPERIMENTS, TRAIN


def _reject(constant):
    raise ValueError(f"not JSON: {constant}")


def parse_strict(text: str):
    return json.loads(text, parse_constant=_reject)


CASES = {
    "derive": [["derive", "--activation", "crelu", "--sparsity", "0.85"],  # xi_c infinite
               ["derive", "--activation", "relu_tau", "--sparsity", "0.8"],
               ["derive", "--activation", "expr:Max(x - 1, 0)"],  # any spec
               ["derive", "--activation", "relu_tau", "--sparsity", "0.85", "--width", "300",
                "--depth", "100"],  # finite_width: p_explode, an infinite depth scale
               ["derive", "--activation", "crelu", "--sparsity", "0.85", "--vprime", "0.5",
                "--width", "300", "--depth", "100"]],
    "map": [["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--q", "1",
             "--rho", "0.5"],
            ["map", "--activation", "st:tau=0.5", "--sigma-w2", "1", "--sigma-b2", "0.1",
             "--q", "1"]],  # chi_1 infinite (jumps)
    "drift": [["drift", "--activation", "relu", "tanh", "selu"]],
    "formula": [["formula", "--activation", "crelu", "--tau", "0.5", "--m", "1"]],
    "check": [["check", "--quick", "--activation", "relu"]],
    "train": [TRAIN],
    "experiment": [EXPERIMENTS["tradeoff"]],
}


def _json_commands() -> set[str]:
    """The subcommands (and experiment subcommands) whose parser has ``--json``."""
    out = set()
    for name in COMMANDS:
        sub = build_parser(name)._subparsers._group_actions[0].choices[name]
        actions = [sub] + [p for a in sub._subparsers._group_actions for p in a.choices.values()] \
            if sub._subparsers else [sub]
        if any("--json" in a.option_strings for p in actions for a in p._actions):
            out.add(name)
    return out


def test_every_json_command_has_a_case():
    assert _json_commands() == set(CASES)


@pytest.mark.parametrize("command", sorted(CASES))
def test_json_output_is_strict(command, tmp_path, capsys):
    for argv in CASES[command]:
        extra = ["--out", str(tmp_path)] if command in ("train", "experiment") else []
        code = main([*argv, *extra, "--json"])
        assert code in (0, 1), argv  # check exits 1 when a row fails; still JSON
        parse_strict(capsys.readouterr().out)


def test_derive_writes_infinity_as_a_string(capsys):
    main(["derive", "--activation", "crelu", "--sparsity", "0.85", "--json"])
    out = parse_strict(capsys.readouterr().out)
    assert out["depth_scales"]["xi_c"] == "inf"


def test_strict_replaces_every_non_finite_value():
    import numpy as np

    got = strict({"a": float("inf"), "b": [np.float64("-inf"), float("nan")], "c": (1, 2.5),
                  "d": np.int64(3)})
    assert got == {"a": "inf", "b": ["-inf", None], "c": [1, 2.5], "d": 3}
    parse_strict(dumps(got))
    with pytest.raises(ValueError):  # the control: Python's default is not strict JSON
        parse_strict(json.dumps({"x": float("inf")}))
