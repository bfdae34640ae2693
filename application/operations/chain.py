"""Verifying the hash chain (`ecovarejo audit verify`, the console's audit page, a restore's
last step): the report and its one document form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_position: int | None
    problem: str = ""
    globally_chained_to: int = 0  # the global chain's head
    not_yet_global: int = 0  # events after it, not chained yet (the chaining follower's lag)

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None

    def as_dict(self) -> dict[str, Any]:
        """The report as the CLI's --json, the console's job and a restore show it."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_position": self.first_bad_position,
            "problem": self.problem,
            "globally_chained_to": self.globally_chained_to,
            "not_yet_global": self.not_yet_global,
        }

    def summary(self) -> str:
        """One line for a person."""
        if self.ok:
            return (
                f"ok: {self.checked} events, chain intact (global chain up to position "
                f"{self.globally_chained_to}; {self.not_yet_global} newer events not chained "
                "yet: a worker chains them within about a second)"
            )
        return (
            f"BROKEN at position {self.first_bad_position}: {self.problem} "
            f"({self.checked} events verified before it)"
        )


class ChainLog(Protocol):
    """The log that keeps the chain (infrastructure/store/event_log.py `EventLog`)."""

    def verify_chain(self, batch: int = ..., progress: Progress | None = None) -> ChainReport: ...


def verify_chain(log: ChainLog, progress: Progress | None = None) -> ChainReport:
    """Recompute every stream link and the global chain from the stored events."""
    return log.verify_chain(progress=progress)
