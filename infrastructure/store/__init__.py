"""The write side in PostgreSQL: the event store and its recorder, the raw log for auditors, the
schema set-up (`ecovarejo migrate`), backups, the account store, and the in-memory store of the
fast tests."""
