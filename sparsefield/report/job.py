"""Running the report: compute every part of the plan that is not stored yet, train the
small experiments (each finished run is skipped), draw the figures, write the page.

Resumable: a part stored with the same config is read back, and the time shown for it is
the time of the run that computed it (stored with the part as ``elapsed_s``).
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tqdm.auto import tqdm

from sparsefield.empirical.store import atomic_write_text, versions, write_part
from sparsefield.figures import style
from sparsefield.figures.catalogue import make_all
from sparsefield.figures.results import Results
from sparsefield.results.names import ELAPSED_S

from . import page
from .plan import EXPERIMENTS, SEED, SIZES, Size, notes, parts

THIS_RUN = "this run"
EARLIER = "an earlier run (its time; read back)"
CHECKED = "all runs stored: the time to check them"


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of one part and which run they belong to (:data:`THIS_RUN`,
    :data:`EARLIER` or :data:`CHECKED`)."""

    seconds: float
    when: str = THIS_RUN

    @property
    def stored(self) -> bool:
        return self.when != THIS_RUN


@dataclass
class Context:
    """What the parts share: sizes, folders, options and notes for the report."""

    size: Size
    results: Path
    device: str = "auto"
    progress: bool = True
    notes: list[str] = field(default_factory=list)
    timings: dict[str, Timing] = field(default_factory=dict)


def compute(ctx: Context, bar=None) -> None:
    """Compute and store every theory and Monte Carlo part not stored yet with the same
    config (resumable)."""
    for p in parts(ctx.size, ctx.results):
        if bar is not None:
            bar.set_postfix_str(f"{p.group}/{p.name}")
        key = f"{p.group}/{p.name}"
        stored = Results(ctx.results).record(p.group, p.name)
        if stored is not None and stored["config"] == p.config:
            ctx.timings[key] = Timing(float(stored.get(ELAPSED_S) or 0.0), EARLIER)
        else:
            t0 = time.perf_counter()
            data = p.compute()
            elapsed = time.perf_counter() - t0
            write_part(ctx.results, p.group, p.name, data, config=p.config, seed=p.seed,
                       elapsed_s=elapsed)
            ctx.timings[key] = Timing(elapsed)
        if bar is not None:
            bar.update(1)


def _run_experiments(ctx: Context, bar) -> None:
    try:
        import torch  # noqa: F401 (torch is optional: without it the experiments are skipped)
    except ImportError as err:
        ctx.notes.append(f"experiments skipped: {err} (install the [torch] extra)")
        return
    from sparsefield.empirical.config import RunOptions
    from sparsefield.empirical.experiments import get as experiment

    if ctx.size.name != "full":
        torch.set_num_threads(1)  # small networks: one thread wastes no time spinning
    opts = RunOptions(out=str(ctx.results), device=ctx.device, progress=ctx.progress)
    for name in EXPERIMENTS:
        bar.set_postfix_str(f"experiment {name}")
        mod = experiment(name)
        cfg = mod.Config(**getattr(ctx.size, name))
        if name == "gpt" and _larger_gpt_stored(Results(ctx.results), cfg.size):
            ctx.notes.append("experiment gpt: a larger GPT run is stored; the report shows it")
            bar.update(1)
            continue
        t0 = time.perf_counter()
        summary = mod.run(cfg, opts)
        elapsed = time.perf_counter() - t0
        resumed = summary.get("ran", 0) == 0
        ctx.timings[f"experiment {name}"] = Timing(elapsed, CHECKED if resumed else THIS_RUN)
        if resumed:
            ctx.notes.append(f"experiment {name}: all runs were stored already (resumed)")
        bar.update(1)


def _larger_gpt_stored(res: Results, size: str) -> bool:
    """Whether the stored GPT summary is of a larger model size than ``size``
    (``sparsefield experiment gpt --size cpu --out OUT/results`` before the report)."""
    from sparsefield.empirical.gpt_config import SIZES as GPT_SIZES

    stored = res.summary("gpt")
    return bool(stored) and list(GPT_SIZES).index(stored["config"]["size"]) > \
        list(GPT_SIZES).index(size)


def run(out: str | Path, size: str = "quick", device: str = "auto", progress: bool = True
        ) -> Path:
    """Compute what is missing under ``out/results``, draw the figures, write the report."""
    out = Path(out)
    try:
        from sparsefield.empirical.train import resolve_device
    except ImportError:  # no torch: the experiments are skipped with a note
        pass
    else:
        resolve_device(device)  # a bad --device fails now, not after the theory parts
    ctx = Context(SIZES[size], out / "results", device, progress, notes(SIZES[size]))
    t_start = time.perf_counter()
    n_parts = len(parts(ctx.size, ctx.results))
    bar = tqdm(total=n_parts + len(EXPERIMENTS), desc="report", disable=not progress,
               dynamic_ncols=True)
    compute(ctx, bar)
    _run_experiments(ctx, bar)
    bar.close()
    t0 = time.perf_counter()
    formats = ("png",) if size == "tiny" else style.FORMATS
    made = make_all(ctx.results, out / "figures", progress=progress, formats=formats)
    ctx.timings["figures"] = Timing(time.perf_counter() - t0)
    ctx.timings["total (this run)"] = Timing(time.perf_counter() - t_start)
    path = out / "report.html"
    atomic_write_text(path, render(Results(ctx.results), made, ctx))
    return path


def render(res: Results, made: list, ctx: Context) -> str:
    """The page of ``ctx``'s run (:func:`sparsefield.report.page.render`)."""
    return page.render(res, made, page.RunInfo(
        size=ctx.size.name, results=ctx.results, notes=list(ctx.notes),
        timings={k: (t.seconds, t.when) for k, t in ctx.timings.items()},
        machine=machine(), seed=SEED))


def machine() -> list[tuple[str, str]]:
    """Platform, processor, cores, CUDA device, and each package's version once."""
    rows = [("platform", platform.platform()), ("processor", _cpu_model()),
            ("cpu cores", str(os.cpu_count()))]
    try:
        import torch

        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        rows.append(("cuda", cuda))
    except ImportError:
        pass
    known = versions()
    rows += [(k, str(v) if v is not None else "not installed") for k, v in known.items()]
    for name in ("matplotlib", "tqdm", "mpmath"):
        if name not in known:
            try:
                rows.append((name, metadata.version(name)))
            except metadata.PackageNotFoundError:
                rows.append((name, "not installed"))
    return rows


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "-"
