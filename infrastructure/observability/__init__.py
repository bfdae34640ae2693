"""Observability: OpenTelemetry traces."""
