"""Inbound adapters: the FastAPI app and the `ecovarejo` CLI."""
