"""The command-line contract of ``derive``, ``map`` and ``drift``."""

import json
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
