"""Street addresses and named streets: "41 Tremont Court", "twenty two oh seven mesquite lane"."""

from __future__ import annotations

from sotto.privacy.found import Found
from sotto.privacy.phi_dates import ends_clause
from sotto.privacy.tokens import ORDINALS, TEENS, TENS, UNITS, Token, digit_count, lower_words, read_number
from sotto.privacy.vocabulary import vocabulary

STREET_TYPES = {
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "court", "ct", "boulevard",
    "blvd", "way", "place", "terrace", "circle", "crescent", "parkway", "highway", "hwy", "row", "close",
    "square", "alley", "trail", "pike", "walk", "grove", "gardens", "parade", "motorway", "freeway", "expressway",
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
        if word == "place" and words[i - 1].endswith("'s"):
            continue  # "at mum's place", "kyle's place": someone's home, not a street
        # One to three naming words before the street type, none of them a determiner. Everyday
        # words name a street only after a preposition or a house number ("on central avenue").
        start = i
        while start > 0 and i - start < 3:
            prev = tokens[start - 1]
            w = prev.lower
            if w in _DETERMINERS or w in _STOPWORDS or tokens[start].breaks_before():
                break
            if _is_house_number(words, start - 1):
                break  # "fourteen ninety orchard way": the number is the house's, read below
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
        while number_start > 0 and (
            words[number_start - 1].isdigit()
            or read_number(words, number_start - 1)
            or (
                words[number_start - 1] in ("oh", "o")
                and number_start >= 2
                and _is_house_number(words, number_start - 2)
            )
            or (words[number_start - 1] == "hundred" and number_start >= 2 and words[number_start - 2] in UNITS)
        ):
            number_start -= 1
        before_number = words[number_start - 1] if 0 < number_start < start else ""
        if before_number == "no":
            pass  # "at no. 12 mill lane": "no." says the number is the house's
        elif not named and before_number in _MEASURE_LEADS:
            continue  # "a ten minute walk", "about twenty minutes drive": a length, not a house number
        elif before_number in _DETERMINERS:
            number_start = start
        end = i + 1 if i + 1 < len(words) and words[i + 1] in ("west", "east", "north", "south") else i
        end += _flat_number_after(tokens, words, end + 1)
        found.append(Found(tokens[number_start].start, tokens[end].end, "LOCATION", 0.8))
    return (
        found + _numbered_roads(tokens, words) + _intersections(tokens, words) + _flats(tokens, words)
        + _postal_codes(tokens, words)
    )  # fmt: skip


#: Words after a flat's number that go on with the sentence ("maple street number four on the second floor").
_AFTER_A_FLAT = {"and", "with", "which", "above", "behind", "next", "upstairs", "downstairs", "now", "then", "so"}


def _flat_number_after(tokens: list[Token], words: list[str], j: int) -> int:
    """How many words after a street give a flat's number ("number four", "No. 3"), 0 if none: "number" and a
    number that ends the clause or leads on to a place ("number four on the second floor"), not "number one rule"."""
    if j + 1 >= len(words) or tokens[j].breaks_before(".?!;:"):
        return 0
    written_no = words[j] == "no" and tokens[j + 1].before.strip() == "." and words[j + 1][:1].isdigit()
    if not written_no and (words[j] not in ("number", "num") or tokens[j + 1].breaks_before()):
        return 0
    number = read_number(words, j + 1)
    length = 1 if _is_flat_code(words[j + 1]) else number.length if number and not number.ordinal else 0
    if not length:
        return 0
    last = j + length
    after = words[last + 1] if last + 1 < len(words) else ""
    if after and not ends_clause(tokens, last) and after not in _STREET_LEADS and after not in _AFTER_A_FLAT:
        return 0
    return 1 + length


def _is_house_number(words: list[str], j: int) -> bool:
    if words[j].isdigit():
        return True
    number = read_number(words, j)
    return number is not None and number.length == 1 and not number.ordinal


#: Words that open the number of a flat within a building ("apartment 3B", "flat twelve").
_FLAT_WORDS = {"apartment", "apt", "flat", "suite"}


#: Words after a flat's number that make the number a count ("an apartment two blocks away").
_FLAT_COUNTED = {
    "blocks", "block", "floors", "years", "months", "weeks", "days", "bedrooms", "rooms", "minutes", "miles",
    "times", "more", "of", "people",
}  # fmt: skip


def _flats(tokens: list[Token], words: list[str]) -> list[Found]:
    """A flat's number or letter: "apartment 3B", "apartment b", "flat twelve"."""
    found = []
    for i, word in enumerate(words[:-1]):
        if (word not in _FLAT_WORDS and word != "unit") or tokens[i + 1].breaks_before():
            continue
        code = words[i + 1]
        length = 1
        if not (_is_flat_code(code) or (len(code) == 1 and code.isalpha() and code not in ("a", "i"))):
            number = read_number(words, i + 1)
            if not number or number.ordinal:
                continue
            length = number.length
        # A letter said after the number is the flat's: "apartment three b", "unit four c".
        lettered = any(ch.isalpha() for ch in code) and not code.isalpha()
        if _flat_letter(tokens, words, i + 1 + length):
            length += 1
            lettered = True
        after = words[i + 1 + length] if i + 1 + length < len(words) else ""
        # "unit" is as often a part of a course or a ward ("unit four in the workbook"): a flat only with a letter.
        if after not in _FLAT_COUNTED and (word != "unit" or lettered):
            found.append(Found(tokens[i].start, tokens[i + length].end, "LOCATION", 0.8))
    return found


def _flat_letter(tokens: list[Token], words: list[str], j: int) -> bool:
    """Is ``words[j]`` a single letter said after a flat's number ("b" in "apartment three b")? "a" and "i" only
    where the sentence ends after them ("apartment four a."), not in "apartment two a month"."""
    if j >= len(words) or tokens[j].breaks_before() or len(words[j]) != 1 or not words[j].isalpha():
        return False
    return words[j] not in ("a", "i") or j + 1 == len(words) or tokens[j + 1].breaks_before()


def _is_flat_code(word: str) -> bool:
    """Digits with at most one letter before or after them: "12", "3b", "b4"."""
    digits = word.strip("abcdefghijklmnopqrstuvwxyz")
    return digits.isdigit() and len(word) - len(digits) <= 1


#: Words that name a postal code, and the words that may come between them and the code.
_POSTAL_WORDS = {"zip", "zipcode", "postcode"}
_POSTAL_FILLERS = {"code", "is", "it's", "its", "it", "s", "uh", "um"}
#: Words a code said aloud is made of ("nine eight four oh five", "ninety eight thousand four hundred five").
_CODE_WORDS = {*UNITS, *TEENS, *TENS, "hundred", "thousand", "double", "triple"}


def _postal_codes(tokens: list[Token], words: list[str]) -> list[Found]:
    """A postal code after its name: "the zip is 98405", "zip code ninety eight thousand four hundred five"."""
    found = []
    for i, word in enumerate(words):
        if word not in _POSTAL_WORDS:
            continue
        start = i + 1
        while start < len(words) and words[start] in _POSTAL_FILLERS:
            start += 1
        end = start
        while end < len(words) and (words[end] in _CODE_WORDS or any(ch.isdigit() for ch in words[end])):
            end += 1
        digits = digit_count("".join(words[start:end]))
        if digits >= 3 or end - start >= 3:  # a code, not "zip two bags"
            found.append(Found(tokens[start].start, tokens[end - 1].end, "LOCATION", 0.85))
    return found


#: Words before a number that make it a road ("route nine", "highway 101", "interstate five").
_ROAD_WORDS = {"route", "highway", "hwy", "interstate", "rte"}


def _numbered_roads(tokens: list[Token], words: list[str]) -> list[Found]:
    """Roads known by a number: "route nine", "Highway 101", "route thirty one"."""
    found = []
    for i, word in enumerate(words[:-1]):
        if word not in _ROAD_WORDS or tokens[i + 1].breaks_before():
            continue
        number = read_number(words, i + 1)
        after = words[i + 1 + number.length] if number and i + 1 + number.length < len(words) else ""
        if number and not number.ordinal and after not in _COUNTED:
            found.append(Found(tokens[i].start, tokens[i + number.length].end, "LOCATION", 0.8))
    return found


#: Words after a number that make it a count, not a road's number ("my paper route two days a week").
_COUNTED = {"days", "day", "times", "weeks", "hours", "minutes", "mornings", "nights", "more", "of", "people"}


#: Words before a street corner ("on western and twenty sixth", "at the corner of 5th and Main").
_CORNER_LEADS = {"on", "at", "of", "corner"}


def _intersections(tokens: list[Token], words: list[str]) -> list[Found]:
    """Street corners with a numbered street: "on western and twenty sixth", "at 5th and Main"."""
    found = []
    for i in range(2, len(words) - 1):
        if words[i] != "and" or tokens[i].breaks_before() or tokens[i + 1].breaks_before():
            continue
        after = read_number(words, i + 1)
        before = _ordinal_ending_at(words, i - 1)
        if after and after.ordinal and _is_street_number(words[i + 1], after.value):
            start, end, other = i - 1, i + after.length, i - 1
        elif before is not None:
            start, end, other = before, i + 1, i + 1
        else:
            continue
        if words[other] in _STOPWORDS or words[other] in _DETERMINERS or not words[other].isalnum():
            continue
        if start > 0 and words[start - 1] in _CORNER_LEADS:
            found.append(Found(tokens[start].start, tokens[end].end, "LOCATION", 0.75))
    return found


def _ordinal_ending_at(words: list[str], j: int) -> int | None:
    """Where a numbered street's ordinal ending at ``words[j]`` starts ("twenty sixth", "5th"), if one does."""
    for length in (2, 1):
        k = j - length + 1
        number = read_number(words, k) if k >= 0 else None
        if number and number.ordinal and number.length == length and _is_street_number(words[k], number.value):
            return k
    return None


def _is_street_number(word: str, value: int) -> bool:
    # "first" and "second" open too many everyday phrases ("at first and then"); a street numbered
    # so is written with digits or goes unnoticed.
    return value >= 3 or word[0].isdigit()


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


#: Words before a number that make it a length or a count rather than a house's number ("a ten
#: minute walk", "about twenty minutes drive").
_MEASURE_LEADS = _DETERMINERS | {"about", "around", "nearly", "almost"}


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
