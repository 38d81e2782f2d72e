"""A finished transcript as people and programs read it: plain text, or a JSON-ready dict."""

from __future__ import annotations

from typing import Any

from sotto.pipeline.types import Transcript


def removed_counts(transcript: Transcript) -> dict[str, dict[str, int]]:
    """How much was removed, by category ("phi", "topic") and then by type ("NAME", "TRAUMA", ...)."""
    counts: dict[str, dict[str, int]] = {"phi": {}, "topic": {}}
    for span in transcript.spans:
        by_kind = counts.setdefault(span.category, {})
        by_kind[span.kind] = by_kind.get(span.kind, 0) + 1
    return counts


def as_dict(transcript: Transcript, *, timings: dict[str, float] | None = None) -> dict[str, Any]:
    """{"duration", "segments": [{"start", "end", "speaker", "text"}], "removed", "timings"}."""
    result: dict[str, Any] = {
        "duration": round(transcript.duration, 3),
        "segments": [
            {"start": round(s.start, 2), "end": round(s.end, 2), "speaker": s.speaker, "text": s.text}
            for s in transcript.segments
        ],
        "removed": removed_counts(transcript),
    }
    if timings is not None:
        result["timings"] = {name: round(seconds, 3) for name, seconds in timings.items()}
    return result


def as_text(transcript: Transcript) -> str:
    """One line per segment: "[00:01:05] therapist: ..."."""
    return "\n".join(f"[{_clock(s.start)}] {s.speaker}: {s.text}" for s in transcript.segments)


def removal_note(transcript: Transcript) -> str:
    """What was taken out, in words, as the redaction was set when the session was processed;
    empty when that is not known (the transcript was stored before Sotto kept it)."""
    removal = transcript.removal
    if removal is None:
        return ""
    if removal.identifiers and removal.topics:
        return "identifying details and sensitive passages removed"
    if removal.identifiers:
        return "identifying details removed; the practice does not remove sensitive passages"
    if removal.topics:
        return "sensitive passages removed; the practice does not remove identifying details"
    return "nothing removed: the practice had automatic removal turned off"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
