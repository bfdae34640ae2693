"""The read side's mapper: the library's `Mapper.to_domain_event`, with what it looks up
for every event looked up once per topic.

Followers, rebuilds and `replay --all` turn every stored event of the log into its domain
event; the library resolves the topic, finds the id convertor (an `lru_cache` keyed on a
tuple) and reads `class_version` for each one. Here the event class, its `class_version`
and its id convertor are kept per topic, so an event costs its decode and little more.
What comes out is what the library makes: the same transcoder decodes the same bytes, the
same upcasters (`upcast_vN_vN+1`) run in the same order, the same errors are raised (an
unknown topic, a state that does not decode). Encoding is the library's, untouched; with a
cipher or a compressor the library's own path runs.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
    pass_through_convertor,
)
from eventsourcing.utils import resolve_topic


class _Known:
    """What the mapper needs of one topic's event class."""

    __slots__ = ("class_version", "cls", "converts", "id_type", "to_id")

    def __init__(self, cls: type, id_type: type) -> None:
        self.cls = cls
        self.class_version: int = getattr(cls, "class_version", 1)
        self.id_type = id_type
        self.to_id = find_id_convertor(cls, id_type)
        # False when the id is stored as the event wants it (a UUID read for a UUID): most.
        self.converts = self.to_id is not pass_through_convertor


class ReadMapper(Mapper[UUID]):
    """`Mapper` whose `to_domain_event` keeps each topic's class, version and id convertor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known: dict[str, _Known] = {}

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if self.cipher is not None or self.compressor is not None:
            return super().to_domain_event(stored_event)
        return self.event_of_row(
            stored_event.topic,
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.state,
        )

    def event_of_row(
        self, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
    ) -> Any:
        """`to_domain_event` of a row's fields, without a `StoredEvent` (or `Notification`)
        made for it first."""
        if self.cipher is not None or self.compressor is not None:
            stored = StoredEvent(originator_id, originator_version, topic, state)
            return super().to_domain_event(stored)
        known, event_state = self.decoded(topic, originator_id, originator_version, state)
        domain_event: Any = object.__new__(known.cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event

    def decoded(
        self, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
    ) -> tuple[_Known, dict[str, Any]]:
        """The event's class (with what is known of it) and the `__dict__` the library gives
        the domain event: the state decoded and upcast, its originator's id and version in.
        For readers that want the event's data and not the event (`replay --all`'s rows).
        Without a cipher or a compressor only (`event_of_row` checks)."""
        known = self._known.get(topic)
        if known is None or type(originator_id) is not known.id_type:
            # Resolved before decoding, as the library does: an unknown topic is its error.
            known = self._known[topic] = _Known(resolve_topic(topic), type(originator_id))
        try:
            event_state: dict[str, Any] = self.transcoder.decode(state)
        except Exception as error:
            msg = (
                f"Failed to deserialise state of stored event with "
                f"topic '{topic}', "
                f"originator_id '{originator_id}' and "
                f"originator_version {originator_version}: {error}"
            )
            raise MapperDeserialisationError(msg) from error
        event_state["originator_id"] = (
            known.to_id(originator_id) if known.converts else originator_id
        )
        event_state["originator_version"] = originator_version
        from_version = event_state.pop("class_version", 1)
        if from_version < known.class_version:
            cls = known.cls
            while from_version < known.class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
                from_version += 1
        return known, event_state
