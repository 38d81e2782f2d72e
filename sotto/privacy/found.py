"""What a recogniser reports: a stretch of one turn's text and the identifier type it holds."""

from __future__ import annotations

from dataclasses import dataclass

#: The identifier types of FORMAT.md.
PHI_KINDS = ("NAME", "AGE", "DATE", "LOCATION", "ORG", "CONTACT", "ID")

#: Which type wins when two findings overlap: the more specific pattern over the broader guess.
PRIORITY = {"CONTACT": 7, "ID": 6, "DATE": 5, "AGE": 4, "LOCATION": 3, "ORG": 2, "NAME": 1}


@dataclass(frozen=True)
class Found:
    """Characters ``start:end`` of a turn's text hold an identifier of type ``kind``."""

    start: int
    end: int
    kind: str
    score: float = 0.85


def merge(found: list[Found]) -> list[Found]:
    """Overlapping or touching findings joined into one, typed by the most specific among them."""
    merged: list[Found] = []
    for item in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and item.start < merged[-1].end:
            last = merged[-1]
            kind = _winner(last, item)
            merged[-1] = Found(last.start, max(last.end, item.end), kind, max(last.score, item.score))
        else:
            merged.append(item)
    return merged


_NAMES = {"NAME", "LOCATION", "ORG"}


def _winner(a: Found, b: Found) -> str:
    if a.kind in _NAMES and b.kind in _NAMES and a.score != b.score:
        # Among names, trust the finding with the clearer evidence (an organisation head, a title).
        return a.kind if a.score > b.score else b.kind
    return a.kind if PRIORITY[a.kind] >= PRIORITY[b.kind] else b.kind
