"""`PersonalData`, the value the event store encrypts with its subject's own key (see
domain/personal.py for the rest of the LGPD story).

In a module of its own, importing nothing of the domain: readers of the log (the key
transcoding, `replay --all`'s rows) need the value's class without `DataSubject`, an
aggregate whose event classes are made (by `dataclass`) when its module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalData:
    subject: str
    value: dict[str, str] | None  # None once the subject's key is destroyed

    @property
    def erased(self) -> bool:
        return self.value is None

    def shown(self) -> dict[str, Any]:
        return {"erased": True} if self.value is None else dict(self.value)
