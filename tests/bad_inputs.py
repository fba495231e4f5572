"""Bad command lines for every subcommand (used by the fuzz test and ``test_bad_input``).

:func:`bad_argvs` gives ``argv`` lists, each of which must end with exit status 2 and one
line on stderr, before any training or long computation starts.  ``files`` is a folder
made by :func:`plant_files` holding the broken files they name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

NAN, INF = "nan", "inf"

# (command prefix, a valid remainder that must still be completed by the bad option)
TRAIN = ["train", "--width", "8", "--depth", "2", "--steps", "2", "--dataset", "random",
         "--n-train", "64", "--n-test", "32", "--eval-size", "32", "--no-progress"]
EXPERIMENTS = {
    "drift": ["experiment", "drift", "--activations", "relu", "--datasets", "random",
              "--width", "8", "--depth", "2", "--steps", "2", "--n-train", "64",
              "--n-test", "32", "--eval-size", "32", "--seeds", "0", "--no-progress"],
    "clipping": ["experiment", "clipping", "--vprimes", "0.5", "--beyond", "1.5",
                 "--unclipped", "relu_tau", "--width", "8", "--depth", "2", "--steps", "2",
                 "--dataset", "random", "--n-train", "64", "--n-test", "32",
                 "--eval-size", "32", "--seeds", "0", "--no-progress"],
    "tradeoff": ["experiment", "tradeoff", "--sparsities", "0.5", "--forces", "quantile",
                 "--width", "8", "--depth", "2", "--steps", "2", "--dataset", "random",
                 "--n-train", "64", "--n-test", "32", "--eval-size", "32", "--seeds", "0",
                 "--no-progress"],
    "gpt": ["experiment", "gpt", "--size", "ci", "--activations", "relu", "--steps", "2",
            "--eval-every", "1", "--data", "generated", "--no-progress"],
}

# Option values that are always invalid: (option, values), per command family.
TRAIN_BAD = {
    "--lr": [NAN, INF, "-inf", "0", "-1"], "--momentum": [NAN, INF, "-0.5", "1.5"],
    "--weight-decay": [NAN, INF, "-1"], "--n-train": ["0", "-1"], "--n-test": ["0", "-5"],
    "--data-seed": ["-1"], "--width": ["0", "-3", "99999999999", "8.5", "x"],
    "--depth": ["0", "-1", "1e9"], "--steps": ["0", "-2"], "--batch-size": ["0"],
    "--eval-every": ["0"], "--log-every": ["0"], "--stats-every": ["0"],
    "--eval-size": ["0"], "--checkpoint-every": ["-1"], "--q-star": ["0", NAN, "-1", INF],
    "--model": ["resnet"], "--optimizer": ["lbfgs"], "--loss": ["hinge"], "--init": ["he"],
    "--force": ["dropout"], "--dataset": ["imagenet"], "--activation": ["nosuch"],
    "--sparsity": ["0", "1", "1.5", NAN], "--max-members": ["0", "-1"],
    "--device": ["gpu", "cuda:x", "tpu"], "--seeds": ["-1"],
}
TRAIN_COMBOS = [  # parameters that do not belong together
    ["--activation", "relu", "--vprime", "0.5"],
    ["--activation", "crelu", "--c", "2"],
    ["--activation", "relu_tau", "--tau", "0.5", "--sparsity", "0.8"],
    ["--activation", "relu", "--sparsity", "0.8"],
    ["--activation", "crelu", "--sparsity", "0.8", "--vprime", "0.5", "--m", "1"],
    ["--activation", "tanh", "--m", "1"],
    ["--force", "quantile"],
    ["--force-sparsity", "0.5"],
]
EXPERIMENT_BAD = {
    "drift": {"--z-sign": ["-1", NAN, "0"], "--min-effect": [NAN, "-1"],
              "--activations": ["nosuch"], "--datasets": ["imagenet"], "--seeds": ["-1"],
              "--lr": [NAN], "--width": ["0"], "--n-train": ["0"]},
    "clipping": {"--tolerance": [NAN, "-1", "2"], "--learn-margin": [NAN, "-0.1"],
                 "--unclipped": ["crelu", "relu"], "--clipped": ["relu_tau"],
                 "--vprimes": ["0", "1", NAN], "--beyond": ["0", "-1"], "--sparsity": ["1"],
                 "--seeds": ["-1"], "--momentum": [INF]},
    "tradeoff": {"--cliff-drop": ["-1", NAN, "0", "2"], "--sparsities": ["0", "1.5"],
                 "--forces": ["none", "dropout"], "--activation": ["nosuch"],
                 "--seeds": ["-1"], "--momentum": [NAN]},
    "gpt": {"--size": ["huge"], "--activations": ["nosuch", "relu:c"], "--steps": ["0", "-1"],
            "--eval-every": ["0"], "--topk": ["0", "1.5", NAN], "--seeds": ["-1"],
            "--data": ["nosuch"]},
}
THEORY_BAD = [
    ["derive", "--activation", "crelu", "--sparsity", v] for v in ("0", "1", NAN, "-1", "2")
] + [
    ["derive", "--activation", "crelu", "--sparsity", "0.85", "--vprime", v] for v in ("0", "1", NAN)
] + [
    ["derive", "--activation", "crelu", "--sparsity", "0.85", "--m", v] for v in ("0", "-1", NAN)
] + [
    ["derive", "--activation", "relu_tau", "--sparsity", "0.85", "--vprime", "0.5"],
    ["derive", "--activation", "crelu", "--sparsity", "0.85", "--q-star", "0"],
    ["derive", "--activation", "crelu", "--sparsity", "0.85", "--q-star", NAN],
    ["derive", "--activation", "relu", "--vprime", "0.5"],  # a target V' is for crelu/cst
    ["derive", "--activation", "crelu"],  # the [P24] families need --sparsity
    ["derive", "--activation", "tanh", "--sparsity", "0.5"],  # no zero region
    ["map", "--activation", "nosuch", "--sigma-w2", "1", "--sigma-b2", "0", "--q", "1"],
    ["map", "--activation", "relu", "--sigma-w2", NAN, "--sigma-b2", "0", "--q", "1"],
    ["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "-1", "--q", "1"],
    ["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--q", "-1"],
    ["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--q", INF],
    ["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--q", "1", "--tau", "1"],
    ["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--q", "1", "--rho", "2"],
    ["map", "--activation", "crelu", "--tau", NAN, "--m", "1", "--sigma-w2", "2", "--sigma-b2", "0", "--q", "1"],
    ["drift", "--q", "0"], ["drift", "--q", NAN], ["drift", "--q", "-1"],
    ["drift", "--activation", "nosuch"],
    ["check", "--seed", "-1"], ["check", "--seed", "x"], ["check", "--nosuch"],
]


def plant_files(root: Path) -> dict[str, Path]:
    """Broken files and folders for the path cases; returns them by name."""
    root.mkdir(parents=True, exist_ok=True)
    f = {"file": root / "a_file", "folder": root / "a_folder", "readonly": root / "readonly",
         "bad_json": root / "bad.json", "binary": root / "binary.json",
         "list_json": root / "list.json", "nan_json": root / "nan.json",
         "unknown_json": root / "unknown.json", "width_float": root / "width_float.json",
         "width_huge": root / "width_huge.json", "width_bool": root / "width_bool.json",
         "missing": root / "does_not_exist.json", "empty": root / "empty.json"}
    f["file"].write_text("not a folder\n")
    f["folder"].mkdir(exist_ok=True)
    f["readonly"].mkdir(exist_ok=True)
    f["readonly"].chmod(0o555)
    f["bad_json"].write_text('{"width": 8,')
    f["binary"].write_bytes(bytes(range(256)))
    f["list_json"].write_text("[1, 2]")
    f["nan_json"].write_text('{"lr": NaN}')
    f["unknown_json"].write_text('{"widht": 8}')
    f["width_float"].write_text('{"width": 8.5}')
    f["width_huge"].write_text('{"width": 1e308}')
    f["width_bool"].write_text('{"width": true}')
    f["empty"].write_text("")
    return f


def path_cases(f: dict[str, Path]) -> list[list[str]]:
    """Bad ``--out`` / ``--results`` / ``--config`` for every command that takes them."""
    outs = [str(f["file"]), os.devnull, str(f["file"] / "sub")]
    if os.geteuid() != 0:  # root writes into read-only folders
        outs.append(str(f["readonly"] / "sub"))
    configs = [str(f[k]) for k in ("missing", "folder", "bad_json", "binary", "list_json",
                                   "nan_json", "unknown_json", "width_float", "width_huge",
                                   "width_bool", "empty")]
    out: list[list[str]] = []
    for base in [TRAIN, *EXPERIMENTS.values()]:
        out += [base + ["--out", o] for o in outs]
        out += [base + ["--data-root", str(f["missing"])]]
    for c in configs:
        out.append(TRAIN + ["--config", c])
        if "width" not in Path(c).name:
            out += [EXPERIMENTS[e] + ["--config", c] for e in EXPERIMENTS]
    for e in ("drift", "clipping", "tradeoff"):
        out += [EXPERIMENTS[e] + ["--config", str(f[k])] for k in ("width_float", "width_huge", "width_bool")]
    out += [["figures", "--results", o] for o in (str(f["file"]), os.devnull)]
    out += [["figures", "--results", str(f["folder"]), "--out", o] for o in outs]
    out += [["figures", "--results", str(f["folder"]), "--dpi", v] for v in ("0", "-1", "x")]
    out += [["figures", "--results", str(f["folder"]), "--only", "nosuch"]]
    out += [["report", "--tiny", "--out", o] for o in outs]
    out += [["report", "--tiny", "--device", "gpu", "--out", str(f["folder"])]]
    return out


def option_cases() -> list[list[str]]:
    """Every bad option value and combination, on top of a valid command."""
    out = [TRAIN + [opt, v] for opt, vals in TRAIN_BAD.items() for v in vals]
    out += [TRAIN + combo for combo in TRAIN_COMBOS]
    out += [EXPERIMENTS[e] + [opt, v] for e, bad in EXPERIMENT_BAD.items()
            for opt, vals in bad.items() for v in vals]
    return out + THEORY_BAD


SWEEP_OK = """
[sweep]
name = "fuzz"
seeds = [0]

