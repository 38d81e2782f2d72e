"""Sessions, consent-gated recording and upload, playback and retention."""
