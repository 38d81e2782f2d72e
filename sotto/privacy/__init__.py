"""Identifier (PHI) removal and sensitive-topic removal, run before any transcript is stored."""
