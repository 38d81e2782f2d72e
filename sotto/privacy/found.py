"""What a recogniser reports: a stretch of one turn's text and the identifier type it holds."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Generic, Protocol, TypeVar

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


class Ranged(Protocol):
    """Anything that lies at characters ``start:end`` of a turn (a ``Found``, a ``Span``)."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


R = TypeVar("R", bound=Ranged)


class Stretches(Generic[R]):
    """Findings (or any ``start``/``end`` ranges) indexed so that asking which of them meet a range takes a
    bisection, not a scan: a very long turn has thousands of findings, and a scan for each of them grows
    with the square of the turn's length."""

    def __init__(self, items: Sequence[R]) -> None:
        self._items = items
        self._order = sorted(range(len(items)), key=lambda k: items[k].start)
        self._starts = [items[k].start for k in self._order]
        ends = [items[k].end for k in self._order]
        self._ends = ends
        #: The furthest end among the first k items by start.
        self._reach = list(accumulate(ends, max))
        #: Merged findings (``merge``) end in the order they start; then the ones meeting a range are a run.
        self._ends_in_order = all(a <= b for a, b in pairwise(ends))

    def hold(self, start: int, end: int) -> bool:
        """Whether one of the items holds all of ``start:end``."""
        k = bisect_right(self._starts, start)
        return k > 0 and self._reach[k - 1] >= end

    def meet(self, start: int, end: int) -> bool:
        """Whether one of the items overlaps ``start:end``."""
        k = bisect_left(self._starts, end)
        return k > 0 and self._reach[k - 1] > start

    def meeting(self, start: int, end: int) -> list[R]:
        """The items that overlap ``start:end``, in the order they were given."""
        k = bisect_left(self._starts, end)
        if self._ends_in_order:
            hits = self._order[bisect_right(self._ends, start, 0, k) : k]
        else:
            hits = [i for i in self._order[:k] if self._items[i].end > start]
        return [self._items[i] for i in sorted(hits)]
