"""The on-disk cache of generated Python source: numba callbacks (:mod:`..numerics.kernels`)
and the numeric forms of catalogue activations (:mod:`.numeric_forms`).

A generated module is written once as ``<folder>/sf_<tag>_<hash>.py`` (atomically), where
``<hash>`` is the SHA-256 of its content, and imported from there.  Sources that are costly
to produce (sympy's printers) are also found by a *key* without being produced:
``sf_<tag>_<key hash>_<content hash>.py``; the key names what the source was generated from
(for a catalogue activation: its definition's files and its name), so a later process
imports it without importing sympy.

Trust: a cached module is imported (and numba unpickles its index and code files in
``__pycache__``), so whoever can write there runs code as the user.  The folders are
therefore private (:func:`private_folder`): created with mode 0700, and refused when owned by
another user or writable by group or others, as is any cached file owned by another user or
writable by them; and a module's content must hash to the name it is loaded under (else it
is rewritten from the source, or regenerated).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import stat
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Callable

from .errors import ParameterError


def cache_dir() -> Path:
    """Where generated modules and their numba caches live: ``$SPARSEFIELD_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/sparsefield``, else ``~/.cache/sparsefield``."""
    env = os.environ.get("SPARSEFIELD_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sparsefield"


def _refuse(param: str, path: Path, why: str):
    raise ParameterError(param, str(path), f"a folder owned by uid {os.geteuid()} that group "
                         f"and others cannot write (chmod 700 it): {why}")


# folder -> (its stat signature, its entries' names) when its entries were last found private
_CHECKED: dict[Path, tuple[tuple, tuple[str, ...]]] = {}
SETTLED_NS = 1_000_000_000  # a folder unchanged this long before a check is not being written


def private_folder(path: Path, param: str = "SPARSEFIELD_CACHE_DIR") -> Path:
    """Create ``path`` (mode 0700) if missing and check that only this user can write in it
    or in the files it holds; :class:`ParameterError` (naming ``param``) otherwise.  The
    folder itself is checked on every call; its entries again only when the folder changed
    (inode, mtime, ctime) since this process last found them private, so that a process
    loading many generated modules pays one scan of a cache of many files, not one per module."""
    return _check(path, param)[0]


def _check(path: Path, param: str) -> tuple[Path, tuple[str, ...]]:
    """``(path, the names in it)`` after the checks of :func:`private_folder`."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as err:
        raise ParameterError(param, str(path), f"a folder this user can create and read "
                             f"({err.strerror or err})") from None
    if not stat.S_ISDIR(st.st_mode):
        _refuse(param, path, "not a folder")
    if st.st_uid != os.geteuid():
        _refuse(param, path, f"owned by uid {st.st_uid}")
    if st.st_mode & 0o022:
        _refuse(param, path, f"mode {stat.filemode(st.st_mode)}")
    sig = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    seen = _CHECKED.get(path)
    if seen is not None and seen[0] == sig:
        return path, seen[1]
    try:
        entries = list(path.iterdir())
    except OSError as err:
        raise ParameterError(param, str(path), f"a folder this user can create and read "
                             f"({err.strerror or err})") from None
    for entry in entries:
        try:
            est = entry.lstat()
        except FileNotFoundError:  # another process's temporary file, renamed meanwhile
            continue
        if est.st_uid != os.geteuid() or (est.st_mode & 0o022 and not stat.S_ISLNK(est.st_mode)):
            _refuse(param, path, f"{entry.name} is owned by uid {est.st_uid}, "
                    f"mode {stat.filemode(est.st_mode)}")
    names = tuple(e.name for e in entries)
    # file times are coarse (a clock tick): a folder written just before its stat may be
    # written again with the same mtime, so only a settled folder's check is remembered
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS:
        _CHECKED[path] = (sig, names)
    return path, names


def folder(name: str) -> Path:
    """The private folder ``cache_dir()/name``, with its private ``__pycache__``."""
    return _folder(name)[0]


def _folder(name: str) -> tuple[Path, tuple[str, ...]]:
    """``(folder(name), the names in it)``."""
    path, names = _check(private_folder(cache_dir()) / name, "SPARSEFIELD_CACHE_DIR")
    private_folder(path / "__pycache__")
    return path, names


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _write(path: Path, source: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(source)
    os.replace(tmp, path)


def _import(path: Path) -> ModuleType:
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_generated(source: str, tag: str, where: Path) -> ModuleType:
    """Write ``source`` once as ``where/sf_<tag>_<hash>.py`` (atomically) and import it; an
    unchanged file keeps numba's on-disk cache valid.  A file whose content does not hash
    to its name is rewritten (numba then sees a new source stamp and recompiles)."""
    digest = _digest(source.encode())
    path = where / f"sf_{tag}_{digest}.py"
    try:
        stored = path.read_bytes()
    except FileNotFoundError:
        stored = None
    if stored is not None and _digest(stored) != digest:
        warnings.warn(f"{path}: content does not match its hash; rewritten", stacklevel=3)
        stored = None
    if stored is None:
        _write(path, source)
    return _import(path)


def load_keyed(tag: str, key: str, build: Callable[[], str]) -> ModuleType:
    """The module generated by ``build()`` for ``key``: imported from
    ``cache_dir()/generated/sf_<tag>_<key hash>_<content hash>.py`` when such a file exists
    and its content hashes to its name, else built, written and imported.  Where the cache
    folder is unusable (not private, not creatable) the module is built in memory, with a
    warning: a cache that is not private is never read."""
    prefix = f"sf_{tag}_{_digest(key.encode())}_"
    try:
        where, names = _folder("generated")
    except ParameterError as err:
        warnings.warn(f"generated-code cache not used: {err}", stacklevel=3)
        return in_memory(build(), prefix.rstrip("_"))
    for path in (where / n for n in sorted(names) if n.startswith(prefix) and n.endswith(".py")):
        if _digest(path.read_bytes()) == path.stem[len(prefix):]:
            try:
                return _import(path)
            except (ImportError, AttributeError, SyntaxError):  # e.g. a name gone from numpy
                pass
        else:
            warnings.warn(f"{path}: content does not match its hash; regenerated", stacklevel=3)
        path.unlink(missing_ok=True)
    source = build()
    path = where / f"{prefix}{_digest(source.encode())}.py"
    _write(path, source)
    return _import(path)


def in_memory(source: str, name: str) -> ModuleType:
    """``source`` executed as a fresh module (for definitions that have no cache key)."""
    module = ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102  (our generated code)
    return module


def file_key(*paths: str | Path) -> str:
    """A key for sources generated from the given files: their bytes, hashed."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def literal(value) -> str:
    """``value`` (numbers, bools, None, strings, tuples/lists of them) as Python source."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"not a literal: {value!r}")
