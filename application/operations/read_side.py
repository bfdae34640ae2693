"""The read side, for operators (`ecovarejo projections …`, the console's read-side page,
`/health`, the metrics): every follower's status, rebuilding read models, retrying a parked
event. Written once here over the `ReadSide` port; `infrastructure/read_stores/projection_admin.py`
`ReadSideAdmin` implements it (the container's `read_side`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from domain.base import NotFoundError

Progress = Callable[[int, int], None]  # (position, head)


class UnknownReadModelError(NotFoundError):
    """No rebuildable read model of that name."""


class ReadSide(Protocol):
    @property
    def rebuildable(self) -> Sequence[str]: ...

    def statuses(self) -> list[Any]: ...

    def rebuild(self, names: list[str], progress: Progress | None = None) -> list[Any]: ...

    def retry_parked(self, name: str, position: int) -> Any: ...


def status(read_side: ReadSide) -> list[Any]:
    """Each follower of the log: position, head, lag, runner state, parked events."""
    return read_side.statuses()


def rebuild(
    read_side: ReadSide, names: Sequence[str], progress: Progress | None = None
) -> list[Any]:
    """Replay the log into a new generation of each read model (one pass for all) and swap
    them in; reads go on meanwhile. An unknown name changes nothing."""
    check_rebuildable(names, read_side.rebuildable)
    return read_side.rebuild(list(names), progress)


def check_rebuildable(names: Sequence[str], rebuildable: Sequence[str]) -> None:
    unknown = [n for n in names if n not in rebuildable]
    if unknown:
        known = ", ".join(rebuildable)
        raise UnknownReadModelError(f"unknown projection {unknown[0]!r}; known: {known}")


def retry_parked(read_side: ReadSide, name: str, position: int) -> Any:
    """Project the parked event at `position` of read model `name` again."""
    return read_side.retry_parked(name, position)
