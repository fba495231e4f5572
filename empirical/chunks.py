"""Pending runs grouped into ensemble chunks (torch-free): the runner trains each chunk as
one batched ensemble, and a sweep submits each as one task."""

from __future__ import annotations

from typing import Callable, Hashable, TypeVar

Run = TypeVar("Run", bound=tuple)  # (label, point, seed)


def chunks(runs: list[Run], key: Callable[[dict], Hashable], size: int) -> list[list[Run]]:
    """``runs`` grouped by ``key(point)`` (first-seen order), each group cut into chunks of
    at most ``size`` in run order (a point's seeds stay together unless a cut splits them)."""
    size = max(int(size), 1)
    groups: dict[Hashable, list[Run]] = {}
    for run in runs:
        groups.setdefault(key(run[1]), []).append(run)
    return [members[i:i + size] for members in groups.values()
            for i in range(0, len(members), size)]
