"""The command-line contract of ``derive``, ``map`` and ``drift``."""

import json
import math
import subprocess
import sys

import pytest

from sparsefield.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_derive_json_keys(capsys):
    code, out, _ = run(capsys, "derive", "--activation", "crelu", "--sparsity", "0.85",
                       "--vprime", "0.5", "--json")
    d = json.loads(out)
    assert code == 0
    for key in ("tau", "m", "sigma_w2", "sigma_b2", "chi1", "vprime", "vsecond",
                "fixed_points", "critical_m", "warnings"):
        assert key in d
    assert set(d["critical_m"]) == {"vsecond_zero", "bifurcation"}
    assert d["fixed_points"][0]["stability"] in ("stable", "unstable", "marginal")
    assert d["vprime"] == pytest.approx(0.5, rel=1e-9)


def test_derive_table_and_unclipped_warning(capsys):
    code, out, _ = run(capsys, "derive", "--activation", "st", "--sparsity", "0.85")
    assert code == 0 and "sigma_w2" in out and "warning: unstable" in out


def test_map_and_drift(capsys):
    code, out, _ = run(capsys, "map", "--activation", "crelu", "--tau", "0.5", "--m", "1",
                       "--sigma-w2", "2", "--sigma-b2", "0.1", "--q", "1", "--rho", "0.3", "--json")
    assert code == 0 and set(json.loads(out)) == {"V", "dV", "d2V", "chi1", "R", "dR"}
    code, out, _ = run(capsys, "drift", "--activation", "relu", "tanh", "--json")
    d = json.loads(out)
    assert d["relu"]["drift"] == "negative" and d["tanh"]["drift"] == "none"
    assert set(d["relu"]) == {"E_phi", "E_phi_dphi", "E_phi_dphi_pos", "E_phi_dphi_neg",
                              "p_zero", "drift"}


