"""Compare two runs of ``benchmarks/readme_numbers.sh``: every measured number of the README
lines (times, rates and ratios) of run B against run A, and each one outside a tolerance
(default 30%, the README's reproducibility claim) listed.

A run is its output folder (``summary.txt`` in it is read) or any file holding README lines
(``summary.txt``, or ``bench_peers.py``'s output).  Lines, and the items of ``;``-separated
lists, are paired by section (``### ...``) and by their text without the measured numbers
(the peers table: by its case); one whose text changed (another fastest peer, another count)
is paired with the most similar one and said so.  Compared: numbers with a unit (``ns``, ``us``, ``ms``, ``s``),
ratios (``1.8x``), rates (``network-layers/s``), and the plain numbers of the tables of
``bench_gpt`` and ``bench_training``; not compared (besides the wall times of ``bench_cli``): relative errors
(``1.4e-11`` without ``x``), load averages, counts and parameters.

Run: ``python benchmarks/compare_runs.py RUN_A RUN_B [--tol 0.3]``; exit status 1 when some
number is outside the tolerance.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

UNIT = r"x\b|\s*(?:ns|us|ms|s|network-layers/s|tokens/s)\b"
NUMBER = re.compile(r"(?<![\w.^=/-])(\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)(" + UNIT + ")?")
SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ERROR = re.compile(r"\d\.\d+e[+-]\d+\b(?!x)")
LOAD = re.compile(r"load( average)?[^;|)]*")
PLAIN = ("bench_gpt", "bench_training")  # sections whose plain numbers are measured
SKIP = re.compile(r"^(commit|load average|\d{4}-\d\d-\d\d|== |device |command )")


def _unloaded(line: str) -> str:
    """``line`` with its load averages blanked (same length)."""
    return LOAD.sub(lambda x: "load" + " " * (len(x.group()) - 4), line)


def numbers(line: str, plain: bool) -> list[tuple[int, int, float]]:
    """``(start, end, value)`` of the measured numbers in ``line``."""
    out = []
    for m in NUMBER.finditer(_unloaded(line)):
        text, unit = m.group(1), m.group(2)
        if not unit and ("e" in text or not plain):
            continue  # a relative error, a parameter, a count
        scale = SECONDS.get((unit or "").strip(), 1.0)  # times in seconds: 1.66 ms vs 845 us
        out.append((m.start(), m.end(), float(text.replace(",", "")) * scale))
    return out


def skeleton(line: str, spans: list[tuple[int, int, float]]) -> str:
    """``line`` without its load averages, its measured numbers (``#``) and its relative
    errors (``~``); labels such as ``deg 25`` are kept."""
    line = _unloaded(line)
    for start, end, _ in reversed(spans):
        line = line[:start] + "#" + line[end:]
    return " ".join(ERROR.sub("~", line).split())


def read(path: Path) -> dict[tuple[str, str], tuple[str, list[float]]]:
    """``{(section, line key): (the line without its numbers, its measured numbers)}``; the
    key is the peers table's case, else the line without its numbers (numbered when it
    repeats)."""
    if path.is_dir():
        path = path / "summary.txt"
    section, out = "", {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("### "):
            section = line[4:].split(" ")[0]
            continue
        if not line or SKIP.match(line) or line.startswith(("|---", "| case")):
            continue
        table = line.startswith("| ")
        for piece in [line] if table else line.split("; "):  # lists: one item a key
            spans = numbers(piece, plain=section in PLAIN)
            if not spans:
                continue
            text = skeleton(piece, spans)
            key = piece.split("|")[1].strip() if table else text
            while (section, key) in out:
                key += " (again)"
            out[(section, key)] = (text, [v for *_, v in spans])
    return out


def compare(a: dict, b: dict, tol: float) -> tuple[int, list[str], list[str]]:
    """``(numbers compared, the ones outside tol, notes on lines that changed)``."""
    n, bad, notes = 0, [], []
    for (section, key), (text_a, va) in a.items():
        if (section, key) not in b:  # a line whose counts changed: the one most like it
            near = max((k for s, k in b if s == section), default=None,
                       key=lambda k: len(os.path.commonprefix([k, key])))
            if near is None or len(os.path.commonprefix([near, key])) < 20:
                notes.append(f"  {section}: {key[:90]!r}: not in run B")
                continue
            key = near
        text_b, vb = b[(section, key)]
        if text_a != text_b:
            notes.append(f"  {section}: {key[:90]!r}: the line's text changed (another peer or "
                         "route mix); its numbers compared by position")
        for i, (x, y) in enumerate(zip(va, vb)):
            n += 1
            r = y / x if x else float("inf") if y else 1.0
            if not (1.0 / (1.0 + tol) <= r <= 1.0 + tol):
                bad.append(f"  {section}: {key[:70]!r} number {i + 1}: {_show(x)} -> {_show(y)} "
                           f"({r:.2f}x)")
        if len(va) != len(vb):
            notes.append(f"  {section}: {key[:90]!r}: {len(va)} numbers in A, {len(vb)} in B")
    return n, bad, notes


def _show(v: float) -> str:
    return f"{v * 1e6:.4g} us" if v < 1e-2 else f"{v:.4g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    ap.add_argument("--tol", type=float, default=0.3, help="relative tolerance (default 0.3)")
    args = ap.parse_args(argv)
    n, bad, notes = compare(read(args.run_a), read(args.run_b), args.tol)
    print(f"{n} numbers compared; {n - len(bad)} within {args.tol:.0%} "
          f"(ratio B/A in [{1 / (1 + args.tol):.2f}, {1 + args.tol:.2f}])")
    print("\n".join(bad + notes))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
