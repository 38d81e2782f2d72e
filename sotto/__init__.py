"""Sotto: consent-first recording and AI review for psychotherapists."""

__version__ = "0.1.0"
