"""Carry a name found once to every other mention of it in the session.

A name is often clear in one turn ("my sponsor, Lorraine") and bare in another ("Lorraine
says ..."), and in speech-recognition text the clear turn may be the only one with enough
context. Once found, the same word elsewhere in the session is the same identifier, with two
exceptions: an everyday word ("Hope", "Will") is carried only to capitalised mid-sentence
mentions, never to lower-case text, and a word that is also a country or state ("Georgia",
"Jordan") is not carried to "to/in/from Georgia".
"""

from __future__ import annotations

import re

from sotto.privacy.found import Found, merge
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
                    if len(token.bare) >= 2 and token.bare.isalpha():
                        words.setdefault(token.bare, "NAME")
            elif len(span_tokens) > 1:
                phrases.setdefault(" ".join(t.bare for t in span_tokens), item.kind)
            elif span_tokens and len(span_tokens[0].bare) >= 3:
                words.setdefault(span_tokens[0].bare, item.kind)
    if not words and not phrases:
        return found
    result = []
    for text, items in zip(texts, found, strict=True):
        tokens = tokenize(text)
        extra = _word_mentions(text, tokens, words, vocab)
        extra += _phrase_mentions(text, phrases)
        result.append(merge(items + [f for f in extra if not _covered(f, items)]) if extra else items)
    return result


def _word_mentions(text: str, tokens: list[Token], words: dict[str, str], vocab: Vocabulary) -> list[Found]:
    lowercase_text = not any(ch.isupper() for ch in text)
    out = []
    for i, token in enumerate(tokens):
        kind = words.get(token.bare)
        if not kind:
            continue
        if vocab.is_common(token.bare) and (lowercase_text or not token.is_capitalised or token.starts_sentence):
            continue
        if vocab.is_not_identifying(token.bare) and i > 0 and tokens[i - 1].lower in _PLACE_LEADS:
            continue
        end = token.end - 2 if token.lower.endswith("'s") else token.end
        out.append(Found(token.start, end, kind, 0.6))
    return out


def _phrase_mentions(text: str, phrases: dict[str, str]) -> list[Found]:
    out = []
    lowered = text.lower()
    for phrase, kind in phrases.items():
        pattern = r"(?<!\w)" + r"[\W_]+".join(re.escape(w) for w in phrase.split()) + r"(?!\w)"
        out += [Found(m.start(), m.end(), kind, 0.6) for m in re.finditer(pattern, lowered)]
    return out


def _covered(item: Found, items: list[Found]) -> bool:
    return any(f.start <= item.start and item.end <= f.end for f in items)
