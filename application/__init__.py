"""Use cases: the event-sourced application, the checkout saga and the ports they use."""
