"""Configuration of the public integration events (docs/integration-events.md). Mixed
into the one `Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class IntegrationEventSettings(BaseModel):
    # The RabbitMQ the public events go to (amqp:// or amqps://). Unset: no publisher runs
    # and nothing is published; the events stay in the log, and a publisher started later
    # begins from the first event (consumers catch up).
    events_url: str | None = Field(default=None, validation_alias="ECOVAREJO_EVENTS_URL")
    # The topic exchange (durable) the events are published to, routing key = event type.
    events_exchange: str = Field(
        default="ecovarejo.events", min_length=1, validation_alias="ECOVAREJO_EVENTS_EXCHANGE"
    )

    @field_validator("events_url")
    @classmethod
    def _amqp_only(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("amqp://", "amqps://")):
            raise ValueError("ECOVAREJO_EVENTS_URL must be an amqp:// or amqps:// URL")
        return value
