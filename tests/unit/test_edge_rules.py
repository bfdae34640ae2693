"""The edge's pure rules: rate-limit groups, idempotency fingerprints, log redaction,
command outcomes and the errors each operation documents."""

from __future__ import annotations

import json
import logging

import pytest

from api.http.access_log import JsonFormatter, redact
from api.http.idempotency import KEY_PATTERN, fingerprint
from api.http.metrics import command_outcome
from api.http.middleware import is_json
from api.http.openapi import RouteFacts, error_statuses
from api.http.ratelimit import route_group


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("POST", "/api/v1/carts/0c1d/checkout", "orders"),
        ("POST", "/api/v1/orders/0c1d/cancel", "orders"),
        ("POST", "/api/v1/orders/0c1d/ship", "orders"),
        ("GET", "/api/v1/orders/0c1d", "default"),
        ("GET", "/api/v1/stock-items/ECO-1", "reads"),
        ("GET", "/api/v1/products/search", "reads"),
        ("POST", "/api/v1/stock-items", "default"),
        ("POST", "/api/v1/carts", "default"),
        ("GET", "/health", None),
        ("GET", "/api/v1/ready", None),
        ("GET", "/metrics", None),
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/docs", None),
        ("OPTIONS", "/api/v1/carts", None),
    ],
)
def test_requests_draw_on_the_budget_of_their_route_group(method, path, group):
    assert route_group(method, path) == group


def scope(method="POST", path="/api/v1/carts", query=b"", if_match=None) -> dict:
    headers = [(b"if-match", if_match.encode())] if if_match else []
    return {"method": method, "path": path, "query_string": query, "headers": headers}


def test_the_same_request_has_the_same_fingerprint_however_its_json_is_written():
    assert fingerprint(scope(), b'{"a": 1, "b": [1, 2]}') == fingerprint(
        scope(), b'{"b":[1,2],"a":1}'
    )


@pytest.mark.parametrize(
    ("other_scope", "other_body"),
    [
        (scope(path="/api/v1/carts/x/items"), b"{}"),
        (scope(method="PUT"), b"{}"),
        (scope(query=b"a=1"), b"{}"),
        (scope(if_match='"3"'), b"{}"),
        (scope(), b'{"a": 1}'),
        (scope(), b"{"),
    ],
)
def test_another_request_has_another_fingerprint(other_scope, other_body):
    assert fingerprint(scope(), b"{}") != fingerprint(other_scope, other_body)


@pytest.mark.parametrize("key", ["a", "order-2026-11-22/77", "x" * 255, "3f1c0e9a-uuid"])
def test_idempotency_keys_are_visible_ascii_up_to_255(key):
    assert KEY_PATTERN.match(key)


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "ação", "tab\there"])
def test_other_idempotency_keys_are_refused(key):
    assert not KEY_PATTERN.match(key)


def test_card_numbers_and_bearer_tokens_are_redacted_from_log_text():
    text = "card 4242424242424242 and 4000-0000 and order 123456789012 auth Bearer ab.cd-ef"
    redacted = redact(text)
    assert "4242424242424242" not in redacted
    assert "[card redacted]" in redacted
    assert "123456789012" in redacted  # not a card number (fails the Luhn check)
    assert "ab.cd-ef" not in redacted


def test_a_log_record_is_one_json_object_with_its_extra_fields():
    record = logging.makeLogRecord(
        {"name": "ecovarejo.access", "levelname": "INFO", "msg": "request", "route": "/x"}
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["message"], entry["route"], entry["level"]) == ("request", "/x", "info")


@pytest.mark.parametrize(
    ("status", "replayed", "outcome"),
    [
        (201, False, "accepted"),
        (202, False, "accepted"),
        (201, True, "replayed"),
        (409, False, "conflict"),
        (422, False, "invalid"),
        (404, False, "not_found"),
        (403, False, "forbidden"),
        (429, False, "rate_limited"),
        (503, False, "error"),
    ],
)
def test_command_outcomes_are_named_by_status(status, replayed, outcome):
    assert command_outcome(status, replayed) == outcome


@pytest.mark.parametrize(
    ("content_type", "json_"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_json_media_types_are_recognised(content_type, json_):
    assert is_json(content_type) is json_


def facts(**changes: object) -> RouteFacts:
    base = {
        "authenticated": True,
        "roles": ("customer",),
        "has_path_params": True,
        "has_inputs": True,
        "has_body": True,
        "reads_if_match": True,
        "waits_for_consistency": False,
    }
    return RouteFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_a_customer_command_documents_every_error_it_can_answer():
    statuses = error_statuses("POST", "/api/v1/carts/{cart_id}/items", facts())
    assert statuses == {401, 403, 404, 409, 413, 415, 422, 429, 503}


def test_a_read_open_to_every_role_documents_no_403_and_no_body_errors():
    route_facts = facts(
        roles=("customer", "admin", "auditor"),
        has_body=False,
        reads_if_match=False,
        waits_for_consistency=True,
    )
    statuses = error_statuses("GET", "/api/v1/stock-items/{sku}", route_facts)
    assert statuses == {401, 404, 422, 429, 503}


def test_a_probe_documents_no_errors():
    probe = facts(
        authenticated=False,
        roles=(),
        has_path_params=False,
        has_inputs=False,
        has_body=False,
        reads_if_match=False,
    )
    assert error_statuses("GET", "/health", probe) == set()
