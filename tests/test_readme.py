"""The README's examples run and its quoted numbers are what the code produces (where that
is cheap; the ``check --quick`` count is ``slow``)."""

import re
import warnings
from pathlib import Path

import pytest

from sparsefield.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(title: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section(title), re.S)


def test_the_derive_example_is_the_commands_output(capsys):
    (block,) = [b for b in code_blocks("Command line", "text") if b.startswith("tau ")]
    assert main(["derive", "--activation", "crelu", "--sparsity", "0.85"]) == 0
    out = capsys.readouterr().out
    for line in block.strip().splitlines():
        assert line in out, line


def test_the_user_activation_example_runs_and_its_numbers_hold():
    (code,) = code_blocks("Your own activations", "python")
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the project's README
        d = scope["sf"].derive(scope["clip2"])
    quoted = re.search(r"d\.sigma_w2, d\.sigma_b2, d\.vprime, d\.sparsity +# ([\d., ]+)", code)
    got = [d.sigma_w2, d.sigma_b2, d.vprime, d.sparsity]
    for q, g in zip(quoted.group(1).split(", "), got):
        assert g == pytest.approx(float(q), abs=0.6 * 10 ** -len(q.split(".")[1])), (q, g)
    assert scope["d"].tau == pytest.approx(0.8416, abs=1e-4)


def test_the_testing_example_is_a_passing_test_file():
    (code,) = code_blocks("Testing your own activation", "python")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the project's README
    tests = [f for name, f in scope.items() if name.startswith("test_")]
    assert len(tests) == 2
    for t in tests:
        t()


@pytest.mark.slow
def test_the_quoted_check_count_is_the_quick_matrix():
    from sparsefield.numerics import check

    n = re.search(r"the quick matrix passes (\d+) of (\d+) checks", README)
    assert n, "README no longer quotes the quick matrix"
    rows = check.run(quick=True, seed=0, progress=False)
    assert int(n.group(2)) == len(rows) and int(n.group(1)) == sum(r.passed for r in rows)
