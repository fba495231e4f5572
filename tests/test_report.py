"""The main job at its tiny size: stored, resumable results, every figure and the
verification table in one self-contained HTML page, rendered by headless Chromium."""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sparsefield import report
from sparsefield.cli import build_parser, main
from sparsefield.figures.catalogue import FIGURES
from sparsefield.figures.results import Results
from sparsefield.report import fmt, page, paper, plan
from sparsefield.results.records import Check
from sparsefield.theory import curves

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    path = report.run(out, "tiny", progress=False)
    return out, path, path.read_text()


def test_html_holds_every_figure_and_the_tables(job):
    _, path, html = job
    assert path.name == "report.html"
    for fig in FIGURES:
        block = re.search(rf'<figure id="fig-{fig.name}">(.*?)</figure>', html, re.S)
        assert block, fig.name
        assert 'src="data:image/png;base64,' in block.group(1), fig.name
    assert "<th>agrees</th>" in html and "Derived initialisation" in html
    d = json.loads((job[0] / "results/theory/derivations.json").read_text())["data"]["default"]
    assert f"{d['tau']:.6g}" in html and f"{d['m']:.6g}" in html
    assert "numba" in html and html.count("<td>numba</td>") == 1  # each version once
    from sparsefield.empirical.data import resolve_name

    real = {"mnist-bundled": "MNIST (bundled)",
            "fashion-mnist": "Fashion-MNIST"}[resolve_name("auto")]
    data = html[html.index("<h2>Data</h2>"):]
    assert f"clipping: <b>{real}</b>" in data and f"tradeoff: <b>{real}</b>" in data
    assert "random inputs, random labels" in data  # drift: random data by design
    assert "gpt: <b>Shakespeare (bundled)" in data and "q<sup>1</sup>/q* = " in data
    assert "<h2>Stored paper-size results</h2>" in html
    assert "src=\"http" not in html and "<link" not in html  # self-contained


def test_results_are_stored_with_config_seed_and_versions(job):
    root = job[0] / "results"
    rec = Results(root).record("numerics", "depth")
    assert rec["seed"] == report.SEED and rec["config"]["size"] == "tiny"
    assert rec["versions"]["numpy"] and rec["versions"]["sparsefield"]
    for exp in report.EXPERIMENTS:
        records = Results(root).records(exp)
        assert records and all("versions" in r and "seed" in r for r in records)


def test_monte_carlo_agrees_with_the_theory(job):
    rows = report.verification_rows(Results(job[0] / "results"))
    mc = [r for r in rows if r.z is not None]
    assert len(mc) >= 4 * 4  # V(q*), V'(q*), chi_1, sparsity for four families
    assert all(abs(r.z) < report.Z_OK for r in mc), [r for r in mc if abs(r.z) >= 4.5]
    depth = [r for r in rows if r.check.startswith("q^L") and ("crelu" in r.check
                                                                or "cst" in r.check)]
    assert len(depth) == 2 and all(r.ok for r in depth)


def test_the_page_derives_nothing(job, monkeypatch):
    """Rendering reads the stored theory values: with derive and the maps broken, the page
    is the same."""
    from sparsefield.theory import clipping, maps

    def boom(*args, **kwargs):
        raise AssertionError("derived while rendering")

    monkeypatch.setattr(clipping, "derive", boom)
    monkeypatch.setattr(maps.MeanField, "V", boom)
    res = Results(job[0] / "results")
    html = report.render(res, [], report.Context(report.SIZES["tiny"], job[0] / "results"))
    assert "variance maps" in html
    mc = res.part("numerics", "gaussian_mc")
    assert all(len(p["V_theory"]) == len(p["q"]) == len(p["z"]) for p in mc["points"])


