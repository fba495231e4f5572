"""Every figure draws from small stored results (theory curves computed at tiny sizes,
synthetic Monte Carlo and experiment records in the stored format); absent results are
skipped with a note, not an error."""

import shutil
import struct

import numpy as np
import pytest

from sparsefield.cli import main
from sparsefield.empirical.store import ResultStore, write_part
from sparsefield.figures import style
from sparsefield.figures.catalogue import FIGURES, make_all, network_sparsity
from sparsefield.figures.results import Results
from sparsefield.numerics import finite_size
from sparsefield.theory import curves
from sparsefield.theory.clipping import derive
from sparsefield.theory.sparsity import sparsity

EXPERIMENT_FIGURES = ["drift", "clipping", "tradeoff", "gpt"]


def assert_png(path, min_width=300):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height >= 150
    assert len(data) > 5000


def _theory(root):
    s = (0.85,)
    write_part(root, "theory", "variance_maps", curves.variance_maps(s, n=20))
    write_part(root, "theory", "vprime_curves", curves.vprime_curves(s, n=30))
    write_part(root, "theory", "stability_grid", curves.stability_grid(n_s=3, n_m=12))
    write_part(root, "theory", "bifurcation", curves.bifurcation_maps(n=40))
    write_part(root, "theory", "eoc_curves", curves.eoc_curves(
        n=5, sets={"relu_tau": [{"tau": 0.5}], "smooth": [{"name": "tanh"}]}))
    write_part(root, "theory", "sparsity_curves", curves.sparsity_curves(n=20))
    write_part(root, "theory", "drift_table", curves.drift_table(["relu", "tanh"]))
    d = derive("crelu", 0.85, vprime=0.5)
    write_part(root, "theory", "derivations", {"default": d.to_dict()})


@pytest.fixture(scope="module")
def theory_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("theory_only")
    _theory(root)
    return root


def _mc_and_depth(root):
    """Synthetic Monte Carlo: the theory values plus noise of the stated standard error."""
    rng = np.random.default_rng(0)
    vm = Results(root).part("theory", "variance_maps")
    q = np.asarray(vm["q"])
    points = []
    for p in vm["curves"]:
        idx = [4, 9, 19]
        se = 0.01 * np.ones(len(idx))
        v = np.asarray(p["V"])[idx] + se * rng.standard_normal(len(idx))
        points.append({"activation": p["activation"], "sparsity": p["sparsity"],
                       "q": q[idx].tolist(), "V": v.tolist(), "V_se": se.tolist()})
    spars = [{"kind": "one_sided", "tau": t, "s": float(sparsity("relu_tau", t)), "se": 0.002,
              "source": "Gaussian Monte Carlo"} for t in (0.0, 1.0, 2.0)]
    write_part(root, "numerics", "gaussian_mc", {"source": "synthetic", "n": 100,
                                                  "points": points, "checks": [],
                                                  "sparsity": spars})
    panels = []
    for name, m, growth in (("relu_tau", None, 1.3), ("crelu", 0.81, 1.0)):
        med = growth ** np.arange(11)
        panels.append({"activation": name, "sparsity": 0.85, "m": m, "theory": [1.0] * 11,
                       "median": med.tolist(), "lo": (0.8 * med).tolist(),
                       "hi": (1.5 * med).tolist(), "quantiles": [0.1, 0.9],
                       "final": [med[-1]] * 4})
    write_part(root, "numerics", "depth", {"source": "synthetic", "width": 32, "depth": 10,
                                           "n_networks": 4, "q0": 1.0, "curves": panels})
    # the finite-size scaling part, simulated small (numerics.finite_size)
    write_part(root, "numerics", "finite_size",
               finite_size.figure_data(finite_size.Plan((50, 100), 6, 8, ("crelu",))))


def _history(steps, layers, f):
    """Per-step lists of per-layer values ``f(step, layer)``."""
    return [[float(f(s, l)) for l in range(layers)] for s in steps]


