"""The processing pipeline: decode, transcribe, speakers, identifier and topic removal, insights."""
