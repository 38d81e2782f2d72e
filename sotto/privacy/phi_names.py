"""Names of people, places and organisations: spaCy's entities, proper-noun shape, and context.

Clean text carries capitals; speech-recognition text does not, so it is first *truecased*:
every word the dictionary does not know as an everyday word gets a capital (``truecase``).
After that both kinds of text go through the same rules:

- spaCy's named entities (PERSON, GPE, LOC, FAC, ORG), less countries, states and the like;
- capitalised words that are not everyday words (or are, but stand where only a name can:
  "Hi, Hope.", "my sister Rose", "Dr. Pham"), typed by the words around them;
- organisation and place heads that extend a name ("Greendale Family Medicine", "Kessler Hall").

Names found by context alone live in ``phi_name_context``, places and businesses named in
everyday words in ``phi_places``, and the word lists they share in ``phi_name_words``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable

from sotto.privacy.found import Found
from sotto.privacy.phi_dates import MONTHS
from sotto.privacy.phi_name_context import SUBJECTS, names_in_context, spelled_out_names
from sotto.privacy.phi_name_words import (
    FORMAL_TITLES,
    FUNCTION_WORDS,
    GREETINGS,
    HEADS,
    ORG_HEADS,
    ORG_LEADS,
    PLACE_HEADS,
    RELATIONS,
    TITLES,
    end_without_possessive,
)
from sotto.privacy.phi_places import (
    HEAD_TAILS,
    extend_over_heads,
    gazetteer_places,
    head_before,
    headed_organisations,
    paired_firms,
)
from sotto.privacy.tokens import Token, tokenize
from sotto.privacy.vocabulary import Vocabulary, vocabulary

_PLACE_PREFIXES = {"mount", "mt", "lake", "fort", "port", "camp", "san", "santa", "los", "las", "el", "new", "north"}


_SAINTS = {"st", "saint"}


_LOCATION_LEADS = {"in", "from", "near", "outside", "around", "to", "past", "of", "into", "toward", "towards"}


_SPACY_LABELS = {"PERSON": "NAME", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION", "ORG": "ORG"}


def truecase(text: str, vocab: Vocabulary | None = None) -> str:
    """``text`` with a capital on every word that is not an everyday word, and on "i".

    Same length as ``text``, so offsets found in the result hold for the original.
    """
    vocab = vocab or vocabulary()
    chars = list(text)
    for token in tokenize(text):
        word = token.bare
        if word == "i" or (vocab.looks_like_name(word) and not word.isdigit()) or word in vocab.proper:
            chars[token.start] = chars[token.start].upper()
    return "".join(chars)


def find_names(text: str, tokens: list[Token], entities: Iterable[tuple[int, int, str]]) -> list[Found]:
    """Names, places and organisations in one turn.

    ``text`` is the turn as spaCy saw it (truecased when the original had no capitals);
    ``entities`` are spaCy's (start, end, label) for it.
    """
    vocab = vocabulary()
    found: list[Found] = []
    for start, end, label in entities:
        kind = _SPACY_LABELS.get(label)
        if kind:
            item = _spacy_entity(text, start, end, kind, vocab)
            if item:
                found.append(item)
    found += _proper_noun_runs(text, tokens, vocab)
    found += names_in_context(tokens, vocab)
    found += spelled_out_names(tokens)
    found += headed_organisations(tokens)
    found += paired_firms(tokens)
    found += gazetteer_places(tokens, vocab)
    return [_with_title(_with_o(f, tokens), tokens) for f in found if not _names_no_one(f, text, tokens, vocab)]


def _names_no_one(item: Found, text: str, tokens: list[Token], vocab: Vocabulary) -> bool:
    """Is this a state or a country of two words ("South Carolina"), or the second word of one ("north
    carolina", "new york")? One word alone may be a name too ("Jordan, you'll get ...")."""
    words = [t.bare for t in tokenize(text[item.start : item.end])]
    if len(words) > 1 and vocab.is_not_identifying(" ".join(words)):
        return True
    i = _first_token(tokens, item)
    if not i or tokens[i].end < item.end or tokens[i].breaks_before():
        return False
    return vocab.is_not_identifying(f"{tokens[i - 1].lower} {tokens[i].bare}")


def _first_token(tokens: list[Token], item: Found) -> int | None:
    """The index of the token ``item`` starts on (None when it starts inside a word)."""
    # Tokens come in text order: found by bisection, not by a scan (a long turn has thousands of findings).
    k = bisect_left(tokens, item.start, key=lambda t: t.start)
    return k if k < len(tokens) and tokens[k].start == item.start else None


def _with_o(item: Found, tokens: list[Token]) -> Found:
    """A surname with its "O'" written apart, as a recogniser writes it: "o connor", "O Malley"."""
    if item.kind != "NAME":
        return item
    i = _first_token(tokens, item)
    if not i or tokens[i].before.strip() or tokens[i - 1].lower != "o" or tokens[i - 1].text not in ("o", "O"):
        return item
    return Found(tokens[i - 1].start, item.end, item.kind, item.score)


def _with_title(item: Found, tokens: list[Token]) -> Found:
    """A name with the form of address said just before it: "Mr. Reyes", "doctor imogen farley"."""
    if item.kind != "NAME":
        return item
    i = _first_token(tokens, item)
    if not i or tokens[i].before.strip() not in ("", "."):
        return item
    title = tokens[i - 1]
    if title.lower not in FORMAL_TITLES or (title.lower == "miss" and not title.is_capitalised):
        return item
    return Found(title.start, item.end, item.kind, item.score)


def _spacy_entity(text: str, start: int, end: int, kind: str, vocab: Vocabulary) -> Found | None:
    span = text[start:end]
    # spaCy includes a leading "the" and a trailing "'s"; the identifier is what lies between.
    lead = re.match(r"(?i)(the|a|an|my|our|his|her|their|dr\.?|mr\.?|mrs\.?|ms\.?|miss|father|pastor)\s+", span)
    if lead:
        start += lead.end()
        span = text[start:end]
    if span.endswith(("'s", "’s")):
        end -= 2
        span = text[start:end]
    words = [t.bare for t in tokenize(span)]
    if not words or vocab.is_not_identifying(" ".join(words)):
        return None
    if all(vocab.is_not_identifying(w) or w in MONTHS for w in words):
        return None
    if all(w.isdigit() for w in words):
        return None
    if kind != "NAME" and all(vocab.is_common(w) for w in words) and not any(c.isupper() for c in span):
        return None
    if len(words) == 1 and words[0] in TITLES | RELATIONS | GREETINGS:
        return None
    return Found(start, end, kind, 0.85)


def _is_candidate(token: Token, vocab: Vocabulary) -> bool:
    """A word shaped like a proper noun: capitalised, not a title, a month or a weekday and the like."""
    word = token.bare
    if not token.is_capitalised or not word.isalpha() or word == "i" or len(word) < 2:
        return False
    if word in MONTHS or word in TITLES or vocab.is_not_identifying(word):
        return False
    if token.text.isupper() and len(word) > 1:
        return False  # capitals throughout ("EKG", "DEAR MAN") name a thing, not a person
    if not vocab.is_common(word):
        return True
    if ")" in token.before and word in _AFTER_A_STAGE_DIRECTION:
        return False  # "(pause) That was hard": a new sentence after the transcriber's note
    # An everyday word with a capital mid-sentence is a name ("you, Hope."), unless quoted.
    return not token.starts_sentence and "'" not in token.before and '"' not in token.before


def _proper_noun_runs(text: str, tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    found = []
    i = 0
    while i < len(tokens):
        if not _is_candidate(tokens[i], vocab) and not _is_saint(tokens, i):
            i += 1
            continue
        start = i
        end = i
        # Capitals before a name belong to it ("HMP Kelvinhaugh"), unless they name a thing of their own.
        prev = tokens[i - 1] if i > 0 else None
        if (
            prev
            and prev.text.isupper()
            and prev.text.isalpha()
            and len(prev.text) <= 4
            and not vocab.is_not_identifying(prev.bare)
        ) and not tokens[i].breaks_before():
            start = i - 1
        if _is_saint(tokens, i):
            end = i + 1
        while end + 1 < len(tokens) and _joins(tokens, end, vocab):
            end += 1
        if end == start and _opens_a_sentence_after_a_stage_direction(tokens[start], vocab):
            i = end + 1
            continue
        end = extend_over_heads(tokens, start, end)
        if _opening_word_of_a_named_firm(tokens, start, end, vocab):
            start -= 1
        kind, score = _type_of_run(tokens, start, end, vocab)
        head_first = head_before(tokens, start)
        if head_first:
            start, kind, score = start - 1, head_first, 0.9
        if kind == "NAME" and _first_name_before(tokens, start, vocab):
            start -= 1  # "mark halloran": an everyday word that is a first name, before a surname
        if kind and _two_people(tokens, start, end, vocab):
            # "in front of Ella and Josh": two names of their own, not one firm's ("Flour and Fig").
            found += [Found(tokens[k].start, end_without_possessive(tokens[k]), "NAME", score) for k in (start, end)]
        elif kind:
            found.append(Found(tokens[start].start, end_without_possessive(tokens[end]), kind, score))
        i = end + 1
    return found


def _two_people(tokens: list[Token], start: int, end: int, vocab: Vocabulary) -> bool:
    """Is the run two first names joined by "and" ("Ella and Josh")?"""
    return (
        end == start + 2
        and tokens[start + 1].lower == "and"
        and all(tokens[k].bare in vocab.first_names for k in (start, end))
    )


def _opening_word_of_a_named_firm(tokens: list[Token], start: int, end: int, vocab: Vocabulary) -> bool:
    """Is the everyday word that opens the sentence before a run the first word of the same name
    ("Lookout Valley Credit Union is ...", "Third Mainland Bridge was ...")? Only before a head, and not
    a word that opens sentences ("Then", "Yesterday", "Luckily")."""
    if start == 0 or end == start or tokens[end].lower not in HEADS:
        return False
    first = tokens[start - 1]
    word = first.lower
    if not (first.starts_sentence and first.is_capitalised and first.text.isalpha()) or tokens[start].breaks_before():
        return False
    if word in FUNCTION_WORDS or word in _SENTENCE_OPENERS or word.endswith("ly") or word in MONTHS:
        return False
    return not vocab.is_not_identifying(word)


#: Words that open a sentence before a name without being part of it.
_SENTENCE_OPENERS = {
    "yesterday", "today", "tonight", "tomorrow", "then", "now", "well", "okay", "ok", "so", "yeah", "yes",
    "no", "also", "anyway", "plus", "oh", "sure", "right", "because", "maybe", "sometimes", "last", "next",
    "every", "both", "even", "just", "like", "after", "before", "since", "when", "once", "still", "again",
    "all", "some", "any", "most", "many", "each", "either", "neither", "um", "uh", "hm", "hmm", "thanks",
    "thank", "hi", "hey", "sorry", "please", "poor", "dear", "good", "great", "nice", "honest", "whole",
    "our", "your", "their", "his", "her", "its", "this", "that", "these", "those", "there", "here", "where",
    "what", "which", "who", "how", "why", "if", "though", "although", "while", "until", "till", "whether",
    "not", "never", "always", "already", "apparently", "actually", "anyhow", "besides", "meanwhile",
    "instead", "otherwise", "luckily", "obviously", "basically", "mainly", "mostly", "especially", "except",
    "only", "another", "other", "same", "such", "new", "old", "big", "little", "dad", "mum", "mom", "mam",
    "did", "does", "do", "is", "was", "are", "were", "has", "had", "have", "will", "would", "can", "could",
    "should", "might", "must", "perhaps", "whereas", "first", "secondly", "finally", "later",
    "earlier", "soon", "recently", "lately", "sadly", "frankly", "apart", "according", "without",
    "with", "about", "around", "through", "over", "under", "between", "against", "during", "outside",
    "inside", "near", "behind", "beyond", "across", "along", "toward", "towards", "via", "per", "from",
    "into", "onto", "upon", "within", "throughout", "yep", "nah", "nope", "alright", "fine", "wow", "god",
    # An instruction: "Take Orchard Road home", "Call Harbour Dental tomorrow".
    "take", "go", "turn", "drive", "call", "ask", "try", "get", "tell", "meet", "visit", "head", "walk", "stop",
    "leave", "bring", "phone", "ring", "text", "email", "book", "see", "check", "join", "avoid", "skip", "use",
    "find", "look", "keep", "let", "make", "put", "give", "say", "pass", "cross", "follow", "pick", "drop",
}  # fmt: skip

#: Words that open a sentence after a transcriber's note ("(laughs) But", "(pause) When Jamie") and are no
#: part of a name; an everyday word that may be ("(laughs) Cape Town") is still read with the word after it.
_AFTER_A_STAGE_DIRECTION = FUNCTION_WORDS | GREETINGS | _SENTENCE_OPENERS


def _opens_a_sentence_after_a_stage_direction(token: Token, vocab: Vocabulary) -> bool:
    """An everyday word alone after a transcriber's note opens a sentence ("(pause) Noted.", "(laughs) Fair
    enough"), as it would after a full stop; a first name there is still a name ("(sighs) Ray called")."""
    return ")" in token.before and vocab.is_common(token.bare) and token.bare not in vocab.first_names


def _first_name_before(tokens: list[Token], start: int, vocab: Vocabulary) -> bool:
    if start == 0 or tokens[start].breaks_before():
        return False
    prev = tokens[start - 1]
    before = tokens[start - 2].lower if start >= 2 else ""
    return prev.bare in vocab.first_names and prev.lower not in FUNCTION_WORDS and before not in SUBJECTS


def _is_saint(tokens: list[Token], i: int) -> bool:
    if tokens[i].lower not in _SAINTS or i + 1 >= len(tokens) or (i > 0 and tokens[i - 1].lower == "a"):
        return False
    # Said aloud, a church, school or hospital named for a saint keeps its possessive: "saint bride's".
    return tokens[i + 1].is_capitalised or tokens[i + 1].lower.endswith("'s")


#: The speaker's own "I" ("I", "I'm", "I'd", "I've", "I'll").
_SPEAKER_I = re.compile(r"I(['’](m|d|ve|ll))?")


def _joins(tokens: list[Token], end: int, vocab: Vocabulary) -> bool:
    """Does the word after ``tokens[end]`` continue the same name ("Mark Halloran", "Birch & Bean")?"""
    nxt = tokens[end + 1]
    gap = nxt.before
    if _SPEAKER_I.fullmatch(nxt.text):
        return False  # "at Assiniboine College I did", "Mr. Forde I'm": the speaker, not a name's next word
    if gap == "-" and nxt.text.isalpha():
        return True  # a hyphenated name: "Min-jun", "Jean-Paul"
    if any(mark in gap for mark in ',.?!;:"()') and gap.strip() != "&":
        return False
    after_and = tokens[end + 2] if nxt.lower == "and" and end + 2 < len(tokens) else None
    if after_and is not None and _SPEAKER_I.fullmatch(after_and.text):
        return False  # "at Tarrant Mutual and I don't"
    if gap.strip() == "&" or (after_and is not None and after_and.is_capitalised):
        return nxt.is_capitalised or nxt.lower == "and"
    if tokens[end].lower == "and":
        return nxt.is_capitalised
    if nxt.is_capitalised and not vocab.is_not_identifying(nxt.bare) and nxt.bare not in MONTHS:
        return True
    return nxt.lower in HEADS and tokens[end].is_capitalised and not tokens[end].text.endswith("'s")


def _type_of_run(tokens: list[Token], start: int, end: int, vocab: Vocabulary) -> tuple[str | None, float]:
    """What a run of proper-noun-shaped words names, and how sure the evidence makes us."""
    words = [t.bare for t in tokens[start : end + 1]]
    lead = tokens[start - 1].lower if start > 0 else ""
    lead2 = tokens[start - 2].lower if start > 1 else ""
    if words[0] in _SAINTS:
        return "ORG", 0.9
    # The last head names the kind, not a word that completes it ("delgado's auto body").
    head = next((w for w in reversed(words) if w not in HEAD_TAILS), words[-1])
    if head in ORG_HEADS and len(words) > 1:
        return "ORG", 0.9
    if head in PLACE_HEADS and len(words) > 1:
        return "LOCATION", 0.9
    if words[0] in _PLACE_PREFIXES and len(words) > 1:
        return "LOCATION", 0.8
    if "and" in words or any("&" in t.before for t in tokens[start + 1 : end + 1]):
        return "ORG", 0.9
    if lead in TITLES or lead in RELATIONS or lead in GREETINGS:
        return "NAME", 0.9
    if lead in _LOCATION_LEADS and lead2 not in ("friend", "one", "some", "all", "most"):
        return "LOCATION", 0.75
    if lead in ORG_LEADS and lead2 in (
        "work",
        "works",
        "worked",
        "working",
        "job",
        "shift",
        "teach",
        "manager",
        "boss",
    ):
        return "ORG", 0.8
    if lead == "at":
        return "LOCATION", 0.7
    if len(words) == 1 and vocab.is_common(words[0]) and not tokens[start].is_capitalised:
        return None, 0.0
    return "NAME", 0.7
