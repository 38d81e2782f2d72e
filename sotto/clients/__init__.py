"""Clients, known to Sotto only by a therapist-chosen pseudonym."""
