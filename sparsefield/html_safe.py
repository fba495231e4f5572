"""What the HTML report may put on its page: escaped text and the project's own PNGs.

Everything that comes from stored results (sweep names, labels, notes, file names) is
escaped for text and attribute context (:func:`esc`); an image is embedded only when it is
a regular file under an allowed folder (symbolic links resolved) and really is a PNG
(:func:`png_bytes`), so a crafted ``sweep.json`` cannot make the report carry other files.
"""

from __future__ import annotations

import html
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 64 << 20


def esc(value: object) -> str:
    """``value`` as HTML text, safe inside element content and quoted attributes."""
    return html.escape(str(value), quote=True)


def png_bytes(path: str | Path, root: str | Path) -> bytes | None:
    """The bytes of ``path`` if it is a PNG file (signature and ``IHDR`` chunk) inside
    ``root`` after resolving links, at most :data:`MAX_PNG_BYTES`; else ``None``."""
    try:
        real, base = Path(path).resolve(strict=True), Path(root).resolve(strict=True)
        if not real.is_relative_to(base) or not real.is_file() \
                or real.stat().st_size > MAX_PNG_BYTES:
            return None
        raw = real.read_bytes()
    except (OSError, RuntimeError, ValueError):
        return None
    return raw if raw.startswith(PNG_SIGNATURE) and raw[12:16] == b"IHDR" else None
