"""A generator of bad command lines (issue 26), seeded and reproducible: each class of
input the audit found crashing, hanging or accepted, in many random variants.  Every
``argv`` must end with exit status 2 and one stderr line, before any long work starts.

Classes: integers beyond float range on integer options; floats outside every range
(1e308, 1e-320, huge negative, NaN, inf) on float options of every command; hostile
expressions (power towers, huge literals, deep nesting, injections, Gaussian or faster
growth); nested JSON/TOML configs; sweep files with path-like size names, empty grids
or too many points; bad devices, schedulers and paths (loops, dangling links, files as
parents, pseudo file systems, empty).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from bad_inputs import EXPERIMENTS, TRAIN

THEORY_MAP = ["map", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--q", "1"]
THEORY_DERIVE = ["derive", "--activation", "crelu", "--sparsity", "0.85"]
INT_OPTIONS = {  # command prefix -> integer options
    "train": ["--width", "--depth", "--n-train", "--n-test", "--steps", "--batch-size",
              "--eval-every", "--log-every", "--eval-size", "--data-seed", "--max-members"],
    "drift": ["--width", "--depth", "--seeds", "--steps"],
    "clipping": ["--width", "--steps", "--seeds"],
}
FLOAT_OPTIONS = {  # prefix -> options that take floats, with values outside their range
    "train": {"--lr": ["1e308", "-1e308", "1e7"], "--q-star": ["1e308", "1e5", "-1e-320"],
              "--momentum": ["1e308", "-1e-320", "1"], "--weight-decay": ["1e308", "-1e-320"]},
    "clipping": {"--within": ["-0.1", "1.1", "1e308"], "--chance-margin": ["-0.1", "1.1", "1"],
                 "--tolerance": ["1e308", "-1e-320"]},
    "map": {"--q": ["1e308", "1e-320", "1e13", "1e-13", "-1", "0"],
            "--sigma-w2": ["1e308", "0", "-1", "1e13"], "--sigma-b2": ["-1e-320", "1e308", "-1"]},
    "derive": {"--q-star": ["1e308", "1e-320", "1e13", "0"], "--m": ["1e-300", "1e308", "-1"],
               "--sparsity": ["1e308", "-1e-320", "1", "0"], "--vprime": ["1e308", "1e-320", "1"]},
    "drift": {"--q": ["1e308", "1e-320", "-1", "1e13"]},
}
NONFINITE = ["nan", "inf", "-inf", "NaN", "Infinity", "-nan"]
HOSTILE = ["__import__('os').system('id')", "x.__class__", "lambda: 1", "[x for x in ()]",
           "'a'", "open('/etc/passwd')", "exec('1')", "x if x else x", "{x: 1}", "x[0]",
           "f'{x}'", "x @ x", "x // 2", "x % 2", "not x", "x and x", "(yield x)", "*x",
           "x == 1", "1 < x < 2", "Max(x, key=1)", "getattr(x, 'a')", "E.func", "",
           "   ", "\x00", "x" * 3000]


def _huge_int(rng: random.Random) -> str:
    digits = rng.choice([310, 400, 1000, 4000])
    return rng.choice(["", "-"]) + "9" * digits


def _float_outside(rng: random.Random, listed: list[str]) -> str:
    return rng.choice(listed + NONFINITE + ["1e309", "-1e309", "1" + "0" * 400])


def _power_tower(rng: random.Random) -> str:
    n = rng.randint(3, 6)
    return "**".join(str(rng.randint(2, 99)) for _ in range(n))


def _expression(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return _power_tower(rng)
    if kind == 1:
        return f"{rng.randint(2, 9)}**{rng.randint(100, 10 ** 6)}"
    if kind == 2:
        return "x*" + "9" * rng.randint(61, 900)
    if kind == 3:
        d = rng.randint(45, 200)  # (plain parentheses add no depth: "((x))" is x)
        return rng.choice(["exp(", "Abs(", "-("]) * d + "x" + ")" * d
    if kind == 4:
        return "-" * rng.randint(50, 1900) + "x"
    if kind == 5:
        return "x" + "+x" * rng.randint(400, 900)
    if kind == 6:
        return rng.choice(HOSTILE)
    return f"x**{rng.randint(65, 10 ** 9)}"


def _growth_expression(rng: random.Random) -> str:
    c = rng.choice(["1", "2", "1/100", "1/7", "3"])
    return rng.choice([f"exp({c}*x**2)", f"exp({c}*x**3)", f"cosh({c}*x**2)",
                       f"exp(exp({c}*x))", f"sinh(x**2)*{c}", f"Max(x, 0)*exp(x**2*{c})"])


def _deep_json(path: Path, depth: int, rng: random.Random) -> None:
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    path.write_text(opener * depth + "1" + closer * depth)


def _deep_toml(path: Path, depth: int) -> None:
    path.write_text('[sweep]\nname = "deep"\n[base]\nwidth = ' + "[" * depth + "]" * depth + "\n")


def _sweep_file(root: Path, i: int, rng: random.Random) -> Path:
    kind = rng.randrange(4)
    head = '[sweep]\nname = "gen"\n[base]\nwidth = 8\ndepth = 2\ndataset = "random"\n'
    if kind == 0:  # too many points, counted before expansion
        axes = ("lr", "width", "depth", "batch_size")
        n = rng.randint(3, 4)  # at least 22^3 > 10,000 points
        body = "[grid]\n" + "".join(f"{k} = {list(range(1, rng.randint(23, 60)))}\n"
                                    for k in axes[:n])
        text = head + body
    elif kind == 1:  # a size name that is a path
        name = rng.choice(["x/../../../../tmp/ESCAPED", "..", "/abs", "a b", "x.y", "ä"])
        text = head + f'[grid]\nactivation = ["relu"]\n[size."{name}"]\nwidth = 4\n'
    elif kind == 2:  # nothing to sweep
        text = rng.choice(["", head, '[sweep]\nname = "e"\n', "[grid]\n"])
    else:  # deep nesting
        path = root / f"deep{i}.toml"
        _deep_toml(path, rng.randint(1000, 100000))
        return path
    path = root / f"gen{i}.toml"
    path.write_text(text)
    return path


def _paths(root: Path) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "regular").write_text("x")
    for a, b in (("loop_a", "loop_b"), ("loop_b", "loop_a")):
        if not os.path.lexists(root / a):
            os.symlink(root / b, root / a)
    if not os.path.lexists(root / "dangling"):
        os.symlink(root / "nowhere", root / "dangling")
    return {"loop": str(root / "loop_a"), "loop_sub": str(root / "loop_a" / "sub"),
            "dangling": str(root / "dangling"), "under_file": str(root / "regular" / "sub"),
            "proc": "/proc/self", "proc_sub": "/proc/self/fd/x", "sys": "/sys/kernel",
            "empty": "", "blank": " "}


def generated_argvs(root: Path, n: int = 1000, seed: int = 26) -> list[list[str]]:
    """``n`` bad command lines (random but reproducible from ``seed``), files under ``root``."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = _paths(root / "paths")
    sweeps = root / "sweeps"
    sweeps.mkdir(exist_ok=True)
    good_sweep = sweeps / "good.toml"
    good_sweep.write_text('[sweep]\nname = "ok"\n[base]\nwidth = 8\ndepth = 2\n'
                          'dataset = "random"\nsteps = 2\n[grid]\nactivation = ["relu"]\n')
    prefixes = {"train": TRAIN, "drift": EXPERIMENTS["drift"], "clipping": EXPERIMENTS["clipping"],
                "map": THEORY_MAP, "derive": THEORY_DERIVE, "drift_theory": ["drift"]}

    def one(i: int) -> list[str]:
        cls = rng.randrange(10)
        if cls == 0:  # integers beyond float range
            cmd = rng.choice(list(INT_OPTIONS))
            return prefixes[cmd] + [rng.choice(INT_OPTIONS[cmd]), _huge_int(rng)]
        if cls == 1:  # floats outside their ranges
            cmd = rng.choice(list(FLOAT_OPTIONS))
            opt = rng.choice(list(FLOAT_OPTIONS[cmd]))
            base = prefixes["drift_theory" if cmd == "drift" else cmd]
            return base + [opt, _float_outside(rng, FLOAT_OPTIONS[cmd][opt])]
        if cls in (2, 3):  # hostile expressions, through map, drift and check
            expr = "expr:" + _expression(rng)
            return rng.choice([["map", "--activation", expr, "--sigma-w2", "2", "--sigma-b2",
                                "0", "--q", "1"], ["drift", "--activation", expr],
                               ["check", "--quick", "--activation", expr]])
        if cls == 4 and rng.random() < 0.15:  # growth with no variance map (slower: sympy)
            return THEORY_MAP[:2] + ["expr:" + _growth_expression(rng)] + THEORY_MAP[3:]
        if cls == 4:  # deep JSON configs
            path = root / f"deep{i}.json"
            _deep_json(path, rng.randint(1000, 100000), rng)
            return rng.choice([TRAIN, EXPERIMENTS["drift"]]) + ["--config", str(path)]
        if cls == 5:  # sweep files
            return ["sweep", str(_sweep_file(sweeps, i, rng)), "--dry-run", "--results",
                    str(root / "res")]
        if cls == 6:  # devices
            dev = rng.choice([f"cuda:{rng.randint(0, 10 ** 6)}", f"cpu:{rng.randint(1, 9)}x",
                              "cuda:-1", "cuda::0", "tpu", "mps", "cuda:" + "9" * 40, "",
                              f"cuda:{rng.randint(0, 99)} "])
            return rng.choice([TRAIN, EXPERIMENTS["clipping"]]) + ["--device", dev]
        if cls == 7:  # paths
            key = rng.choice(list(paths))
            cmd = rng.randrange(4)
            if cmd == 0:
                return TRAIN + ["--out", paths[key]]
            if cmd == 1:
                return ["figures", "--results", paths[key], "--no-progress"]
            if cmd == 2:
                return ["sweep", str(good_sweep), "--dry-run", "--results", paths[key]]
            return EXPERIMENTS["drift"] + ["--out", paths[key]]
        if cls == 8:  # schedulers that are not addresses, workers out of range
            bad = rng.choice(["http://127.0.0.1:80", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
                              "tls://:1", "tcp://a b:1", "inproc://x", "tcp://127.0.0.1:" + "9" * 30])
            extra = (["--scheduler", bad] if rng.random() < 0.6 else
                     ["--workers", rng.choice(["-1", "100000", _huge_int(rng)])])
            return ["sweep", str(good_sweep), "--results", str(root / "res")] + extra
        # 9: activation parameters out of range on map / train
        name, val = rng.choice([("--m", "1e308"), ("--tau", "1e13"), ("--m", "-1"),
                                ("--tau", _huge_int(rng)), ("--m", "nan")])
        if rng.random() < 0.5:
            return ["map", "--activation", "crelu", "--tau", "1", "--m", "1", "--sigma-w2", "2",
                    "--sigma-b2", "0", "--q", "1", name, val]
        return TRAIN + ["--activation", "crelu", "--tau", "1", "--m", "1", name, val]

    return [one(i) for i in range(n)]


def as_json(argvs: list[list[str]]) -> str:
    return json.dumps(argvs)
