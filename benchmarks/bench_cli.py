"""Cold start: whole-process wall time of ``sparsefield derive --json`` next to the floor,
``python -c pass`` with the same interpreter (medians of ``RUNS`` fresh processes each,
interleaved so that machine load affects both alike).

Run: ``python benchmarks/bench_cli.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 7
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "python -c 'import sparsefield'": [sys.executable, "-c", "import sparsefield"],
    "sparsefield derive --json": [sys.executable, "-m", "sparsefield", "derive",
                                  "--activation", "crelu", "--sparsity", "0.85", "--json"],
}


def wall(cmd: list) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    for cmd in COMMANDS.values():  # warm the OS file cache and __pycache__
        wall(cmd)
    times = {k: [] for k in COMMANDS}
    for _ in range(RUNS):
        for label, cmd in COMMANDS.items():
            times[label].append(wall(cmd))
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"{'command':<34}{'median s':>10}{'min s':>9}{'over floor s':>14}")
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"{label:<34}{med:>10.3f}{min(ts):>9.3f}{med - floor:>14.3f}")


if __name__ == "__main__":
    main()
