"""Carry a name found once to every other mention of it in the session.

A name is often clear in one turn ("my sponsor, Lorraine") and bare in another ("Lorraine
says ..."), and in speech-recognition text the clear turn may be the only one with enough
context. Once found, the same word elsewhere in the session is the same identifier, with two
exceptions: an everyday word ("Hope", "Will") is carried only to capitalised mid-sentence
mentions, never to lower-case text, and a word that is also a country or state ("Georgia",
"Jordan") is not carried to "to/in/from Georgia".

In lower-case text, a first name joined by "and" to a name found in the same turn is taken for a
name too ("our friends tom and aroha").
"""

from __future__ import annotations

import re
from bisect import bisect_left

from sotto.privacy.found import Found, Stretches, merge
from sotto.privacy.phi_dates import WEEKDAYS
from sotto.privacy.phi_name_words import FUNCTION_WORDS
from sotto.privacy.tokens import Token, tokenize
from sotto.privacy.vocabulary import Vocabulary, vocabulary

_NAME_KINDS = ("NAME", "LOCATION", "ORG")
_PLACE_LEADS = {"to", "in", "from", "of", "into", "visit", "visiting", "near", "across", "around"}


def propagate_names(texts: list[str], found: list[list[Found]]) -> list[list[Found]]:
    """``found`` plus every further mention, in any turn, of a name found somewhere in the session."""
    vocab = vocabulary()
    words: dict[str, str] = {}
    phrases: dict[str, str] = {}
    for text, items in zip(texts, found, strict=True):
        for item in items:
            if item.kind not in _NAME_KINDS:
                continue
            span_tokens = tokenize(text[item.start : item.end])
            if item.kind == "NAME":
                for token in span_tokens:
                    # "and" in "Flour and Fig" is no name of its own to carry.
                    if len(token.bare) >= 2 and token.bare.isalpha() and token.bare not in FUNCTION_WORDS:
                        words.setdefault(token.bare, "NAME")
            elif len(span_tokens) > 1:
                phrases.setdefault(" ".join(t.bare for t in span_tokens), item.kind)
            elif span_tokens and len(span_tokens[0].bare) >= 3:
                words.setdefault(span_tokens[0].bare, item.kind)
    for word in _names_by_usage(texts, vocab):
        words.setdefault(word, "NAME")
    if not words and not phrases:
        return found
    result = []
    for text, items in zip(texts, found, strict=True):
        tokens = tokenize(text)
        named = _named_positions(tokens, items)
        extra = _word_mentions(text, tokens, words, vocab, named) + _paired_names(tokens, named, vocab)
        extra += _phrase_mentions(text, phrases)
        covering = Stretches(items)
        result.append(merge(items + [f for f in extra if not covering.hold(f.start, f.end)]) if extra else items)
    return result


def _named_positions(tokens: list[Token], items: list[Found]) -> set[int]:
    """The indices of the tokens that a name found in the turn covers."""
    starts = [t.start for t in tokens]
    named: set[int] = set()
    for name in (f for f in items if f.kind == "NAME"):
        # Tokens come in text order, so those inside a name are a run from its first: no scan of the turn.
        k = bisect_left(starts, name.start)
        while k < len(tokens) and tokens[k].end <= name.end:
            named.add(k)
            k += 1
    return named


def _word_mentions(
    text: str, tokens: list[Token], words: dict[str, str], vocab: Vocabulary, named: set[int]
) -> list[Found]:
    lowercase_text = not any(ch.isupper() for ch in text)
    out = []
    for i, token in enumerate(tokens):
        kind = words.get(token.bare)
        if not kind:
            continue
        doubtful = vocab.is_common(token.bare) and (lowercase_text or not token.is_capitalised or token.starts_sentence)
        # Without capitals (or with only a sentence's), an everyday word known as a name goes only
        # where a name stands: "bill always did", "Clement doesn't touch the stuff".
        slot_decides = kind == "NAME" and (lowercase_text or _opens_sentence_as_name(tokens, i, vocab))
        # A known name beside another name is one of the people named ("um amir hollie where would you").
        beside_a_name = (
            kind == "NAME"
            and (lowercase_text or token.is_capitalised)
            and token.bare not in _MODALS
            and not token.lower.endswith("'s")
            and bool({i - 1, i + 1} & named)
        )
        if doubtful and not beside_a_name and not (slot_decides and _in_a_name_slot(tokens, i)):
            continue
        if vocab.is_not_identifying(token.bare) and i > 0 and tokens[i - 1].lower in _PLACE_LEADS:
            continue
        end = token.end - 2 if token.lower.endswith("'s") else token.end
        out.append(Found(token.start, end, kind, 0.6))
    return out


def _paired_names(tokens: list[Token], named: set[int], vocab: Vocabulary) -> list[Found]:
    """In lower-case text, a first name joined by "and" to a name found in the turn: "tom and aroha",
    "priya and grace came". (With capitals, such a name is found by its capital.)"""
    if any(t.is_capitalised for t in tokens):
        return []
    out = []
    for i, token in enumerate(tokens):
        if i in named or token.bare not in vocab.first_names or token.bare in _NEVER_A_PAIRED_NAME:
            continue
        if token.lower.endswith("'s"):  # an owner ("tom's car"), not one of a pair
            continue
        nxt = tokens[i + 1].lower if i + 1 < len(tokens) else ""
        before_a_name = nxt == "and" and i + 2 in named and not tokens[i + 1].breaks_before()
        after_a_name = i >= 2 and tokens[i - 1].lower == "and" and i - 2 in named and not token.breaks_before()
        if before_a_name or (after_a_name and nxt not in _NOT_BEFORE_A_NAME):
            out.append(Found(token.start, token.end, "NAME", 0.6))
    return out


