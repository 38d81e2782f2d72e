"""Background jobs: a durable queue table and the workers that drain it."""
