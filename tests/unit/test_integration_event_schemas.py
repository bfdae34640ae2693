"""docs/events/ holds one JSON Schema per public event type, each a valid Draft 2020-12
schema of the whole CloudEvent, and nothing else; the publisher's types are exactly those."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from application.integration_events import PUBLIC_EVENTS, PUBLIC_TYPES, SCHEMA_BASE

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_there_is_one_valid_schema_per_public_event_type_and_no_other() -> None:
    files = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert files == set(PUBLIC_TYPES)
    for name in PUBLIC_TYPES:
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"{SCHEMA_BASE}{name}.schema.json"
        assert schema["properties"]["type"] == {"const": f"br.com.ecovarejo.{name}"}
        assert schema["properties"]["data"]["additionalProperties"] is False


def test_a_schema_refuses_a_payload_with_a_field_it_does_not_name() -> None:
    schema = json.loads((SCHEMAS / "order.cancelled.v1.schema.json").read_text())
    event = {
        "specversion": "1.0",
        "id": "x:1:order.cancelled.v1",
        "source": "urn:ecovarejo:shop",
        "type": "br.com.ecovarejo.order.cancelled.v1",
        "subject": "3f1e2b9c-0000-4000-8000-000000000001",
        "time": "2026-12-06T23:00:00Z",
        "datacontenttype": "application/json",
        "dataschema": f"{SCHEMA_BASE}order.cancelled.v1.schema.json",
        "sequence": "42",
        "partitionkey": "3f1e2b9c-0000-4000-8000-000000000001",
        "correlationid": "",
        "data": {"order_id": "3f1e2b9c-0000-4000-8000-000000000001", "reason": "customer_request"},
    }
    validator = Draft202012Validator(schema)
    assert list(validator.iter_errors(event)) == []
    event["data"]["detail"] = "the customer's own words"
    assert [e.validator for e in validator.iter_errors(event)] == ["additionalProperties"]


def test_every_public_event_type_has_a_mapping() -> None:
    assert len(PUBLIC_EVENTS) == 10  # stock.low comes from two stock events
