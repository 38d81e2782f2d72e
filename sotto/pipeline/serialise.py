"""A transcript to and from bytes, losslessly, for storing it (encrypted) once it is redacted.

data = dump_transcript(transcript)
assert load_transcript(data) == transcript
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sotto.pipeline.types import Removal, Segment, Span, Transcript, Word

FORMAT = 1


def dump_transcript(transcript: Transcript) -> bytes:
    return json.dumps({"format": FORMAT, **asdict(transcript)}, separators=(",", ":")).encode("utf-8")


def load_transcript(data: bytes) -> Transcript:
    """Raise ValueError when the bytes are not a stored transcript of a format this code reads."""
    try:
        raw: dict[str, Any] = json.loads(data)
        if raw.get("format") != FORMAT:
            raise ValueError(f"unknown transcript format {raw.get('format')!r}")
        return Transcript(
            duration=float(raw["duration"]),
            language=str(raw.get("language", "en")),
            segments=[
                Segment(
                    start=s["start"],
                    end=s["end"],
                    text=s["text"],
                    speaker=s["speaker"],
                    channel=s["channel"],
                    words=[Word(**w) for w in s["words"]],
                )
                for s in raw["segments"]
            ],
            spans=[Span(**s) for s in raw["spans"]],
            removal=Removal(**raw["removal"]) if raw.get("removal") is not None else None,
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError("not a stored transcript") from exc