def _record(label, config, member, seed, acc, zero, q=1.0, drift=-1e-3, finite=True):
    depth = config["depth"]
    train_steps, eval_steps = [10, 20, 30, 40], [0, 20, 40]
    rng = np.random.default_rng(seed)
    noise = lambda: 1e-4 * rng.standard_normal()  # noqa: E731
    metrics = {
        "train": {"step": train_steps,
                  "loss_steps": (2.3 - 0.01 * np.arange(40) + 0.01 * rng.random(40)).tolist(),
                  "w_mean": _history(train_steps, depth + 1,
                                     lambda s, l: drift * s / 40 + noise()),
                  "b_mean": _history(train_steps, depth + 1,
                                     lambda s, l: 2 * drift * s / 40 + noise()),
                  "train_zero_frac": _history(train_steps, depth, lambda s, l: zero + 0.001 * s)},
        "eval": {"step": eval_steps,
                 "w_mean": _history(eval_steps, depth + 1, lambda s, l: drift * s / 40),
                 "b_mean": _history(eval_steps, depth + 1, lambda s, l: 2 * drift * s / 40),
                 "train_zero_frac": _history(eval_steps, depth, lambda s, l: zero),
                 "test_zero_frac": _history(eval_steps, depth, lambda s, l: zero),
                 "test_q": _history(eval_steps, depth, lambda s, l: q ** ((l + 1) / depth)),
                 "test_acc": [0.1, 0.5 * acc, acc]},
        "final": {"test_acc": acc, "finite": finite},
        "member": member,
    }
    return label, config, seed, metrics


def _experiments(root):
    drift = ResultStore(root, "drift")
    for act, d in (("relu", -1e-3), ("tanh", 0.0)):
        for ds in ("random", "mixture"):
            for seed in (0, 1):
                cfg = {"activation": act, "dataset": ds, "depth": 3, "q_star": 1.0}
                label, cfg, seed, met = _record(f"{act}-{ds}", cfg, {"activation": act}, seed,
                                                0.5, 0.5 if act == "relu" else 0.0, drift=d)
                drift.write(cfg, seed, met, label)
    clip = ResultStore(root, "clipping")
    crit = {"vsecond_zero": 1.13, "bifurcation": 1.84}
    members = [("crelu-vprime0.5", {"activation": "crelu", "params": {"tau": 1.04, "m": 0.81},
                                    "m": 0.81, "vprime": 0.5, "critical_m": crit}, 0.8, 0.85, 1.0),
               ("crelu-bif", {"activation": "crelu", "params": {"tau": 1.04, "m": 2.8},
                              "m": 2.8, "vprime": 0.99, "critical_m": crit}, 0.6, 0.7, 3.0),
               ("relu_tau", {"activation": "relu_tau", "params": {"tau": 1.04}}, 0.1, 0.5, 1.4)]
    for label, member, acc, zero, q in members:
        for seed in (0, 1):
            cfg = {"activation": member["activation"], "m": member.get("m"), "depth": 6,
                   "sparsity": 0.85, "q_star": 1.0}
            _, cfg, seed, met = _record(label, cfg, member, seed, acc, zero, q)
            clip.write(cfg, seed, met, label)
    trade = ResultStore(root, "tradeoff")
    for force, s, acc, finite in (("none", None, 0.8, True), ("quantile", 0.5, 0.8, True),
                                  ("quantile", 0.9, 0.3, True), ("quantile", 0.99, 0.5, False)):
        cfg = {"activation": "relu", "force": force, "force_sparsity": s, "depth": 2}
        label = "baseline" if s is None else f"{force}-s{s:g}"
        _, cfg, seed, met = _record(label, cfg, {"activation": "relu"}, 0, acc,
                                    0.45 if s is None else s, finite=finite)
        trade.write(cfg, 0, met, label)
    trade.write_summary({"rows": {}, "cliffs": {"quantile": 0.7}})
    gpt = ResultStore(root, "gpt")
    steps, layers = [0, 10, 20], 4
    for act, params, loss, peak in (("relu", {}, 2.2, 3.0), ("relu2", {}, 2.1, 30.0),
                                    ("crelu2", {"c": 4.0}, 2.05, 4.0)):
        for seed in (0, 1):
            ev = {"step": steps, "val_loss": [4.2, 3.0, loss + 0.01 * seed],
                  "zero_sparsity": _history(steps, layers, lambda s, l: 0.5 + 0.01 * s * (l + 1) / 4),
                  "max_act": _history(steps, layers, lambda s, l: min(peak, 1 + s * (l + 1))),
                  "batch_usage": _history(steps, layers, lambda s, l: 1 - 0.01 * s * (l + 1))}
            gpt.write({"activation": act, "act_params": params}, seed,
                      {"eval": ev, "final": {"val_loss": ev["val_loss"][-1]}},
                      act + "".join(f"-{k}={v:g}" for k, v in params.items()))


