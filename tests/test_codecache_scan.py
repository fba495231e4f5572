"""The cache folder's entries are checked once per process while the folder is unchanged
(theory/codecache.py): a cold ``derive`` loads ~10 generated modules from one folder, and a
scan per module cost 60 ms at 1,400 cached files; a changed folder is scanned again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparsefield.theory import codecache
from sparsefield.theory.errors import ParameterError


def test_an_unchanged_folder_is_scanned_once_and_a_changed_one_again(tmp_path, monkeypatch):
    monkeypatch.setattr(codecache, "SETTLED_NS", -10**18)  # remember every check at once
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    (folder / "a.py").write_text("")
    scans = []
    real = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: scans.append(self) or real(self))
    for _ in range(3):
        assert codecache.private_folder(folder) == folder
    assert scans == [folder]
    (folder / "shared.py").write_text("")
    (folder / "shared.py").chmod(0o666)
    st = folder.stat()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # a change in the same clock tick
    with pytest.raises(ParameterError, match="shared.py"):
        codecache.private_folder(folder)
    assert scans == [folder, folder]


def test_a_folder_written_just_now_is_not_remembered(tmp_path, monkeypatch):
    """File times are coarse: a check right after a write is not trusted for later calls."""
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    codecache.private_folder(folder)
    (folder / "shared.py").write_text("")  # may keep the folder's mtime (same tick)
    (folder / "shared.py").chmod(0o666)
    with pytest.raises(ParameterError, match="shared.py"):
        codecache.private_folder(folder)


def test_load_keyed_finds_its_module_among_the_remembered_names(tmp_path, monkeypatch):
    import sys

    monkeypatch.setenv("SPARSEFIELD_CACHE_DIR", str(tmp_path))
    built = []
    build = lambda: built.append(1) or "VALUE = 4.5\n"  # noqa: E731
    module = codecache.load_keyed("t_scan", "key-s", build)
    assert module.VALUE == 4.5
    del sys.modules[module.__name__]
    assert codecache.load_keyed("t_scan", "key-s", build).VALUE == 4.5
    assert built == [1]  # the second call found the file written by the first
