"""Gateways to the services outside: payment providers (payments/), carriers, fiscal providers,
settlement reports, e-mail and notifications, object stores, the integration-event publisher."""
