"""The metrics the alert rules and the dashboard are written against are really exposed,
with the values the log holds; large answers are gzipped when the client asks."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from infrastructure.runtime.saga_partitions import SAGA_FOLLOWERS
from tests.e2e.test_edge_observability import API, eventually, place_order, samples, value

OPS = Path(__file__).resolve().parents[2] / "ops"
NOT_YET_EXPOSED: set[str] = set()


def referenced_metrics() -> set[str]:
    text = (OPS / "prometheus" / "alerts.yml").read_text()
    dashboard = json.loads((OPS / "grafana" / "dashboards" / "ecovarejo.json").read_text())
    text += " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    return set(re.findall(r"\becovarejo_[a-z_]+", text)) - {"ecovarejo_lgpd"}


def test_payment_outcomes_queues_parking_and_saga_lag_are_exposed(client, auth, product):
    place_order(client, auth, "4242424242424242")
    place_order(client, auth, "4000000000000002")

    def settled() -> dict | None:
        found = samples(client)
        decided = (
            value(found, "ecovarejo_events_total", type="Payment.Authorized"),
            value(found, "ecovarejo_events_total", type="Payment.Declined"),
            value(found, "ecovarejo_orders_cancelled", reason="payment_declined"),
        )
        return found if decided == (1, 1, 1) else None

    found = eventually(settled)
    assert found, "the payment decisions never showed in ecovarejo_events_total"
    assert value(found, "ecovarejo_events_total", type="Order.Placed") == 2
    assert value(found, "ecovarejo_queue_messages", queue="ecovarejo") is not None
    assert value(found, "ecovarejo_queue_messages", queue="ecovarejo.dead") == 0
    for name in ("orders", "carts", "stock_items", "analytics"):
        assert value(found, "ecovarejo_projection_parked_events", projection=name) == 0, name
    assert value(found, "ecovarejo_process_lag_events", process="saga.p0") is not None
    for follower in (*SAGA_FOLLOWERS, "effects", "orders"):
        assert value(found, "ecovarejo_follower_up", follower=follower) == 1, follower
    assert value(found, "ecovarejo_lgpd_request_oldest_open_age_seconds") == 0
    names = {name.removesuffix("_total") for name, _ in found} | {name for name, _ in found}
    names |= {n.removesuffix("_bucket") for n in names}
    missing = referenced_metrics() - NOT_YET_EXPOSED - names
    assert not missing, f"alerts/dashboard use metrics nobody exposes: {missing}"


def test_event_counts_keep_counting_across_scrapes(client, auth, product):
    place_order(client, auth, "4242424242424242")
    first = eventually(
        lambda: value(samples(client), "ecovarejo_events_total", type="Payment.Authorized")
    )
    place_order(client, auth, "4242424242424242")
    second = eventually(
        lambda: value(samples(client), "ecovarejo_events_total", type="Payment.Authorized") == 2
    )
    assert first == 1
    assert second


def test_large_json_answers_are_gzipped_when_asked_for(client):
    plain = client.get(f"{API}/openapi.json", headers={"Accept-Encoding": "identity"})
    zipped = client.get(f"{API}/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()  # httpx decodes it
    assert len(gzip.compress(plain.content)) < len(plain.content) / 3


def test_small_answers_are_not_compressed(client):
    response = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


def test_an_open_data_subject_request_shows_its_age(client, container):
    from domain.personal import DataSubject

    subject = DataSubject(customer_id="ana")
    subject.receive("erasure", "customer:ana")  # received; the process died before the rest
    container.services.store.save(subject)
    age = value(samples(client), "ecovarejo_lgpd_request_oldest_open_age_seconds")
    assert age is not None
    assert 0 < age < 60