def _opens_sentence_as_name(tokens: list[Token], i: int, vocab: Vocabulary) -> bool:
    """Could a capitalised first name be the subject here, not a question's verb ("Will you ...?")?"""
    token = tokens[i]
    nxt = tokens[i + 1].lower if i + 1 < len(tokens) else ""
    return token.is_capitalised and token.bare in vocab.first_names and nxt not in _PRONOUNS


_PRONOUNS = {"i", "you", "we", "he", "she", "they", "it", "there", "that", "this"}


#: First names that are also the verb after a name ("mark will be there", "Dana may come").
_MODALS = {"will", "may", "can", "might", "must"}
_NEVER_A_PAIRED_NAME = FUNCTION_WORDS | _MODALS


#: Words after which an everyday word is that word, not a name ("the bill", "i drew", "you will").
_NOT_BEFORE_A_NAME = {
    "the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "our", "their", "its",
    "i", "you", "he", "she", "we", "they", "it", "who", "which", "there", "what", "some", "any", "no",
    "every", "each", "one", "of", "free", "good", "own", "first", "last", "next", "whole", "electric",
    "phone", "gas", "water", "more", "less", "much", "such", "than", "as", "i'll", "you'll", "we'll",
    "everyone", "everybody", "someone", "somebody", "anyone", "anybody", "nobody", "or",
}  # fmt: skip
#: Words that follow a person's name as the subject or the one addressed ("bill always did", "will you").
_AFTER_A_NAME = {
    "said", "says", "told", "tells", "asked", "asks", "called", "calls", "texted", "thinks", "wants", "wanted",
    "knows", "knew", "came", "comes", "went", "goes", "was", "is", "has", "had", "does", "did", "and",
    "laughed", "cried", "left", "died", "gets", "got", "would", "could", "always", "never", "just", "really",
    "still", "used", "you", "you're", "you'll", "your", "i", "i'm", "before", "keeps", "kept", "can't",
    "won't", "didn't", "doesn't", "wasn't", "isn't", "can", "know", "feels", "needs", "are", "do",
    "what", "how", "anything", "she's", "he's",
    # What a person does, said of them by name ("poppy set me up on the tablet", "poppy made me an e-mail").
    "made", "makes", "set", "gave", "gives", "brought", "brings", "took", "takes", "drove", "drives", "rang",
    "rings", "phoned", "picked", "helped", "helps", "showed", "bought", "sent", "sends", "loves", "likes",
    "reckons", "moved", "lives", "lived", "stayed", "met", "paid", "walked", "tried", "tries", "seems",
    "wrote", "writes", "shouted", "yelled", "smiled", "nodded", "hugged", "offered", "promised", "turned",
}  # fmt: skip
#: Words after which the next is the person asked about or asked to do something ("does rob know",
#: "asking rob to hold onto them").
_BEFORE_A_PERSON = {
    "does", "did", "doesn't", "didn't", "asking", "ask", "asked", "tell", "told", "telling", "hearing", "heard",
    "watching", "watched", "seeing",
}  # fmt: skip


#: Turns in which a first name that is also an everyday word must stand in a name's place before
#: it is taken for a name in lower-case text.
USAGE_TURNS = 2


def _names_by_usage(texts: list[str], vocab: Vocabulary) -> set[str]:
    """First names that lower-case turns use as names ("bill always did the bills", "bill was sober").

    One such use may be chance ("will you come"); the same word in a name's place in several
    turns is a person the session is about.
    """
    turns: dict[str, set[int]] = {}
    for index, text in enumerate(texts):
        if any(ch.isupper() for ch in text):
            continue
        tokens = tokenize(text)
        for i, token in enumerate(tokens):
            word = token.bare
            ambiguous = vocab.is_common(word) or vocab.is_not_identifying(word)
            if word in vocab.first_names and ambiguous and word not in WEEKDAYS and _in_a_name_slot(tokens, i):
                turns.setdefault(word, set()).add(index)
    return {word for word, seen in turns.items() if len(seen) >= USAGE_TURNS}


def _in_a_name_slot(tokens: list[Token], i: int) -> bool:
    """Does an everyday word already known as a name in this session stand where a name does here?

    Speech-recognition text has no capitals to tell "bill" the husband from "the bill": a
    mention counts when nothing before it makes it a common word and what follows is what
    follows a person ("bill always did the bills", "that bill's really not coming back").
    """
    token = tokens[i]
    prev = tokens[i - 1].lower if i > 0 and not token.breaks_before(".?!") else ""
    if prev in _NOT_BEFORE_A_NAME and not (prev == "that" and token.lower.endswith("'s")):
        return False
    if token.lower.endswith("'s") or prev in _BEFORE_A_PERSON:
        return True
    nxt = tokens[i + 1].lower if i + 1 < len(tokens) else ""
    return nxt in _AFTER_A_NAME


def _phrase_mentions(text: str, phrases: dict[str, str]) -> list[Found]:
    out = []
    lowered = text.lower()
    for phrase, kind in phrases.items():
        pattern = r"(?<!\w)" + r"[\W_]+".join(re.escape(w) for w in phrase.split()) + r"(?!\w)"
        out += [Found(m.start(), m.end(), kind, 0.6) for m in re.finditer(pattern, lowered)]
    return out
