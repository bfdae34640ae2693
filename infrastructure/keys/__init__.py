"""Keys: per-subject data keys, the master key and its wrappers (local or Vault Transit), our
token-signing keys, the erasure ledger, and what must travel with a backup."""
