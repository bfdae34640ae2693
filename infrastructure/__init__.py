"""Outbound adapters and wiring: settings, event store, Redis, search, broker, gateways."""
