"""Bound a disclosure inside a long unpunctuated turn by windows of words around its cues.

Speech-recognition text has no sentence marks, so a clause guessed by word count is a loose
hold: taking every guessed clause that holds a cue, or the whole turn once a share of it is
marked, removes much of what was said around a disclosure ("call my sponsor ... go for a run
along the river"). Here each cue gets a window that reaches back to where its clause plausibly
starts and on to where the next one does, a boundary being a discourse marker ("but", "so",
"anyway", "and then", "you know", "okay"), a question opener ("how", "would you") or a
subject pronoun with its verb ("she told", "i'm"). Windows close together join; a turn whose
windows cover most of it is taken whole.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

#: How far a window may reach for a boundary before and after its cue, in words.
BACK_WORDS = 20
AHEAD_WORDS = 14
#: Words a window keeps after its cue before it may stop at a boundary.
MIN_AFTER = 9
#: Windows this many words apart or closer join, and so do leftovers this short at a turn's ends.
GAP_WORDS = 8
#: A turn whose windows cover this share of its words is removed whole. Lowered from 0.45, chosen on the
#: speech-recognition copies of inv-1901..1996 (passage recall 0.772 -> 0.788 for over-removal 0.150 -> 0.152)
#: and the shared dev set (over-removal 0.029 -> 0.033, recall unchanged): a disclosure told in a long
#: unpunctuated turn more often runs past its windows than stops where they do. Lower still (0.3, or taking every
#: such turn whole) finds a little more there for twice the over-removal on dev.
DENSE_SHARE = 0.35

_WORD = re.compile(r"[\w']+")
#: Discourse markers that open a clause. Hesitations ("um", "uh") do not: in raw speech-recognition text
#: they fall anywhere, mid-clause as often as not.
_MARKERS = frozenset(["but", "so", "anyway", "okay", "because", "actually", "honestly", "well"])
_PAIRS = frozenset([("and", "then"), ("you", "know"), ("and", "so"), ("and", "now")])
_SUBJECTS = frozenset(["i", "he", "she", "we", "they", "you"])
_SUBJECT_VERBS = frozenset(
    ["i'm", "i've", "i'd", "i'll", "he's", "she's", "we're", "we've", "we'll", "they're", "you're", "you'll", "let's"]
)
_JOINERS = frozenset(["and", "if", "but", "so", "because", "then", "when", "since", "cause"])
_QUESTIONS = frozenset(["how", "what", "why", "where", "when"])
#: Words that, after a subject pronoun, show it is not the start of a clause ("he and i", "you or me").
_NOT_VERBS = frozenset(["and", "or", "know", "guys", "two", "both", "all"])


#: Words after which a pronoun is an object, not the start of a clause ("told you", "with them").
_OBJECT_TAKERS = frozenset(
    ["to", "for", "with", "at", "about", "than", "like", "told", "tell", "ask", "asked", "let", "that"]
)


@dataclass(frozen=True)
class Cue:
    """A cue of ``category`` at characters ``start:end`` of a turn."""

    category: str
    start: int
    end: int


def _boundaries(words: list[str]) -> set[int]:
    """Word indexes where a new clause plausibly starts (index 0 and the end always do)."""
    found = {0, len(words)}
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _MARKERS or word in _SUBJECT_VERBS or (word, following) in _PAIRS:
            found.add(i)
        elif word in _SUBJECTS and following and following not in _NOT_VERBS and following not in _SUBJECTS:
            # "i called", "she said": but not "for you", which a preposition before it gives away.
            if i == 0 or words[i - 1] not in _OBJECT_TAKERS:
                found.add(i)
        elif word in _QUESTIONS or (word in ("would", "do", "did", "can", "could") and following == "you"):
            found.add(i)
    return found


def cue_windows(text: str, cues: list[Cue]) -> list[tuple[int, int, str]] | None:
    """Character ranges (with their category) of the windows around ``cues``, or None to take the turn whole."""
    matches = list(_WORD.finditer(text))
    if not matches or not cues:
        return None
    words = [m.group().lower().replace("’", "'") for m in matches]
    bounds = sorted(_boundaries(words))
    # Words and boundaries are in text order: each cue's are found by bisection, not by a scan of the turn
    # (a long turn has as many cues as it has words, give or take).
    word_starts, word_ends = [m.start() for m in matches], [m.end() for m in matches]
    windows: list[tuple[int, int, str]] = []
    for cue in cues:
        first = min(bisect_right(word_ends, cue.start), len(matches) - 1)
        last = max(first, bisect_left(word_starts, cue.end) - 1)
        before = bisect_right(bounds, first) - 1  # the nearest boundary at or before the cue's first word
        start = bounds[before] if before >= 0 and first - bounds[before] <= BACK_WORDS else max(0, first - BACK_WORDS)
        # A joining word before the clause goes with it ("and if i drove him to his meetings").
        while start > 0 and words[start - 1] in _JOINERS:
            start -= 1
        after = bisect_right(bounds, last + MIN_AFTER)  # the nearest boundary past the words kept after the cue
        if after < len(bounds) and bounds[after] - last <= AHEAD_WORDS:
            end = bounds[after]
        else:
            end = min(len(words), last + 1 + AHEAD_WORDS)
        # ... and one at its end belongs to the next clause ("to me | and we found").
        while end - 1 > last and words[end - 1] in _JOINERS:
            end -= 1
        windows.append((start, max(end, min(len(words), last + 1)), cue.category))
    windows.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, category in windows:
        if merged and start - merged[-1][1] <= GAP_WORDS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), merged[-1][2])
        else:
            merged.append((start, end, category))
    if merged[0][0] <= GAP_WORDS:
        merged[0] = (0, merged[0][1], merged[0][2])
    if len(words) - merged[-1][1] <= GAP_WORDS:
        merged[-1] = (merged[-1][0], len(words), merged[-1][2])
    covered = sum(end - start for start, end, _ in merged)
    if covered >= DENSE_SHARE * len(words):
        return None
    return [(matches[s].start(), matches[e - 1].end(), c) for s, e, c in merged]
