"""Deterministic seeders, one module per dataset."""