def test_stored_parts_are_not_recomputed(job, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("recomputed a stored part")

    for name in ("variance_maps", "vprime_curves", "stability_grid", "bifurcation_maps",
                 "eoc_curves", "sparsity_curves", "drift_table"):
        monkeypatch.setattr(curves, name, boom)
    monkeypatch.setattr(plan, "derivations", boom)
    monkeypatch.setattr(plan, "gaussian_mc_part", boom)
    monkeypatch.setattr(plan, "depth_part", boom)
    ctx = report.Context(report.SIZES["tiny"], job[0] / "results", progress=False)
    report.compute(ctx)
    assert ctx.timings and all(t.stored for t in ctx.timings.values())
    # the time shown after a resume is the time of the run that computed the part
    assert sum(t.seconds for t in ctx.timings.values()) > 0
    assert "an earlier run (its time; read back)" in page.timing_table(
        {k: (t.seconds, t.when) for k, t in ctx.timings.items()})
    bigger = report.Context(report.SIZES["quick"], job[0] / "results", progress=False)
    with pytest.raises(AssertionError, match="recomputed"):
        report.compute(bigger)  # another size is another config: computed afresh


def test_gpt_claims_are_reported_as_informative_rows(job):
    rows = [r for r in report.verification_rows(Results(job[0] / "results"))
            if r.check.startswith("GPT")]
    assert any("clipping bounds the ReLU^2 max activation" in r.check for r in rows)
    assert all(r.ok is None for r in rows)  # paper claims, not theory: never counted
    assert "validation loss, best first" in rows[-1].check


def test_stored_sweeps_get_a_section(tmp_path):
    from sparsefield.figures import style

    fig, _ = style.subplots()
    with style.output(("png",)):
        (png,) = style.save(fig, tmp_path / "p24" / "sweep-reduced", "tradeoff")
    rows = [{"label": "crelu-s0.85-v0.5", "seeds": 2, "diverged": 0, "test_acc": 0.81,
             "zero_final": 0.849}]
    (tmp_path / "p24" / "sweep-reduced" / "sweep.json").write_text(json.dumps(
        {"sweep": "p24", "size": "reduced", "seeds": [0, 1], "complete": True,
         "point_rows": rows, "outputs": {"summary": "x.csv", "figures": str(png)}}))
    html = report.sweep_section(Results(tmp_path))
    assert "<h2>Sweeps</h2>" in html and "crelu-s0.85-v0.5" in html and "0.849" in html
    assert html.count('src="data:image/png;base64,') == 1
    assert report.sweep_section(Results(tmp_path / "none")) == ""


def test_training_is_judged_against_the_relu_baseline(job):
    rows = [r for r in report.verification_rows(Results(job[0] / "results"))
            if r.check.startswith("training vs the dense ReLU baseline")]
    labels = {r.check.split(", ")[1].split(" (")[0] for r in rows}
    assert {"relu-baseline", "crelu-vprime0.5", "relu_tau"} <= labels
    assert all(r.ok is None and "depth 6" in r.check for r in rows)
    verdicts = [r.measured for r in rows]
    assert all(v.split(" (")[0] in ("baseline", "within 2 points of ReLU", "degraded", "failed")
               for v in verdicts)
    assert "<b>Training:</b> dense ReLU baseline test accuracy" in job[2]


def test_stored_paper_results_are_curated_tables(tmp_path, monkeypatch):
    """The user's own tables (<results>/paper) first, as curated HTML tables with 2-3
    significant digits, the verdict from the numbers, the CSV as a download, escaped."""
    folder = tmp_path / "results" / paper.USER_FOLDER
    folder.mkdir(parents=True)
    head = ("label,short,activation,seeds,seeds_planned,test_acc,test_acc_sem,test_acc_seeds,"
            "train_acc,diverged,zero_init,zero_final,m,theory_vprime,ell_c,xi_q,relu_acc,"
            "paper_acc,paper_sd,paper_note\n")
    (folder / "p24_depth100.csv").write_text(
        head + "relu,ReLU,relu,2,2,0.8847500085830688,0.005750000476837158,0.8905;0.8790,"
        "0.99,0,0.4997,0.5485,,1.0,6.664324407237548,inf,0.88475,0.94,,\n"
        "st,ST<script>,st,2,2,0.215,0.00025,0.2147;0.2152,0.2,0,0.31,0.0,,1.0,2.817,inf,"
        "0.88475,,,fails to train\n")
    html = page.stored_results_section(tmp_path / "results")
    assert "ST&lt;script&gt;" in html and "<script>" not in html
    assert "0.885 &plusmn; 0.0058 (2/2)" in html and "0.215 &plusmn; 0.00025" in html
    assert "6.66" in html and "6.664324407237548" not in html  # significant digits
    st_row = html[html.index("ST&lt;script&gt;"):]
    assert "<td>failed</td>" in st_row[:st_row.index("</tr>")]  # a quarter of the baseline
    assert 'download="p24_depth100.csv"' in html and str(folder) in html
    monkeypatch.setattr(paper, "stored_results_dir", lambda: None)
    empty = page.stored_results_section(tmp_path / "none")
    assert "None found" in empty and "sparsefield sweep --list" in empty


def test_shipped_paper_tables_render_with_every_column():
    from sparsefield.empirical.store import PAPER_TABLES

    folder, tables = paper.find(Path("/nonexistent"))
    assert folder is not None and {t.key for t in tables} == set(PAPER_TABLES)
    for t in tables:
        assert t.rows and all(len(r) == len(t.head) for r in t.rows)
        cells = " ".join(" ".join(r) for r in t.rows)
        numeric = " ".join(c for r in t.rows for c in r  # number cells, not the labels
                           if not re.search("[a-zA-Z]", re.sub("&[a-z]+;", "", c)))
        digits = [len(n.replace(".", "").lstrip("0")) for n in re.findall(r"\d+\.\d+", numeric)]
        assert digits and max(digits) <= 3, t.key  # 2-3 significant digits, not 16
        assert "nan" not in cells


def test_numbers_keep_significant_digits():
    assert fmt.sig(0.00025, 2) == "0.00025" and fmt.pm(0.5, 0.00025) == "0.5 &plusmn; 0.00025"
    assert fmt.sig(1.42685e-76) == "0" and fmt.sig(float("inf")) == "inf"
    assert fmt.sig(1.04e33) == "1.04&times;10<sup>33</sup>" and fmt.sig(None) == fmt.DASH
    assert fmt.sig(-2.4412, 3) == "-2.44" and fmt.sig(True) == "yes"


def test_check_section_counts_the_matrix():
    rows = [{"activation": "crelu", "quantity": "V(q) q=1", "method": "monte carlo",
             "theory": 1.0, "estimate": 1.001, "stderr": 0.001, "z": 1.0, "passed": True,
             "note": ""},
            {"activation": "relu_tau", "quantity": "P(explode)", "method": "finite width",
             "theory": None, "estimate": 0.9, "stderr": 0.05, "z": None, "passed": False,
             "note": "x"}]
    html = page.check_section({"rows": rows, "summary": {"rows": 2, "failed": 1,
                                                          "max_abs_z": 1.0}})
    assert "2 checks, 1 failed" in html and html.count("<tr>") == 2 + 1 + 2 + 1
    assert Check.of_row(rows[1]).ok is False


def test_report_command_line(tmp_path, capsys):
    args = build_parser().parse_args(["report", "--quick", "--out", "x", "--device", "cpu"])
    assert args.quick and not args.tiny and args.out == "x" and args.device == "cpu"
    assert build_parser().parse_args(["figures"]).results == "results"
    out = tmp_path / "never"
    assert main(["report", "--tiny", "--device", "cuda:99", "--out", str(out)]) == 2
    assert "device" in capsys.readouterr().err and not out.exists()  # fails before any work


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_page_renders_in_headless_chromium(job, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "page.png"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1280,2400",
                    job[1].resolve().as_uri()], check=True, timeout=120,
                   capture_output=True)
    img = imread(shot)
    assert img.shape[:2] == (2400, 1280)
    assert np.std(img[..., :3]) > 0.05  # text, tables and figures, not a blank page


def test_paper_expectations_only_at_paper_depth_and_the_ordering_row():
    from sparsefield.report import verdicts

    row = {"verdict": "degraded", "verdict_text": "degraded (0.8)", "m": 0.81, "vprime": 0.5,
           "activation": "crelu", "predicted_at_target": True}
    clip = {"setup": {"depth": 10}, "target_sparsity": 0.85, "rows": {"crelu-vprime0.5": row}}
    (shallow,) = verdicts.training_rows(clip)
    assert "[P24]" not in shallow.source  # a depth-10 run is not the paper's experiment
    deep = verdicts.training_rows({**clip, "setup": {"depth": 100}})[0]
    assert "0.78 in [P24]" in deep.source
    ordering = {"predicted": "crelu > relu_tau", "text": "not observed", "verdict": "not observed"}
    rows = verdicts.training_rows({**clip, "ordering": ordering})
    assert rows[-1].check.startswith("ordering predicted") and rows[-1].ok is False