@pytest.mark.parametrize("argv, param", [
    (["derive", "--activation", "crelu", "--sparsity", "1.5"], "sparsity"),
    (["derive", "--activation", "crelu", "--sparsity", "0.8", "--vprime", "1.2"], "vprime"),
    (["map", "--activation", "nope", "--sigma-w2", "1", "--sigma-b2", "0", "--q", "1"], "activation"),
    (["map", "--activation", "relu", "--sigma-w2", "1", "--sigma-b2", "0", "--q", "-1"], "q"),
    (["map", "--activation", "sigmoid", "--sigma-w2", "1", "--sigma-b2", "0", "--q", "1", "--rho", "2"], "rho"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, param):
    code, _, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"{param}=" in lines[0] and "must be" in lines[0]


def test_console_script_no_traceback():
    r = subprocess.run([sys.executable, "-m", "sparsefield", "derive", "--activation", "cst",
                        "--sparsity", "nan"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "sparsity=nan" in r.stderr


@pytest.mark.parametrize("argv", [
    ["--activation", "sigmoid", "--sigma-w2", "2", "--sigma-b2", "0.1", "--q", "350"],
    ["--activation", "silu", "--sigma-w2", "2", "--sigma-b2", "0.1", "--q", "350"],
    ["--activation", "crelu", "--tau", "1", "--m", "1", "--sigma-w2", "2", "--sigma-b2", "0",
     "--q", "1e-6", "--rho", "0.5"],
    ["--activation", "crelu", "--tau", "1", "--m", "1", "--sigma-w2", "2", "--sigma-b2", "0",
     "--q", "1e20"],
])
def test_map_never_prints_nan_or_a_negative_variance(capsys, argv):
    """Issue 12 item 2: a finite result (variance >= 0), or exit 2 with one line naming q."""
    code, out, err = run(capsys, "map", *argv, "--json")
    if code == 0:
        d = json.loads(out)
        assert all(math.isfinite(v) for v in d.values()) and d["V"] >= 0 and d["chi1"] >= 0
    else:
        lines = err.strip().splitlines()
        assert code == 2 and "q=" in lines[-1] and (
            "computable" in lines[-1] or "a variance in" in lines[-1])


def test_guard_turns_nan_and_negative_variances_into_errors(monkeypatch, capsys):
    """Whatever a moment returns, MeanField never hands out NaN or V < 0."""
    from sparsefield.theory import moments, tails
    monkeypatch.setattr(moments, "e_dphi2", lambda act, q, method="auto": q * float("nan"))
    monkeypatch.setattr(tails, "pl_dq_e_phi2", lambda act, q, order: q * float("nan"))
    code, out, err = run(capsys, "map", "--activation", "relu", "--sigma-w2", "2",
                         "--sigma-b2", "0.1", "--q", "1", "--json")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    # finite at no q: the activation is blamed, not q (issue 26)
    assert "activation='relu' is invalid" in err and "dV is finite" in err and "no decade" in err
    monkeypatch.undo()
    monkeypatch.setattr(moments, "e_phi2", lambda act, q, method="auto": -0.01 * q)
    code, _, err = run(capsys, "map", "--activation", "relu", "--sigma-w2", "2",
                       "--sigma-b2", "0.1", "--q", "1", "--json")
    assert code == 2 and ("V of relu" in err or "activation='relu'" in err and "V is finite" in err)


def test_drift_takes_parameters_and_both_list_forms(capsys):
    code, out, _ = run(capsys, "drift", "--activation", "crelu2:c=4", "relu",
                       "--activation", "tanh", "--json")
    d = json.loads(out)
    assert code == 0 and list(d) == ["crelu2:c=4", "relu", "tanh"]
    # clipped ReLU^2, independently: E[phi phi'] = int_0^2 2 x^3 gamma(x) dx (c = 4)
    exact = 2 * (2 - (2 ** 2 + 2) * math.exp(-2)) / math.sqrt(2 * math.pi)  # [-(x^2+2) gamma]
    assert d["crelu2:c=4"]["E_phi_dphi"] == pytest.approx(exact, rel=1e-10)
    assert d["relu"]["E_phi_dphi"] == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-12)


@pytest.mark.parametrize("spec, param", [("crelu2", "c"), ("crelu2:c=-1", "c"),
                                         ("crelu2:d=3", "d"), ("relu:tau=1", "tau"),
                                         ("crelu:tau=1,m=x", "m"), ("nope", "activation")])
def test_drift_bad_specs_exit_2(capsys, spec, param):
    code, _, err = run(capsys, "drift", "--activation", spec)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and f"{param}=" in lines[0] and "must be" in lines[0]


def test_map_takes_a_spec_and_flags():
    from sparsefield.cli import main as cli
    assert cli(["map", "--activation", "crelu:tau=0.5", "--m", "1", "--sigma-w2", "2",
                "--sigma-b2", "0.1", "--q", "1"]) == 0
    assert cli(["map", "--activation", "crelu:tau=0.5,m=1", "--m", "1", "--sigma-w2", "2",
                "--sigma-b2", "0.1", "--q", "1"]) == 2


def test_experiment_lists_take_both_forms():
    """Repeated list flags accumulate (they used to keep only the last)."""
    import argparse
    from dataclasses import dataclass, field

    from sparsefield.empirical.config_cli import add_arguments, from_arguments

    @dataclass
    class Cfg:
        activations: list[str] = field(default_factory=lambda: ["relu"])
        width: int = 3
    p = argparse.ArgumentParser()
    add_arguments(p, Cfg)
    args = p.parse_args(["--activations", "relu", "gelu", "--activations", "tanh"])
    assert from_arguments(Cfg, args).activations == ["relu", "gelu", "tanh"]
    assert from_arguments(Cfg, p.parse_args([])).activations == ["relu"]


def test_map_of_a_gated_unit_against_gauss_hermite(capsys):
    """SwiGLU ``silu(g) u``, g, u ~ N(0, q) independent: ``V = sw2 E[silu^2] q + sb2`` and
    ``chi_1 = sw2 (E[silu'^2] q + E[silu^2])``, the expectations by a 120-node
    Gauss-Hermite rule on the hand-written silu (smooth: the rule converges)."""
    import numpy as np

    q, sw2, sb2 = 0.7, 1.8, 0.05
    code, out, _ = run(capsys, "map", "--activation", "swiglu", "--sigma-w2", str(sw2),
                       "--sigma-b2", str(sb2), "--q", str(q), "--json")
    assert code == 0
    d = json.loads(out)
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    g = np.sqrt(q) * z
    sig = 1.0 / (1.0 + np.exp(-g))
    silu, dsilu = g * sig, sig * (1.0 + g * (1.0 - sig))
    a, da = w @ silu**2, w @ dsilu**2
    assert d["V"] == pytest.approx(sw2 * a * q + sb2, rel=1e-12)
    assert d["chi1"] == pytest.approx(sw2 * (da * q + a), rel=1e-12)
    code, _, err = run(capsys, "map", "--activation", "drelu", "--tau", "1", "--sigma-w2", "2",
                       "--sigma-b2", "0", "--q", "1")
    assert code == 2 and "tau" in err and "gated unit drelu" in err and len(err.splitlines()) == 1
