"""The log's transcoder: the library's JSON transcoding, decoded with orjson.

Followers and rebuilds spend a third of their time decoding (`json` calls the
transcoder's `object_hook` in Python for every object, the parser itself is slow). Here
orjson parses the bytes and one walk, bottom-up as `object_hook` goes, turns every
`{"_type_": name, "_data_": ...}` envelope back into its value through the same registered
`Transcoding`s. So nothing about the stored form changes:

- encoding stays the library's (`json.JSONEncoder`, compact, not ASCII-escaped): bytes
  written are byte for byte what they were, and the hash chain over them with them;
- transcodings (`register_transcodings`) and upcasters (`class_version`, applied by the
  library's `Mapper` after decoding) are the library's own;
- whatever orjson refuses or reads otherwise than `json` (NaN and Infinity, an escaped
  lone surrogate, any float, integers beyond 64 bits) is decoded by the library's
  decoder, so every stored event that was readable stays readable, with the same errors
  for those that are not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)


class _FloatSeen(Exception):
    """orjson reads an integer beyond 64 bits as a float, and may round a float otherwise
    than `json`: a document with a number that is not a 64-bit integer is decoded by the
    library (the log's events hold none: money and weights are decimal strings)."""


# What `_revive_value` changes (or refuses: a float): anything else comes back as it is.
_CONTAINERS = frozenset({dict, list, float})

# The library's own transcodings whose `decode` of a string is one call of a C function
# (after an `assert isinstance(data, str)`, which a string passes): that function is called
# directly for them, as the transcoding would call it. Only for exactly these classes: a
# subclass, or another transcoding registered under the same name, decodes by its own.
_DIRECT: dict[type[Transcoding], Callable[[str], Any]] = {
    DatetimeAsISO: datetime.fromisoformat,
    UUIDAsHex: UUID,
    DecimalAsStr: Decimal,
}


class OrjsonTranscoder(JSONTranscoder):
    """`JSONTranscoder` with orjson's parser and one revive walk over what it returns."""

    def decode(self, data: bytes) -> Any:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)  # what only `json` reads (or the same error)
        kind = type(obj)
        try:
            if kind is dict:
                return self._revive_dict(obj)
            if kind is list:
                return self._revive_list(obj)
            if kind is float:
                raise _FloatSeen
        except _FloatSeen:
            return super().decode(data)
        return obj

    def _revive_dict(self, obj: dict[str, Any]) -> Any:
        """What `object_hook` makes of `obj`, children first. An envelope's keys are
        checked before its children are revived (reviving never changes keys), so an
        envelope's `_data_` reaches its transcoding revived, as in the library."""
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            return self._envelope(obj)
        names = self.names
        for key, value in obj.items():
            kind = type(value)
            if kind not in _CONTAINERS:  # a string, a number, a bool, None: as it is
                continue
            if kind is dict:
                # An envelope child (most are: a timestamp, money) is opened here, without
                # the call that would only find it is one; one holding a string (a
                # timestamp, an id, a decimal) is decoded here, by its transcoding (same
                # keys: safe while iterating).
                if len(value) == 2 and "_type_" in value and "_data_" in value:
                    name, data = value["_type_"], value["_data_"]
                    transcoding = names.get(name) if type(name) is str else None
                    if transcoding is not None and type(data) is str:
                        direct = _DIRECT.get(transcoding.__class__)
                        obj[key] = direct(data) if direct else transcoding.decode(data)
                    else:
                        obj[key] = self._envelope(value)
                else:
                    obj[key] = self._revive_dict(value)
            elif kind is list:
                obj[key] = self._revive_list(value)
            elif kind is float:
                raise _FloatSeen
        return obj

    def _envelope(self, obj: dict[str, Any]) -> Any:
        """`{"_type_": name, "_data_": data}` through the transcoding registered as `name`."""
        name, data = obj["_type_"], obj["_data_"]
        if type(name) is not str:
            name = self._revive_value(name)
        if type(data) in _CONTAINERS:
            data = self._revive_value(data)
        try:
            transcoding = self.names[name]
        except (KeyError, TypeError) as error:
            msg = (
                f"Data serialized with name '{name}' is not "
                "deserializable. Please register a "
                "custom transcoding for this type."
            )
            raise TranscodingNotRegisteredError(msg) from error
        return transcoding.decode(data)

    def _revive_list(self, obj: list[Any]) -> list[Any]:
        for index, value in enumerate(obj):
            kind = type(value)
            if kind is dict:
                obj[index] = self._revive_dict(value)
            elif kind is list:
                obj[index] = self._revive_list(value)
            elif kind is float:
                raise _FloatSeen
        return obj

    def _revive_value(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return self._revive_dict(value)
        if kind is list:
            return self._revive_list(value)
        if kind is float:
            raise _FloatSeen
        return value
