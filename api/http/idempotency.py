"""`Idempotency-Key` on POST: the first response to a key is kept in Redis (24 h by
default) and given again to every repeat of the same request, which never runs the command
a second time. Keys belong to the caller (the JWT subject): one client cannot replay another
client's answer.

A request claims its key atomically (SET NX with a short lock); a copy that arrives while
the first still runs waits for it and replays its answer, or gets 409 if it waited too long.
The same key with another request (method, path, body or If-Match) is 422. A 5xx answer is
not kept: the claim is dropped so that a retry runs the command.

A customer's answer can hold their personal data (an address just saved): it is kept only
sealed under that customer's data key (`ResponseSealer`), so the erasure that destroys the key
shreds it too, wherever Redis copied it (AOF, RDB). A repeat after the erasure is 410: the
first answer is gone and the command is not run again. Sealing rather than keeping a digest
and answering with the current state: the replay stays byte-for-byte the first answer for
every route, with no per-route code to re-read state. Other callers' answers (admins,
auditors) hold no customer's personal data (domain/personal.py `PLACES`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth import AuthenticationError, Principal, TokenVerifier, principal_of
from api.http.errors import problem
from api.http.middleware import header_of, replay_body
from application.keys import KeyStore, KeyWrapperUnavailableError, PersonalDataAsCiphertext
from domain.personal import PersonalData
from infrastructure.read_stores.redis_views import LoopRedis
from infrastructure.settings import Settings

log = logging.getLogger("ecovarejo.edge")

HEADER = "idempotency-key"
_HEADER = HEADER.encode("latin-1")  # as the scope holds it
REPLAYED_HEADER = "idempotent-replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as a header carries it
KEPT_HEADERS = frozenset({"content-type", "etag", "location"})

# Store the answer only if this request still owns the claim (or the claim ran out and no
# one else took the key meanwhile).
_COMPLETE = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['owner'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
_RELEASE = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['owner'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ResponseSealer(Protocol):
    """Seals a body under a data subject's key; None when that key is gone (erased)."""

    def seal(self, subject: str, body: bytes) -> dict[str, str]: ...

    def open(self, subject: str, sealed: dict[str, str]) -> bytes | None: ...


class SubjectKeySealer:
    """`ResponseSealer` over the key store, with the event store's own transcoding."""

    def __init__(self, keys: KeyStore):
        self.cipher = PersonalDataAsCiphertext(keys)

    def seal(self, subject: str, body: bytes) -> dict[str, str]:
        text = base64.b64encode(body).decode()
        return self.cipher.encode(PersonalData(subject, {"body": text}))

    def open(self, subject: str, sealed: dict[str, str]) -> bytes | None:
        if sealed.get("subject") != subject:
            return None
        data = self.cipher.decode(sealed)
        return None if data.value is None else base64.b64decode(data.value["body"])


def sealed_subject(principal: Principal) -> str | None:
    """Whose key seals the stored answer: a customer's own (the subject of `/me` data)."""
    return principal.sub if principal.role == "customer" else None


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def to_record(self, sealer: ResponseSealer | None, subject: str | None) -> dict[str, Any]:
        record: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if subject is not None and sealer is not None:
            record["sealed"] = sealer.seal(subject, self.body)
        else:
            record["body"] = base64.b64encode(self.body).decode()
        return record

    @classmethod
    def of(
        cls, record: dict[str, Any], sealer: ResponseSealer | None, subject: str | None
    ) -> StoredResponse | None:
        """The stored answer; None if it was sealed under a key since destroyed."""
        headers = [(str(k), str(v)) for k, v in record["headers"]]
        if "sealed" in record:
            if sealer is None or subject is None:
                return None
            body = sealer.open(subject, record["sealed"])
            if body is None:
                return None
            return cls(int(record["status"]), headers, body)
        return cls(int(record["status"]), headers, base64.b64decode(record["body"]))


class IdempotencyStore:
    """Asynchronous: the event loop never waits on Redis."""

    def __init__(
        self,
        client: LoopRedis,
        ttl_s: int,
        lock_s: float,
        sealer: ResponseSealer | None = None,
    ):
        self.client = client
        self.ttl_s = ttl_s
        self.lock_ms = max(1, int(lock_s * 1000))
        self.sealer = sealer

    @classmethod
    def from_settings(
        cls, client: LoopRedis, settings: Settings, sealer: ResponseSealer | None = None
    ) -> IdempotencyStore:
        return cls(client, settings.idempotency_ttl_s, settings.idempotency_lock_s, sealer)

    @staticmethod
    def key(subject: str, idempotency_key: str) -> str:
        digest = hashlib.sha256(f"{subject}\n{idempotency_key}".encode()).hexdigest()
        return f"idempotency:{digest}"

    async def claim(self, key: str, fingerprint: str) -> str | dict[str, Any] | None:
        """This request's owner token if it got the key; else the record holding it (a
        pending claim or a stored answer); None if the key was freed meanwhile."""
        owner = uuid.uuid4().hex
        claim = {"state": "pending", "owner": owner, "fingerprint": fingerprint}
        client = self.client.client()
        if await client.set(key, json.dumps(claim), nx=True, px=self.lock_ms):
            return owner
        raw = await client.get(key)
        return json.loads(raw) if raw else None

    async def complete(
        self,
        key: str,
        owner: str,
        fingerprint: str,
        answer: StoredResponse,
        subject: str | None = None,
    ) -> bool:
        record = {"state": "done", "owner": owner, "fingerprint": fingerprint}
        stored = await asyncio.to_thread(answer.to_record, self.sealer, subject)
        value = json.dumps({**record, "response": stored})
        complete = self.client.script(_COMPLETE)
        return bool(await complete(keys=[key], args=[owner, value, self.ttl_s]))

    async def release(self, key: str, owner: str) -> None:
        await self.client.script(_RELEASE)(keys=[key], args=[owner])

    async def answer(self, record: dict[str, Any], subject: str | None) -> StoredResponse | None:
        return await asyncio.to_thread(StoredResponse.of, record, self.sealer, subject)


def fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests 'the same': method, path, query, If-Match and the body (as
    canonical JSON when it is JSON, so key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    if_match = header_of(scope, b"if-match") or ""
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b""), if_match):
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    digest.update(canonical)
    return digest.hexdigest()


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


# Answers that carry secrets (tokens, a TOTP secret) are never kept for replay.
NOT_KEPT = ("/api/v1/auth/",)


class IdempotencyMiddleware:
    def __init__(
        self, app: ASGIApp, store: IdempotencyStore, verifier: TokenVerifier, wait_s: float
    ):
        self.app = app
        self.store = store
        self.verifier = verifier
        self.wait_s = wait_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].startswith(NOT_KEPT)
        ):
            await self.app(scope, receive, send)
            return
        raw_key = header_of(scope, _HEADER)
        principal = await principal_of(scope, self.verifier) if raw_key is not None else None
        if raw_key is None or isinstance(principal, AuthenticationError) or principal is None:
            await self.app(scope, receive, send)  # no key, or no caller: the app answers 401
            return
        if not KEY_PATTERN.match(raw_key):
            detail = "Idempotency-Key must be 1 to 255 visible ASCII characters"
            await problem(422, detail, kind="idempotency-key-invalid")(scope, receive, send)
            return
        body = await read_body(receive)
        scope.setdefault("state", {})["idempotency_subject"] = sealed_subject(principal)
        await self._handle(
            scope,
            replay_body(body, receive),
            send,
            self.store.key(principal.actor, raw_key),
            fingerprint(scope, body),
        )

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, key: str, fingerprint: str
    ) -> None:
        subject = scope["state"]["idempotency_subject"]
        try:
            outcome = await self._claim(key, fingerprint)
        except redis.RedisError as e:
            log.warning("idempotency store failed: %s", type(e).__name__)
            response = problem(
                503,
                "the idempotency store is unavailable; retry later",
                kind="idempotency-unavailable",
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        if isinstance(outcome, str):
            await self._run(scope, receive, send, key, fingerprint, outcome)
        elif outcome["fingerprint"] != fingerprint:
            detail = "this Idempotency-Key was used for another request"
            await problem(422, detail, kind="idempotency-key-reused")(scope, receive, send)
        elif outcome["state"] == "done":
            answer = await self._replay(outcome["response"], subject)
            await answer(scope, receive, send)
        else:
            detail = "a request with this Idempotency-Key is still in progress"
            response = problem(
                409, detail, kind="idempotency-in-progress", headers={"Retry-After": "1"}
            )
            await response(scope, receive, send)

    async def _claim(self, key: str, fingerprint: str) -> str | dict[str, Any]:
        """Claim the key, or wait (up to wait_s) while another copy of this request holds it."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.01
        while True:
            outcome = await self.store.claim(key, fingerprint)
            if outcome is None:  # freed between our SET and GET: try again at once
                continue
            if isinstance(outcome, str) or outcome["fingerprint"] != fingerprint:
                return outcome
            if outcome["state"] == "done" or time.monotonic() >= deadline:
                return outcome
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, key: str, fingerprint: str, owner: str
    ) -> None:
        status = 0
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k.decode("latin-1").lower(), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await self._release(key, owner)
            raise
        if not 100 <= status < 500:
            await self._release(key, owner)
            return
        answer = StoredResponse(status, headers, b"".join(chunks))
        try:
            subject = scope["state"]["idempotency_subject"]
            await self.store.complete(key, owner, fingerprint, answer, subject)
        except (redis.RedisError, KeyWrapperUnavailableError) as e:
            log.warning("idempotent answer not stored: %s", type(e).__name__)
            await self._release(key, owner)

    async def _replay(self, record: dict[str, Any], subject: str | None) -> Response:
        try:
            answer = await self.store.answer(record, subject)
        except KeyWrapperUnavailableError:
            detail = "the key service is unavailable; retry later"
            return problem(
                503, detail, kind="key-service-unavailable", headers={"Retry-After": "1"}
            )
        if answer is None:
            detail = (
                "the first answer to this request held personal data that has been erased; "
                "the request was not run again"
            )
            return problem(410, detail, kind="idempotent-answer-erased")
        return _replay(answer)

    async def _release(self, key: str, owner: str) -> None:
        try:
            await self.store.release(key, owner)
        except redis.RedisError as e:
            log.warning("idempotency claim not released: %s", type(e).__name__)


def _replay(answer: StoredResponse) -> Response:
    response = Response(content=answer.body, status_code=answer.status)
    for name, value in answer.headers:
        if name == "content-type":
            response.headers[name] = value
        else:
            response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response
