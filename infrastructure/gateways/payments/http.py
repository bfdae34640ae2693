"""The HTTP side every provider adapter shares: one client with a timeout, and the mapping
of transport failures onto the port's `GatewayError`.

- no answer in time, connection refused or reset -> retryable (same gateway, same key)
- 5xx -> retryable: with the same idempotency key a retry cannot move money twice
- 401/403 -> not retryable: a wrong secret does not heal; the chain moves on
- an answer that is not the JSON object the API documents -> retryable ("malformed")
Other 4xx answers are returned to the adapter, which knows its API's declines.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx

from application.ports import GatewayError

_NUMBER = re.compile(r'"__decimal__(-?\d+(?:\.\d+)?)"')


def dumps(body: Any) -> str:
    """JSON with Decimal amounts written as JSON numbers, exactly (never through float)."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"__decimal__{value}"
        raise TypeError(f"not JSON: {type(value).__name__}")

    return _NUMBER.sub(r"\1", json.dumps(body, default=default))


class JsonApi:
    def __init__(self, name: str, base_url: str, headers: dict[str, str], timeout_s: float):
        self.name = name
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON object) for a 2xx or a 4xx the adapter must read; raises otherwise."""
        content = dumps(json_body) if json_body is not None else None
        extra = dict(headers or {})
        if content is not None:
            extra["Content-Type"] = "application/json"
        try:
            response = self._client.request(method, path, content=content, data=form, headers=extra)
        except httpx.TimeoutException:
            raise GatewayError(f"{self.name}: no answer in time", retryable=True) from None
        except httpx.TransportError as error:
            raise GatewayError(
                f"{self.name}: unreachable ({type(error).__name__})", retryable=True
            ) from None
        if response.status_code >= 500:
            raise GatewayError(f"{self.name}: server error {response.status_code}", retryable=True)
        if response.status_code in (401, 403):
            raise GatewayError(f"{self.name}: credentials refused ({response.status_code})")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise GatewayError(f"{self.name}: malformed answer", retryable=True)
        return response.status_code, answer

    def close(self) -> None:
        self._client.close()


def field(answer: dict[str, Any], *path: str) -> Any:
    """A documented field of an answer; its absence is a malformed answer."""
    value: Any = answer
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise GatewayError(f"answer lacks {'.'.join(path)}", retryable=True)
        value = value[key]
    return value


def cents(amount: Decimal) -> int:
    return int(amount * 100)
