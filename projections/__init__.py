"""Projectors and read-model schemas. They depend on the domain's events only."""
