"""The one place an answer gets its `ETag`: a command's new aggregate version, or the
version of the aggregate a read shows, so either can be sent back as `If-Match`. Routes call
it with what they return; nothing parses a body to find the version."""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import Response


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


def version_tag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = version_tag(version)


def tagged(response: Response, answer: V) -> V:
    """`answer`, with its `version` as the response's ETag."""
    set_etag(response, answer.version)
    return answer
