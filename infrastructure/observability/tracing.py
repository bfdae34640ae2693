"""OpenTelemetry traces: one trace per checkout, from the HTTP request through every saga
step, effect, actor and projector that follows from it.

How the trace travels: the edge opens a server span (`api/http/tracing.py`); every event created
while a span is current carries it as a W3C `traceparent` (`trace_parent` on the event,
stored with it, beside the correlation and causation ids); every follower of the log
(saga, effect dispatcher, projectors) opens its span for an event as a child of the event's
`trace_parent`; the dramatiq middleware below carries the current span in the message
options, and opens the actor's span as its child. So the hooks are at the infrastructure's
joints — the edge, the runners' event loop, the broker — not in the handlers.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the OTLP/HTTP exporter reads it and the
other standard `OTEL_*` variables): nothing is installed then, events carry no trace.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from eventsourcing.application import Application
from eventsourcing.projection import BaseProjectionRunner
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor

import domain.base

TRACER = "ecovarejo"
_installed = threading.Lock()
_state: dict[str, Any] = {"enabled": False, "loop": None}


def enabled() -> bool:
    return bool(_state["enabled"])


def tracer() -> trace.Tracer:
    provider = _state.get("provider")
    return provider.get_tracer(TRACER) if provider is not None else trace.get_tracer(TRACER)


def configure_from_env(service: str) -> bool:
    """Install tracing with the OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    if enabled() or not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return enabled()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    install(BatchSpanProcessor(OTLPSpanExporter()), service)
    return True


def install(processor: SpanProcessor, service: str = "ecovarejo") -> TracerProvider:
    """Tracing on, spans to `processor` (tests give a SimpleSpanProcessor with the SDK's
    InMemorySpanExporter)."""
    with _installed:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(processor)
        _state["provider"] = provider
        if not enabled():
            domain.base.trace_parent_hook = current_traceparent
            _state["loop"] = BaseProjectionRunner._process_events_loop
            BaseProjectionRunner._process_events_loop = staticmethod(_traced_loop)  # type: ignore[method-assign]
            _state["enabled"] = True
        return provider


def uninstall() -> None:
    """Tracing off again (tests): events stop carrying traces, runners stop opening spans."""
    with _installed:
        if enabled():
            domain.base.trace_parent_hook = None
            BaseProjectionRunner._process_events_loop = staticmethod(_state["loop"])  # type: ignore[method-assign]
            _state["enabled"] = False
        provider = _state.pop("provider", None)
        if provider is not None:
            provider.shutdown()


def current_traceparent() -> str:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def _parent_of(carrier_value: str | None) -> context.Context | None:
    return propagate.extract({"traceparent": carrier_value}) if carrier_value else None


@contextmanager
def span_for_event(follower: str, event: Any) -> Iterator[None]:
    """A follower's work on one event, as a child of the span that recorded the event.
    Events recorded outside any trace (history, the CLI) are processed without a span."""
    parent = getattr(event, "trace_parent", None)
    if not enabled() or not parent:
        yield
        return
    name = f"{follower} {type(event).__qualname__}"
    attributes = {
        "ecovarejo.follower": follower,
        "ecovarejo.event": type(event).__qualname__,
        "ecovarejo.aggregate_id": str(event.originator_id),
        "ecovarejo.correlation_id": getattr(event, "correlation_id", ""),
    }
    with tracer().start_as_current_span(
        name, context=_parent_of(parent), kind=trace.SpanKind.CONSUMER, attributes=attributes
    ):
        yield


class TracedProjection:
    """Stands in for a runner's projection: the same object, with each event in a span."""

    def __init__(self, projection: Any):
        self._projection = projection
        # The saga is an Application too, whose `name` is the application's: use its class.
        named = "" if isinstance(projection, Application) else getattr(projection, "name", "")
        self._name = str(named or type(projection).__name__)

    def process_event(self, domain_event: Any, tracking: Any) -> None:
        with span_for_event(self._name, domain_event):
            self._projection.process_event(domain_event, tracking)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._projection, name)


def _traced_loop(subscription: Any, projection: Any, is_stopping: Any, runner: Any) -> None:
    # The library's runner loop (one place every follower passes through), with the
    # projection seen through TracedProjection.
    _state["loop"](subscription, TracedProjection(projection), is_stopping, runner)


class TracingMiddleware(dramatiq.Middleware):
    """Carries the sender's span in the message and runs the actor in a child span."""

    OPTION = "traceparent"

    def __init__(self) -> None:
        self._open: dict[str, tuple[Any, Any]] = {}

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        if enabled() and (parent := current_traceparent()):
            message.options[self.OPTION] = parent

    def before_process_message(self, broker: Any, message: Any) -> None:
        parent = message.options.get(self.OPTION)
        if not enabled() or not parent:
            return
        span = tracer().start_span(
            f"actor {message.actor_name}",
            context=_parent_of(parent),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.message.id": message.message_id,
                "ecovarejo.actor": message.actor_name,
                "ecovarejo.retries": message.options.get("retries", 0),
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        self._open[message.message_id] = (span, token)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        opened = self._open.pop(message.message_id, None)
        if opened is None:
            return
        span, token = opened
        if exception is not None:
            span.record_exception(exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exception).__name__))
        span.end()
        context.detach(token)

    after_skip_message = after_process_message


__all__ = [
    "SpanExporter",
    "TracedProjection",
    "TracingMiddleware",
    "enabled",
    "install",
    "span_for_event",
]
