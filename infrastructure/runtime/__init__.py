"""What runs: the embedded PostgreSQL and Redis, the data dir's permissions, the dramatiq actors,
the follower registry, the one feed per worker, the supervised runners and the life cycle of a
process's background work."""
