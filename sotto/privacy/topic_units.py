"""A turn cut into the units the topic rules decide on, and the cues each unit holds.

A unit is a sentence, or in speech-recognition text (no sentence marks) a clause cut by guesswork
(``tokens.clauses``). Cues of ``topic_lexicon`` are matched over the whole turn, after look-alikes
and hesitations are blanked, and counted for the unit where they start. ``topics`` decides from
there which units are a passage.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from sotto.privacy.tokens import clauses, is_unpunctuated, sentences
from sotto.privacy.topic_lexicon import (
    FOLLOW_UP_PATTERNS,
    LOOKALIKE_PATTERNS,
    REFLECTION_PATTERNS,
    STRONG_PATTERNS,
    WEAK_PATTERNS,
)

_WORD = re.compile(r"[\w']+")
#: How a therapist moves the session on ("Before we finish, ..."): the topic so far stops being active,
#: and the turn is not taken into a disclosure that follows it by the hints it holds.
TRANSITION = re.compile(
    r"(before we (finish|stop|end|wrap)|let'?s (talk about|move|switch|turn to|leave|look at|update|practi[cs]e"
    r"|go back to|spend)|for (this|next) week|(i'?d|i would) like to (suggest|move|switch|turn|ask about|go back)"
    r"|(on|to) (a|another) (different )?(note|topic|subject)|chang(e|ing) (the )?subject|moving on)\b"
)


@dataclass
class Unit:
    """A sentence of a turn (a guessed clause in unpunctuated text): where it lies, its cues, and what the
    rules have decided about it so far."""

    start: int
    end: int
    words: int
    strong: dict[str, int]
    weak: dict[str, int]
    question: bool = False
    follows_up: bool = False
    reflects: bool = False
    #: Opens with a move to something else ("Let's talk about", "Before we finish").
    moves_on: bool = False
    unpunctuated: bool = False
    category: str | None = None
    by_cue: bool = False
    #: Which weak cue patterns (category, index) matched in the unit, to count distinct ones per turn.
    weak_cues: set[tuple[str, int]] = field(default_factory=set)
    #: Every cue matched in the unit, as (category, start, end) in the turn.
    cues: list[tuple[str, int, int]] = field(default_factory=list)
    #: Marked because the turn continues a disclosure (a follow-up or an answer), not by its own cues.
    carried: bool = False
    #: Marked only by a weak cue of a topic the speaker disclosed earlier in the session.
    remembered: bool = False


def units_of(text: str, categories: frozenset[str]) -> list[Unit]:
    """The units of a turn with the cues of ``categories`` each holds; nothing is decided yet."""
    unpunctuated = is_unpunctuated(text)
    ranges = clauses(text) if unpunctuated else sentences(text)
    lowered = _blank_lookalikes(text.lower().replace("’", "'"))
    units = [
        Unit(
            start,
            end,
            len(_WORD.findall(text[start:end])),
            {},
            {},
            _is_question(text[start:end]),
            unpunctuated=unpunctuated,
        )
        for start, end in ranges
    ]
    if not units:
        return units
    # Cues are matched on the whole turn, so a phrase across a guessed clause cut still counts,
    # for the unit where it starts.
    # In a fixed order: the order cues are counted in breaks ties between categories, and a set's order
    # changes from one run to the next.
    ends = [unit.end for unit in units]
    for category in sorted(categories):
        for kind, patterns in (("strong", STRONG_PATTERNS[category]), ("weak", WEAK_PATTERNS[category])):
            for number, pattern in enumerate(patterns):
                seen: set[int] = set()
                for match in pattern.finditer(lowered):
                    index = _unit_at(ends, match.start())
                    units[index].cues.append((category, match.start(), match.end()))
                    if index not in seen:
                        seen.add(index)
                        counts = units[index].strong if kind == "strong" else units[index].weak
                        counts[category] = counts.get(category, 0) + 1
                        if kind == "weak":
                            units[index].weak_cues.add((category, number))
    for unit in units:
        piece = lowered[unit.start : unit.end]
        unit.follows_up = any(p.search(piece) for p in FOLLOW_UP_PATTERNS)
        unit.reflects = unit.follows_up or any(p.search(piece) for p in REFLECTION_PATTERNS)
        unit.moves_on = bool(TRANSITION.match(piece.lstrip(" \"'“(")))
    return units


def _unit_at(ends: list[int], position: int) -> int:
    """The unit that ``position`` falls in (the last one past the end), given the units' ends in order:
    by bisection, since a long unpunctuated turn has thousands of clauses and as many cues."""
    return min(bisect_right(ends, position), len(ends) - 1)


_QUESTION_OPENERS = re.compile(
    r"\b(how|what|when|where|why|who|which|do|does|did|have|has|had|are|is|was|were|can|could|would|will)"
    r" (you|your|he|she|they|it|that|the|things|anything|anyone|there)\b"
)


def _is_question(sentence: str) -> bool:
    """Ends with a question mark, or (without punctuation) its last clause opens like a question."""
    stripped = sentence.rstrip().rstrip("\"'”)")
    if stripped.endswith("?"):
        return True
    if is_unpunctuated(sentence):
        tail = " ".join(sentence.split()[-14:])
        return bool(_QUESTION_OPENERS.search(tail))
    return False


_HESITATIONS = re.compile(r"(?<![\w'])(um+|uh+|uhm|erm|er|hmm+|mm+)(?![\w'])")


def _blank_lookalikes(text: str) -> str:
    # Hesitations fall inside cue phrases in speech ("somebody else um deciding"), so they are blanked too.
    text = _HESITATIONS.sub(lambda m: " " * len(m.group()), text)
    for pattern in LOOKALIKE_PATTERNS:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text
