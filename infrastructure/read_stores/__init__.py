"""The read side's stores: Redis documents (one key layout, generations, the position written with
the documents), the product search index (PostgreSQL or Elasticsearch), and operating them
(status, rebuilds, parked events)."""
