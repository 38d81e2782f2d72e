"""Keys and encryption: the key store, envelope encryption and keyed hashes."""
