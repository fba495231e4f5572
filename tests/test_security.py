"""The five security findings of issue 13, each with a test that fails on the code before
the fix: sweep names escaping the results folder, script injection into the report (also
rendered in headless Chromium), untrusted unpickling of checkpoints, file disclosure
through a crafted ``sweep.json``, the unauthenticated embedded Dask cluster with an HTTP
server; and result files' modes under the umask."""

import base64
import os
import shutil
import socket
import stat
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sparsefield.empirical.store import atomic_write_json, atomic_write_text
from sparsefield.theory.errors import ParameterError

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = 'x" tabindex="0" autofocus onfocus="document.body.setAttribute(\'data-pwned\', \'yes\')'
BREAKOUT = 'x"><img src=x onerror="document.body.setAttribute(\'data-pwned\', \'yes\')"><b title="'
HOSTILE_TEXT = '<img src=x onerror="document.body.setAttribute(\'data-pwned\', \'yes\')">'
PWNED = 'data-pwned="yes"'  # on <body> in the DOM only if a payload ran


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG (independent of matplotlib)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --- 1. sweep names -----------------------------------------------------------------------------
SWEEP = """
[sweep]
name = {name}
[base]
width = 8
depth = 2
dataset = "random"
[grid]
activation = ["relu"]
"""


@pytest.mark.parametrize("name", ['"../escaped"', '"/tmp/escaped"', '"drift"', '"a/b"', '""',
                                  '".."', '"x y"', "3"])
def test_sweep_name_must_be_a_safe_slug(tmp_path, name):
    from sparsefield.sweep import load_sweep

    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(name=name))
    with pytest.raises(ParameterError, match="name"):
        load_sweep(path)


def test_sweep_file_stem_as_name_is_checked_too(tmp_path):
    from sparsefield.sweep import load_sweep

    path = tmp_path / "gpt.toml"
    path.write_text(SWEEP.replace("name = {name}\n", ""))
    with pytest.raises(ParameterError, match="name"):
        load_sweep(path)
    ok = tmp_path / "my-sweep_1.toml"
    ok.write_text(SWEEP.replace("name = {name}\n", ""))
    assert load_sweep(ok).name == "my-sweep_1"


# --- 2. script injection into the report ---------------------------------------------------------
def _plant_sweep(root: Path, name: str, figures: list[str] | None = None) -> Path:
    """A ``sweep.json`` as the sweep writes it (under ``root/<folder>/sweep-tiny``)."""
    folder = root / "planted" / "sweep-tiny"
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "tradeoff.png"
    png.write_bytes(tiny_png())
    figs = [str(png)] if figures is None else figures
    atomic_write_json(folder / "sweep.json", {
        "sweep": name, "size": HOSTILE_TEXT, "seeds": [0], "complete": True,
        "point_rows": [{"label": HOSTILE_TEXT, "seeds": 1}],
        "outputs": {"summary": str(folder / "summary.csv"), "figures": " ".join(figs)}})
    return folder


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


@pytest.mark.parametrize("name", [HOSTILE, BREAKOUT])
def test_report_escapes_a_hostile_sweep_name(tmp_path, name):
    from sparsefield.figures.results import Results
    from sparsefield.report import sweep_section as _sweep_section

    _plant_sweep(tmp_path, name)
    page = _sweep_section(Results(tmp_path))
    assert "data:image/png;base64," in page  # the figure (and its id) is there
    parsed = _Elements()
    parsed.feed(page)
    assert not [a for a in parsed.attrs if a.startswith("on") or a in ("autofocus", "tabindex")]
    assert parsed.tags.count("img") == 1 and "onerror" not in parsed.attrs  # the figure only


def _chromium_dom(page: Path, tmp_path: Path) -> str:
    profile = tmp_path / "chromium-profile"
    run = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--disable-component-update",
                          "--no-first-run", f"--user-data-dir={profile}",
                          "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_hostile_sweep_name_runs_no_script_in_headless_chromium(tmp_path):
    from sparsefield.figures.results import Results
    from sparsefield.report import SIZES, Context, render

    results = tmp_path / "results"
    _plant_sweep(results, BREAKOUT)
    page = tmp_path / "report.html"
    page.write_text(render(Results(results), [], Context(SIZES["tiny"], results)))
    # control: the same payload unescaped does run in this browser (the check can fail)
    control = tmp_path / "control.html"
    control.write_text(f'<!DOCTYPE html><html><body><figure id="{BREAKOUT}"><h3>t</h3></figure>'
                       "</body></html>")
    assert PWNED in _chromium_dom(control, tmp_path)
    dom = _chromium_dom(page, tmp_path)
    assert "Sweeps" in dom and PWNED not in dom


