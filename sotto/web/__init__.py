"""The web layer: pages, the JSON API, security middleware and request dependencies."""
