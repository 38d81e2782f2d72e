"""Street addresses and named streets: "41 Tremont Court", "twenty two oh seven mesquite lane"."""

from __future__ import annotations

from sotto.privacy.found import Found
from sotto.privacy.tokens import ORDINALS, Token, lower_words, read_number
from sotto.privacy.vocabulary import vocabulary

STREET_TYPES = {
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "court", "ct", "boulevard",
    "blvd", "way", "place", "terrace", "circle", "crescent", "parkway", "highway", "hwy", "row", "close",
    "square", "alley", "trail", "pike", "walk", "grove", "gardens",
}  # fmt: skip


_DETERMINERS = {
    "a", "an", "the", "my", "our", "your", "his", "her", "their", "its", "this", "that", "these", "those",
    "every", "each", "some", "any", "same", "no", "one", "another", "other", "whole", "which", "what",
}  # fmt: skip


def find_addresses(text: str, tokens: list[Token]) -> list[Found]:
    """Street addresses and named streets: "41 Tremont Court", "on Govan Road", "twenty two oh seven mesquite lane"."""
    words = lower_words(tokens)
    vocab = vocabulary()
    found = []
    for i, word in enumerate(words):
        if word not in STREET_TYPES or i == 0:
            continue
        abbreviation = word in ("st", "dr") and text[tokens[i].end : tokens[i].end + 1] == "."
        if abbreviation and i + 1 < len(tokens) and tokens[i + 1].is_capitalised:
            continue  # "Dr. Pham", "St. Michael's": a title, not a street
        # One to three naming words before the street type, none of them a determiner. Everyday
        # words name a street only after a preposition or a house number ("on central avenue").
        start = i
        while start > 0 and i - start < 3:
            prev = tokens[start - 1]
            w = prev.lower
            if w in _DETERMINERS or w in _STOPWORDS or any(m in tokens[start].before for m in ",.?!;:"):
                break
            start -= 1
        if start == i:
            continue
        named = any(t.is_capitalised or not vocab.is_common(t.lower) or t.lower in ORDINALS for t in tokens[start:i])
        lead = words[start - 1] if start > 0 else ""
        if not named and lead not in _STREET_LEADS and not _has_house_number(words, start):
            continue
        if start > 0 and words[start - 1] in _DETERMINERS and not _has_house_number(words, start):
            continue
        # A house number before the name: "41", "twenty two oh seven".
        number_start = start
        while number_start > 0 and (words[number_start - 1].isdigit() or read_number(words, number_start - 1)):
            number_start -= 1
        if number_start < start and number_start > 0 and words[number_start - 1] in _DETERMINERS:
            number_start = start
        end = i + 1 if i + 1 < len(words) and words[i + 1] in ("west", "east", "north", "south") else i
        found.append(Found(tokens[number_start].start, tokens[end].end, "LOCATION", 0.8))
    return found


_STREET_LEADS = {
    "on",
    "at",
    "in",
    "off",
    "to",
    "from",
    "near",
    "onto",
    "along",
    "up",
    "down",
    "across",
    "past",
    "of",
    "by",
}


def _has_house_number(words: list[str], start: int) -> bool:
    return start > 0 and (words[start - 1].isdigit() or read_number(words, start - 1) is not None)


def _is_lowercase_text(text: str) -> bool:
    return not any(ch.isupper() for ch in text)


_STOPWORDS = {
    "on", "in", "at", "to", "from", "of", "for", "off", "down", "up", "across", "near", "by", "and", "or",
    "but", "is", "was", "live", "lives", "lived", "living", "moved", "past", "over", "the", "with", "into",
    "onto", "i", "we", "you", "he", "she", "they", "it", "me", "him", "them", "us", "just", "street",
    "road", "like", "our", "long", "dirt", "quiet", "busy", "side", "back", "big", "little", "same",
    "whole", "old", "new", "high", "open", "wrong", "right", "way", "all", "out", "around", "then", "drive",
    "go", "going", "went", "come", "came", "make", "made", "take", "took", "get", "got", "found", "find",
    "what", "that", "which", "where", "there", "here", "this", "crossed", "cross", "one", "two", "ten",
}  # fmt: skip
