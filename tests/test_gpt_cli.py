"""``sparsefield experiment gpt`` through the experiment registry's interface."""

import json

from sparsefield.cli import main
from sparsefield.empirical import experiments


def test_experiment_gpt_command(tmp_path, capsys):
    assert "gpt" in experiments.EXPERIMENTS
    argv = ["experiment", "gpt", "--size", "ci", "--activations", "relu", "crelu2:c=0.5",
            "--data", "generated", "--steps", "6", "--eval-every", "3", "--topk", "0.5",
            "--seeds", "3", "--out", str(tmp_path), "--device", "cpu", "--no-progress", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ran"] == 2 and set(summary["rows"]) == {"relu", "crelu2-c=0.5"}
    assert max(summary["rows"]["crelu2-c=0.5"]["max_act_final"]) <= 0.5
    assert len(list((tmp_path / "gpt").glob("*__seed3.json"))) == 2
    assert main(argv[:-1]) == 0  # second run: nothing to train, prints the table
    assert "relu_sparsity_grows" in capsys.readouterr().out
    assert main(argv[:3] + ["huge"] + argv[4:]) == 2  # bad size: one-line error