[base]
width = 8
depth = 2
dataset = "random"
n_train = 64
n_test = 32
steps = 2
eval_size = 32

[grid]
activation = ["relu", "tanh"]

[size.reduced]
width = 4
"""

SWEEP_BAD = {  # name -> a broken sweep file (TOML text)
    "syntax": "[sweep\nname = 'x'",
    "unknown_table": SWEEP_OK + "\n[extra]\nx = 1\n",
    "unknown_sweep_key": SWEEP_OK.replace("seeds = [0]", "seeds = [0]\nworkers = 3"),
    "unknown_base_key": SWEEP_OK.replace("width = 8", "widht = 8"),
    "width_str": SWEEP_OK.replace("width = 8", 'width = "8"'),
    "width_float": SWEEP_OK.replace("width = 8", "width = 8.5"),
    "width_zero": SWEEP_OK.replace("width = 8", "width = 0"),
    "size_width": SWEEP_OK.replace("width = 4", "width = -4"),
    "size_unknown": SWEEP_OK.replace("width = 4", "wdth = 4"),
    "lr_nan": SWEEP_OK.replace("steps = 2", "steps = 2\nlr = nan"),
    "lr_inf": SWEEP_OK.replace("steps = 2", "steps = 2\nlr = inf"),
    "empty_grid": SWEEP_OK.replace('activation = ["relu", "tanh"]', "activation = []"),
    "grid_bad_value": SWEEP_OK.replace('["relu", "tanh"]', '["relu", "nosuch"]'),
    "grid_bad_type": SWEEP_OK.replace('["relu", "tanh"]', '["relu", 3]'),
    "grid_unknown": SWEEP_OK.replace('activation = ["relu", "tanh"]', 'acivation = ["relu"]'),
    "seeds_empty": SWEEP_OK.replace("seeds = [0]", "seeds = []"),
    "seeds_negative": SWEEP_OK.replace("seeds = [0]", "seeds = [-1]"),
    "seeds_str": SWEEP_OK.replace("seeds = [0]", 'seeds = "0"'),
    "gpu_str": SWEEP_OK.replace("seeds = [0]", 'seeds = [0]\ngpu = "no"'),
    "device_bad": SWEEP_OK.replace("seeds = [0]", 'seeds = [0]\ndevice = "gpu0"'),
    "retries_bad": SWEEP_OK.replace("seeds = [0]", "seeds = [0]\nretries = -1"),
    "figures_bad": SWEEP_OK.replace("seeds = [0]", 'seeds = [0]\nfigures = ["nosuch"]'),
    "name_escape": SWEEP_OK.replace('name = "fuzz"', 'name = "../escaped"'),
    "name_absolute": SWEEP_OK.replace('name = "fuzz"', 'name = "/tmp/escaped"'),
    "name_experiment": SWEEP_OK.replace('name = "fuzz"', 'name = "drift"'),
    "name_dots": SWEEP_OK.replace('name = "fuzz"', 'name = ".."'),
    "name_html": SWEEP_OK.replace('name = "fuzz"', """name = 'x" autofocus onfocus="alert(1)'"""),
    "name_type": SWEEP_OK.replace('name = "fuzz"', "name = 3"),
    "combo": SWEEP_OK.replace('activation = ["relu", "tanh"]', 'activation = ["relu"]\nvprime = [0.5]'),
    "table_not_table": "sweep = 3\n",
    "grid_list_of_nontables": SWEEP_OK.replace("[grid]\n", "grid = 3\n[xgrid]\n"),
}


def sweep_cases(root: Path) -> list[list[str]]:
    """``sweep FILE`` for each broken file, and bad options on a good file."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in SWEEP_BAD.items():
        path = root / f"{name}.toml"
        path.write_text(text)
        out.append(["sweep", str(path), "--results", str(root / "res"), "--dry-run"])
    good = root / "good.toml"
    good.write_text(SWEEP_OK)
    base = ["sweep", str(good), "--results", str(root / "res")]
    out += [base + ["--size", "nosuch", "--dry-run"], base + ["--workers", "1025"],
            base + ["--workers", "-2"], base + ["--scheduler", "not an address"],
            base + ["--scheduler", "tcp://127.0.0.1:1"], base + ["--scheduler", "http://x:80"],
            base + ["--data-root", str(root / "missing"), "--dry-run"],
            ["sweep", str(root / "missing.toml")], ["sweep", str(root)],
            ["sweep", str(good), "--results", str(good), "--dry-run"],
            ["sweep", str(good), "--results", os.devnull, "--dry-run"]]
    binary = root / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    out.append(["sweep", str(binary), "--dry-run", "--results", str(root / "res")])
    return out


def bad_argvs(root: Path) -> list[list[str]]:
    """All bad command lines, with their files planted under ``root``."""
    files = plant_files(root / "files")
    return option_cases() + path_cases(files) + sweep_cases(root / "sweeps")


def as_json(argvs: list[list[str]]) -> str:
    return json.dumps(argvs)
