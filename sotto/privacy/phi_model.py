"""Identifiers as the passage model reads them, beside the rules of the ``phi_*`` recognisers.

The rules need a cue: a capital, a title, a head word ("... distribution"), a lead ("at",
"from"). Speech-recognition text has no capitals, and people name their workplace, their town or
their friend without any cue ("still on the six till two shifts at tamebridge distribution",
"that was abuse joy and it was not your fault"). The passage model, trained once more on the
annotated transcripts with a second head, reads the whole session and gives every token the
probability of each identifier type (``passage_model.identifier_model``). Where that probability
is high, the words it covers are an identifier too; the rules' findings and these are merged, the
rules' type winning where they overlap.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sotto.privacy.found import Found, Stretches, merge
from sotto.privacy.passage_model import IDENTIFIER_OUTPUTS, Reading

#: The probability of an identifier (of any type) at or above which a token is taken for one.
#: Chosen on heldout/inv-401..420 and inv-801..820, clean and in speech-recognition style: the highest
#: identifier recall among 0.3 to 0.9 that adds no more than 0.005 of over-removal (0.4 and 0.3 find the
#: same there, 0.3 removes more). It takes identifier recall on inv-801..820 in speech-recognition style
#: from 0.957 (without it) to 0.997, on inv-401..420 from 0.981 to 0.993, adding 0.001 to 0.002 of
#: over-removal.
THRESHOLD = 0.4
#: A word between two taken words is taken with them at this fraction of the threshold ("the ship
#: and castle").
BRIDGE = 0.5
#: The score of what the model finds (its evidence is a probability, not a cue); where it overlaps a
#: rule's finding, ``joined`` gives it the rule's type.
SCORE = 0.6


def model_identifiers(reading: Reading, texts: list[str], threshold: float = THRESHOLD) -> list[list[Found]]:
    """For each turn, the stretches of words the model takes for identifiers, typed by its most
    probable type over them."""
    identifiers = reading.identifiers
    if identifiers is None:
        return [[] for _ in texts]
    found = []
    for turn, text in enumerate(texts):
        words = _words(reading, identifiers, turn, text)
        likely = np.array([1.0 - row[0] for _, _, row in words])
        taken = likely >= threshold
        # A weaker word between two taken ones joins them ("the ship and castle").
        if len(words) > 2:
            taken[1:-1] |= (likely[1:-1] >= threshold * BRIDGE) & taken[:-2] & taken[2:]
        found.append(_stretches(text, words, taken))
    return found


def joined(rules: list[Found], read: list[Found]) -> list[Found]:
    """A turn's findings by the rules and by the model as one list: where a stretch the model read
    overlaps a rule's finding, the rule's type holds for both (a rule has a cue for its type)."""
    retyped = []
    by_rules = Stretches(rules)
    for item in read:
        overlapping = by_rules.meeting(item.start, item.end)
        if overlapping:
            kind = max(overlapping, key=lambda r: r.end - r.start).kind
            item = Found(item.start, item.end, kind, item.score)
        retyped.append(item)
    return merge(rules + retyped)


#: What may stand between two pieces of one word: nothing, or a hyphen (ASCII, Unicode or non-breaking).
_JOINERS = ("", "-", "\u2010", "\u2011")


def _words(
    reading: Reading, identifiers: NDArray[np.float32], turn: int, text: str
) -> list[tuple[int, int, NDArray[np.float32]]]:
    """The turn's words (runs of letters and digits, and such runs joined by a hyphen), each with the
    probabilities of its most likely piece: the tokenizer reads a rare word in several pieces, and
    one sure piece makes the word sure. A hyphenated word is one word, so that it goes whole or not
    at all: the model sometimes takes one half ("ninety-two", "Kirkby-in-Ashfield"), and the half
    left behind would give the rest away."""
    first, last = reading.tokens_of(turn, 0, len(text))
    offset = reading.talk.starts[turn]
    words: list[tuple[int, int, NDArray[np.float32]]] = []
    for k in range(first, last):
        start, end = int(reading.token_starts[k]) - offset, int(reading.token_ends[k]) - offset
        if not any(ch.isalnum() for ch in text[start:end]):
            continue
        row = identifiers[k]
        if words and text[words[-1][1] : start] in _JOINERS:
            # A piece of the word before (nothing or a hyphen between them).
            word_start, _, best = words[-1]
            words[-1] = (word_start, end, best if best[0] <= row[0] else row)
        else:
            words.append((start, end, row))
    return words


def _stretches(text: str, words: list[tuple[int, int, NDArray[np.float32]]], taken: NDArray[np.bool_]) -> list[Found]:
    """Runs of taken words, each one finding typed by the type most probable over it. A run ends
    at a pause between two words (", ", ". "); characters between two words without a space keep
    them together ("k.lee@waves.com", "KPX-418")."""
    found: list[Found] = []
    run: list[tuple[int, int, NDArray[np.float32]]] = []
    for k, word in enumerate(words):
        if run and (not taken[k] or _pause(text[run[-1][1] : word[0]])):
            found.append(_finding(text, run))
            run = []
        if taken[k]:
            run.append(word)
    if run:
        found.append(_finding(text, run))
    return found


def _pause(between: str) -> bool:
    return any(ch.isspace() for ch in between) and not between.isspace()


def _finding(text: str, run: list[tuple[int, int, NDArray[np.float32]]]) -> Found:
    types = np.sum([row[1:] for _, _, row in run], axis=0)
    start, end = run[0][0], run[-1][1]
    if text[start:end].lower().endswith(("'s", "’s")):
        end -= 2
    return Found(start, end, IDENTIFIER_OUTPUTS[1 + int(np.argmax(types))], SCORE)