@pytest.fixture(scope="module")
def full_root(tmp_path_factory, theory_root):
    root = tmp_path_factory.mktemp("full")
    shutil.copytree(theory_root / "theory", root / "theory")
    _mc_and_depth(root)
    _experiments(root)
    return root


@pytest.fixture(scope="module")
def made_full(full_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("figures_full")
    return {m.name: m for m in make_all(full_root, out, progress=False, formats=("png",))}


@pytest.fixture(scope="module")
def made_bare(theory_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("figures_bare")
    names = ["variance_maps", "sparsity_vs_tau", "q_over_depth", "finite_width_gain"] + EXPERIMENT_FIGURES
    return {m.name: m for m in make_all(theory_root, out, names, False, ("png",))}


def test_every_figure_draws_a_png(made_full):
    assert list(made_full) == [f.name for f in FIGURES]
    for m in made_full.values():
        assert m.notes == [], (m.name, m.notes)
        assert [p.suffix for p in m.paths] == [".png"]
        assert_png(m.png)


def test_png_and_pdf_by_default(full_root, tmp_path):
    m = make_all(full_root, tmp_path, ["tradeoff"], progress=False)[0]
    assert sorted(p.suffix for p in m.paths) == [".pdf", ".png"]
    assert_png(m.png)
    assert (tmp_path / "tradeoff.pdf").read_bytes()[:5] == b"%PDF-"


def test_absent_results_are_skipped_with_a_note(made_bare):
    for name in ("variance_maps", "sparsity_vs_tau"):
        assert_png(made_bare[name].png)
    for name in EXPERIMENT_FIGURES + ["q_over_depth", "finite_width_gain"]:
        assert made_bare[name].paths == []
        assert made_bare[name].notes and made_bare[name].notes[0].startswith("skipped:")
    assert any("Monte Carlo points absent" in n for n in made_bare["variance_maps"].notes)
    assert any("theory only" in n for n in made_bare["sparsity_vs_tau"].notes)


def test_measured_points_change_the_figures(made_bare, made_full):
    for name in ("variance_maps", "sparsity_vs_tau"):
        assert made_bare[name].png.read_bytes() != made_full[name].png.read_bytes()


def test_network_sparsity_uses_the_measured_variance(full_root):
    """Per-layer points (tau / sqrt(q^l), zero fraction) from the stored clipping runs,
    for layers whose q^l is within 50% of q*."""
    pts = network_sparsity(Results(full_root).records("clipping"))
    assert all(p["kind"] == "one_sided" for p in pts)
    relu = [p for p in pts if p["s"] == 0.5]
    taus = sorted(p["tau"] for p in relu)
    assert np.allclose(taus, sorted(1.04 / np.sqrt(1.4 ** (np.arange(1, 7) / 6))))
    assert len([p for p in pts if p["s"] == 0.7]) == 2  # q^l = 3^(l/6) < 1.5 for l <= 2


def test_figures_command(full_root, tmp_path, capsys):
    assert main(["figures", "--results", str(full_root / "missing"), "--out", str(tmp_path),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("note: skipped") == len(FIGURES)
    assert not list(tmp_path.glob("*.png"))
    assert main(["figures", "--results", str(full_root), "--out", str(tmp_path),
                 "--only", "tradeoff", "--formats", "png", "--dpi", "60"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["tradeoff.png"]
    assert main(["figures", "--only", "no_such_figure"]) == 2


def test_gpt_figure_draws_one_model_size(full_root, tmp_path):
    """Records of two sizes in one store: the figure takes the summary's size only."""
    from sparsefield.empirical.gpt_experiment import SIZES
    from sparsefield.figures import gpt

    assert list(gpt.SIZE_ORDER[1:]) == list(SIZES)
    recs = Results(full_root).records("gpt")
    small = [{**r, "config": {**r["config"], "size": "ci"}} for r in recs]
    big = [{**r, "config": {**r["config"], "size": "cpu"}} for r in recs
           if r["config"]["activation"] == "relu"]
    (png,) = [p for p in gpt.gpt(small + big, tmp_path / "a", None) if p.suffix == ".png"]
    (only_big,) = [p for p in gpt.gpt(big, tmp_path / "b", None) if p.suffix == ".png"]
    assert png.read_bytes() == only_big.read_bytes()  # the larger size, alone
    summary = {"config": {"size": "ci"}}
    (ci,) = [p for p in gpt.gpt(small + big, tmp_path / "c", summary) if p.suffix == ".png"]
    assert ci.read_bytes() != png.read_bytes()


@pytest.fixture(scope="module")
def drawn(full_root, tmp_path_factory):
    """Every figure drawn from the full synthetic results, with its layout problems
    (:func:`sparsefield.figures.layout.problems`) found on the figure before saving."""
    from sparsefield.figures import layout

    found, original = {}, style.save

    def save(fig, out, name):
        found[name] = (layout.problems(fig), fig)
        return original(fig, out, name)

    style.save = save
    try:
        make_all(full_root, tmp_path_factory.mktemp("layout"), progress=False, formats=("png",))
    finally:
        style.save = original
    return found


def test_no_text_leaves_the_canvas_and_no_legend_covers_data(drawn):
    assert {f.name for f in FIGURES} <= set(drawn)
    bad = {name: p for name, (p, _) in drawn.items() if p}
    assert not bad, bad


def test_the_layout_check_can_fail():
    """Controls: a title wider than its figure, a legend on top of the points."""
    from sparsefield.figures import layout

    fig, axes = style.subplots(1, 1, width=1.5, height=1.5)
    axes[0][0].set_title("a title far too long for a figure one and a half inches wide")
    assert any("outside the canvas" in p for p in layout.problems(fig))
    fig, axes = style.subplots(1, 1)
    ax = axes[0][0]
    ax.plot(np.linspace(0, 1, 50), np.full(50, 0.1), "o", label="points along the bottom")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower center")
    assert any("legend over" in p for p in layout.problems(fig))


def test_tradeoff_never_averages_a_diverged_run(drawn):
    """The quantile point at 0.99 diverged: no averaged marker there, a cross at the
    bottom with its count instead."""
    _, fig = drawn["tradeoff"]
    ax = fig.axes[0]
    circles = [x for line in ax.get_lines() if line.get_marker() == "o"
               for x in np.atleast_1d(line.get_xdata())]
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x" and len(line.get_xdata())]
    assert circles and max(circles) < 0.95
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == pytest.approx(0.99)
    assert crosses[0].get_ydata()[0] == pytest.approx(ax.get_ylim()[0])
    assert any(t.get_text() == "1/1 diverged" for t in ax.texts)
