"""Practices, users, sign-in and web sessions."""