# --- 3. untrusted unpickling --------------------------------------------------------------------------
class _Planted:
    """Unpickling this touches a marker file: what a planted checkpoint could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_planted_checkpoint_runs_no_code_on_resume(tmp_path):
    import torch

    from sparsefield.empirical.config import point
    from sparsefield.empirical.data import random_data
    from sparsefield.empirical.init import resolve
    from sparsefield.empirical.models import build
    from sparsefield.empirical.store import BadCheckpoint
    from sparsefield.empirical.train import train_ensemble

    p = point(activation="relu", width=8, depth=2, dataset="random", steps=4, log_every=2,
              eval_every=2, eval_size=16, checkpoint_every=2)
    data = random_data(64, 16, dim=12)
    model = build(p, [resolve(p)], [0], data.shape, data.n_classes, [None])
    marker, ckpt = tmp_path / "pwned", tmp_path / "ckpt.pt"
    torch.save({"model": _Planted(marker), "step": 2}, ckpt)
    spec = {k: p[k] for k in ("steps", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
                               "loss", "log_every", "stats_every", "eval_every", "eval_size",
                               "checkpoint_every", "data_seed")}
    # refused unread (no code runs), reported, and the run restarts from step 0 (issue 26)
    out = train_ensemble(model, data, spec, 1, torch.device("cpu"), checkpoint=ckpt, progress=False)
    assert not marker.exists() and out[0]["eval"]["step"][-1] == 4
    assert issubclass(BadCheckpoint, ValueError)


def test_planted_gpt_checkpoint_runs_no_code_on_resume(tmp_path):
    import torch

    from sparsefield.empirical.gpt_experiment import Config, points
    from sparsefield.empirical.gpt_train import train_point
    from sparsefield.empirical.store import BadCheckpoint
    from sparsefield.empirical.text_data import load_corpus

    (label, p), = points(Config(size="ci", activations=["relu"], data="generated", steps=2,
                                eval_every=1, topk=[0.5]))
    marker, ckpt = tmp_path / "pwned", tmp_path / "gpt.pt"
    torch.save({"model": _Planted(marker)}, ckpt)
    with pytest.raises(BadCheckpoint):
        train_point(p, 0, load_corpus("generated"), torch.device("cpu"), ckpt, progress=False)
    assert not marker.exists()


def test_planted_checkpoint_is_one_warning_line_and_a_rerun_from_the_cli(tmp_path, capsys):
    import hashlib

    import torch

    from sparsefield.cli import main
    from sparsefield.empirical.config import point
    from sparsefield.empirical.store import ResultStore, point_key

    args = dict(activation="relu", width=8, depth=2, dataset="random", n_train=64, n_test=16,
                steps=4, log_every=2, eval_every=2, eval_size=16, checkpoint_every=2)
    p = point(**args)
    ident = f"{point_key(p)}:0"
    ckpt = ResultStore(tmp_path, "train").checkpoint_path(hashlib.sha256(ident.encode()).hexdigest()[:16])
    ckpt.parent.mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"model": _Planted(marker)}, ckpt)
    argv = ["train", "--out", str(tmp_path), "--no-progress"]
    for k, v in args.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    assert main(argv) == 0  # issue 26: a bad checkpoint is reported and the run redone
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(ckpt) in err[0] and "restarts" in err[0] and not marker.exists()


# --- 4. file disclosure through sweep.json ------------------------------------------------------------
def test_report_embeds_only_real_pngs_inside_the_sweep_folder(tmp_path):
    from sparsefield.figures.results import Results
    from sparsefield.report import sweep_section as _sweep_section

    secret = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR top secret outside the results"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(secret)
    (outside / "passwd").write_text("root:x:0:0:secret-line\n")
    root = tmp_path / "results"
    folder = _plant_sweep(root, "planted")
    (folder / "fake.png").write_text("not a png, but named like one: secret-fake\n")
    (folder / "link.png").symlink_to(outside / "secret.png")
    figures = [str(outside / "secret.png"), str(folder / "link.png"), str(folder / "fake.png"),
               str(folder / ".." / ".." / ".." / "elsewhere" / "secret.png"),
               str(outside / "passwd"), str(folder / "tradeoff.png")]
    _plant_sweep(root, "planted", figures)
    page = _sweep_section(Results(root))
    embedded = [base64.b64decode(chunk.split('"')[0]) for chunk in page.split("base64,")[1:]]
    assert embedded == [tiny_png()]  # only the sweep's own PNG


# --- 5. the embedded Dask cluster --------------------------------------------------------------------
def _listening_ports() -> set[int]:
    import psutil

    me = psutil.Process()
    procs = [me] + me.children(recursive=True)
    ports = set()
    for proc in procs:
        try:
            ports |= {c.laddr.port for c in proc.net_connections("tcp") if c.status == "LISTEN"}
        except psutil.Error:
            pass
    return ports


def _speaks_http(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            s.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(5) == b"HTTP/"
    except OSError:
        return False


def test_embedded_cluster_needs_its_certificate_and_serves_no_http():
    pytest.importorskip("distributed")
    from distributed import Client

    from sparsefield.sweep import connect

    before = _listening_ports()
    with connect(None, 1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(os.getpid).result() != os.getpid()  # it works, with the cert
        with pytest.raises((OSError, TimeoutError)):  # a plain client is refused
            Client(address.replace("tls://", "tcp://"), timeout=3)
        new = _listening_ports() - before
        assert new and not [p for p in new if _speaks_http(p)]
        assert 8787 not in new


# --- 6. file modes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mask, mode", [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_result_files_respect_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        a = atomic_write_json(tmp_path / "a.json", {"x": 1})
        b = atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(a.stat().st_mode) == mode and stat.S_IMODE(b.stat().st_mode) == mode
