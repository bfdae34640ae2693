"""Fiscal provider adapters behind application/fiscal.py."""
