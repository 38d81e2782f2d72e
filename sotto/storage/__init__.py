"""Blob storage: a small store protocol, the local-directory store, and encrypted objects on top."""
