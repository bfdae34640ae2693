"""Carrier adapters behind application/carriers.py."""
