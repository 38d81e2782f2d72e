"""Follow a disclosure across turns by the shape of the conversation, not by its words.

Once someone has disclosed something, the turns that keep to it often carry no cue of their
own: a question about it between two parts of the disclosure ("What did you do when that
happened this week?"), or a short answer to a question about it ("I was seven."). These rules
look only at which turns are already marked, who speaks, and the turns' form and length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Words a question between two marked turns may have and still be part of the disclosure.
BRIDGE_WORDS = 30


_COMMON = frozenset(
    [
        "about", "after", "again", "also", "always", "been", "before", "being", "could", "does", "doing", "don't",
        "going", "have", "here", "just", "know", "like", "little", "made", "make", "maybe", "more", "much", "never",
        "over", "really", "right", "said", "same", "some", "something", "still", "than", "that", "that's", "them",
        "then", "there", "they", "thing", "things", "think", "this", "those", "time", "today", "want", "well",
        "were", "what", "when", "where", "which", "while", "will", "with", "would", "your", "you're", "yeah",
        "okay", "feel", "feeling", "felt", "tell", "told",
    ]
)  # fmt: skip


def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that say what it is about: four letters or more, not common ones."""
    words = (w.strip(".,!?;:\"'()").lower() for w in text.split())
    return frozenset(w for w in words if len(w) >= 4 and w not in _COMMON)


_REFERS_BACK = re.compile(r"\b(when|since|after|before) (that|it|this) happened\b|\b(a|an|the) \w+ like that\b")


def refers_back(text: str) -> bool:
    """Whether ``text`` points back at an event just told ("when that happened", "a night like that")."""
    return bool(_REFERS_BACK.search(text.lower()))


@dataclass(frozen=True)
class TurnShape:
    """What the thread rules need of a turn: its marked category (if any part is marked), form, size."""

    category: str | None
    #: Whether the turn holds a cue (strong or weak) of the category of the turn before it.
    cued: bool
    #: The turn's content words (lower case, no common words), to tell what it is about.
    content: frozenset[str]
    #: Whether it points back at an event ("when that happened", "a letter like that").
    refers_back: bool
    question: bool
    words: int
    speaker: str


def bridging_questions(shapes: list[TurnShape]) -> dict[int, str]:
    """Unmarked short questions asked between two turns marked on one category, by someone else.

    "I called my old guy" - "What did you do when that happened?" - "I called my sponsor": the
    question keeps the disclosure going, so it is part of it.
    """
    found: dict[int, str] = {}
    for t in range(1, len(shapes) - 1):
        before, here, after = shapes[t - 1], shapes[t], shapes[t + 1]
        if here.category or not here.question or here.words > BRIDGE_WORDS:
            continue
        if not before.category or before.category != after.category:
            continue
        if here.speaker and (here.speaker == before.speaker or here.speaker == after.speaker):
            continue
        # A question about the disclosure names it, by a cue or by a word from it ("a letter like
        # that"); a bare prompt ("And now?", "How did it go?") may be about anything.
        earlier = shapes[t - 2].content if t > 1 and shapes[t - 2].category == before.category else frozenset()
        if not here.cued and not here.refers_back and not here.content & (before.content | earlier):
            continue
        found[t] = before.category
    return found
