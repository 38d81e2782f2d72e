"""Outgoing mail: backends chosen by settings and a persistent outbox with retries."""
