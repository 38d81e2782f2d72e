"""What the therapist reviews: a session's redacted transcript, stored encrypted, and its speaker labels."""
