"""Cold start: whole-process time of ``sparsefield derive --json`` next to the floor,
``python -c pass``, and ``python -c "import sparsefield"``, all with the same interpreter.

Each command runs ``--runs`` times (default 5) in fresh processes, interleaved so that
machine load affects all alike, after one warm-up run each (OS file cache, ``__pycache__``:
the warm-up writes bytecode even where ``PYTHONDONTWRITEBYTECODE`` is set, as ``pip install``
does, so that a checkout is timed as an installed package; numpy and scipy ship theirs).
The numeric floor is ``python -c "import numpy, scipy.special"``: what ``derive`` cannot
avoid.  Printed per command: the median and minimum wall time, the median CPU time (user + sys of
the child, from ``wait4``: much less sensitive than wall time to other work on a shared
machine) and the median CPU time over the floor's.  Takes ~(runs + 1) x 1.5 s.

Run: ``python benchmarks/bench_cli.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the children: numpy's BLAS threads would spin (CPU > wall)

DERIVE = ["-m", "sparsefield", "derive", "--activation", "crelu", "--sparsity", "0.85",
          "--vprime", "0.5", "--json"]
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "python -c 'import numpy, scipy.special'": [sys.executable, "-c",
                                                "import numpy, scipy.special"],
    "python -c 'import sparsefield'": [sys.executable, "-c", "import sparsefield"],
    "sparsefield derive --json": [sys.executable, *DERIVE],
}


def run_once(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """``(wall s, cpu s)`` of one fresh process running ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): "
                         f"{proc.stderr.read().decode()[-500:]}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per command (>= 1)")
    runs = ap.parse_args().runs
    if runs < 1:
        ap.error("--runs must be >= 1")
    writes_bytecode = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for cmd in COMMANDS.values():
        run_once(cmd, writes_bytecode)
    walls = {k: [] for k in COMMANDS}
    cpus = {k: [] for k in COMMANDS}
    for i in range(runs):
        for label, cmd in COMMANDS.items():
            w, c = run_once(cmd)
            walls[label].append(w)
            cpus[label].append(c)
        print(f"run {i + 1}/{runs}", file=sys.stderr, flush=True)
    floor = statistics.median(cpus["python -c pass (floor)"])
    numeric = statistics.median(cpus["python -c 'import numpy, scipy.special'"])
    print(f"{'command':<40}{'wall median s':>14}{'wall min s':>11}{'cpu median s':>13}"
          f"{'cpu over floor s':>17}")
    for label in COMMANDS:
        cpu = statistics.median(cpus[label])
        print(f"{label:<40}{statistics.median(walls[label]):>14.3f}{min(walls[label]):>11.3f}"
              f"{cpu:>13.3f}{cpu - floor:>17.3f}")
    derive_cpu = statistics.median(cpus["sparsefield derive --json"])
    package = statistics.median(cpus["python -c 'import sparsefield'"])
    print(f"README (load {os.getloadavg()[0]:.1f}; CPU medians): derive {derive_cpu:.3f} s; "
          f"import numpy, scipy.special {numeric:.3f} s; python -c pass {floor:.3f} s; "
          f"import sparsefield {package:.3f} s; derive / 'import numpy, scipy.special' "
          f"{derive_cpu / numeric:.2f}x (issue 28 asks <= 2x)")


if __name__ == "__main__":
    main()
