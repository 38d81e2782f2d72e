"""Words with their character offsets, sentences, and spoken numbers: what every recogniser reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[\w’']+")
_SENTENCE_END = re.compile(r"[.?!…]+[\"'”’)\]]*\s+|\n+")
#: Abbreviations after which a full stop does not end the sentence.
_ABBREVIATIONS = ("dr", "mr", "mrs", "ms", "st", "prof", "jr", "sr", "vs", "etc", "mt", "ft", "no", "e.g", "i.e")
#: The marks that split a phrase: a name, an address or a date does not run across one of them.
CLAUSE_MARKS = ",.?!;:"


@dataclass(frozen=True)
class Token:
    """One word: its text, where it lies, and the characters just before it (punctuation, spaces)."""

    text: str
    start: int
    end: int
    before: str

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")

    @property
    def bare(self) -> str:
        """Lower case without a possessive ending: "Priya's" -> "priya"."""
        word = self.lower.strip("'")
        return word[:-2] if word.endswith("'s") else word

    @property
    def is_capitalised(self) -> bool:
        return self.text[:1].isupper()

    def breaks_before(self, marks: str = CLAUSE_MARKS) -> bool:
        """True when one of ``marks`` stands between this word and the one before (a pause, not one phrase)."""
        return any(mark in self.before for mark in marks)

    @property
    def starts_sentence(self) -> bool:
        """True at the start of a turn or after a sentence-ending mark (or an opening quote)."""
        gap = self.before
        return self.start == len(gap) or any(mark in gap for mark in '.?!:"“…')


def tokenize(text: str) -> list[Token]:
    """The words of ``text`` (letters, digits, apostrophes), each with its offsets."""
    tokens: list[Token] = []
    last = 0
    for match in _WORD.finditer(text):
        tokens.append(Token(match.group(), match.start(), match.end(), text[last : match.start()]))
        last = match.end()
    return tokens


def digit_count(text: str) -> int:
    """How many digits ``text`` holds ("98-405" -> 5)."""
    return sum(ch.isdigit() for ch in text)


def lower_words(tokens: list[Token]) -> list[str]:
    """The lower-cased text of each token, for matching word lists."""
    return [t.lower for t in tokens]


def is_unpunctuated(text: str) -> bool:
    """True for speech-recognition text without capitals or sentence marks (then truecase, chunk by turn)."""
    return not any(ch.isupper() for ch in text) and not any(ch in ".?!" for ch in text)


def sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text`` (the whole text when it has no sentence marks)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start : match.start()]
        last_word = head.rsplit(None, 1)[-1].lower().rstrip(".") if head.strip() else ""
        if match.group().startswith(".") and last_word in _ABBREVIATIONS:
            continue
        if match.end() < len(text) and not _starts_like_sentence(text[match.end() :]):
            continue
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _starts_like_sentence(rest: str) -> bool:
    first = rest.lstrip("\"'“(")[:1]
    return first.isupper() or first.isdigit() or not first.isalpha()


#: Words that often open a new clause in speech; unpunctuated text is cut before them.
_CLAUSE_OPENERS = frozenset(
    [
        "and",
        "but",
        "so",
        "because",
        "then",
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "we",
        "we're",
        "we've",
        "he",
        "he's",
        "she",
        "she's",
        "they",
        "they're",
        "it's",
        "that's",
        "there's",
        "what",
        "how",
        "why",
        "when",
        "do",
        "did",
        "can",
        "could",
        "would",
        "let's",
        "yeah",
        "yes",
        "no",
        "okay",
        "honestly",
        "maybe",
        "also",
        "you're",
        "actually",
        "anyway",
        "well",
    ]
)
#: Fewest words a clause of unpunctuated text has before it may be cut.
CLAUSE_WORDS = 14


def clauses(text: str) -> list[tuple[int, int]]:
    """Sentence-like character ranges of unpunctuated speech text, cut before clause openers.

    Each range holds at least ``CLAUSE_WORDS`` words (the last may hold fewer when the text is short).
    """
    tokens = tokenize(text)
    spans: list[tuple[int, int]] = []
    start_index = 0
    for i, token in enumerate(tokens):
        if i - start_index >= CLAUSE_WORDS and token.lower in _CLAUSE_OPENERS and len(tokens) - i >= 4:
            spans.append((tokens[start_index].start, token.start))
            start_index = i
    if tokens:
        spans.append((tokens[start_index].start, len(text)))
    return spans or [(0, len(text))]


# --- spoken numbers ---------------------------------------------------------------------------

UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_DIGIT_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th)$")


@dataclass(frozen=True)
class Number:
    """A number said in words or digits: its value, how many tokens it took, whether it was an ordinal."""

    value: int
    length: int
    ordinal: bool = False


def read_number(words: list[str], i: int) -> Number | None:
    """The cardinal or ordinal (1 to 999) that starts at ``words[i]``, if any.

    Reads "52", "fifty two", "fifty-two" (the hyphen splits tokens), "twenty second", "22nd",
    "a hundred and five". ``words`` are lower-cased token texts.
    """
    if i >= len(words):
        return None
    word = words[i]
    if word.isdigit() and len(word) <= 3:
        return Number(int(word), 1)
    match = _DIGIT_ORDINAL.match(word)
    if match:
        return Number(int(match.group(1)), 1, ordinal=True)
    if word in ORDINALS:
        return Number(ORDINALS[word], 1, ordinal=True)
    if word in TEENS:
        return Number(TEENS[word], 1)
    if word in TENS:
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if nxt in UNITS and UNITS[nxt] > 0 and nxt not in ("o", "oh"):
            return Number(TENS[word] + UNITS[nxt], 2)
        if nxt in ORDINALS and ORDINALS[nxt] < 10:
            return Number(TENS[word] + ORDINALS[nxt], 2, ordinal=True)
        return Number(TENS[word], 1)
    if word in UNITS and word not in ("o", "oh", "zero"):
        value = UNITS[word]
        if i + 1 < len(words) and words[i + 1] == "hundred":
            rest = i + 2
            if rest < len(words) and words[rest] == "and":
                rest += 1
            tail = read_number(words, rest)
            if tail and tail.value < 100:
                return Number(value * 100 + tail.value, rest - i + tail.length, tail.ordinal)
            return Number(value * 100, 2)
        return Number(value, 1)
    return None


def read_digits(words: list[str], i: int) -> tuple[str, int]:
    """The digit string said from ``words[i]`` on ("five oh eight" -> "508", "double five" -> "55").

    Returns the digits and how many tokens they took (0 when none). Digits written as
    numerals count too, so "447 199" and "four four seven one nine nine" read the same.
    """
    digits = ""
    j = i
    while j < len(words):
        word = words[j]
        if word.isdigit():
            digits += word
            j += 1
        elif word in ("double", "triple") and j + 1 < len(words) and words[j + 1] in UNITS:
            digits += str(UNITS[words[j + 1]]) * (2 if word == "double" else 3)
            j += 2
        elif word in UNITS:
            digits += str(UNITS[word])
            j += 1
        elif word in TEENS:
            digits += str(TEENS[word])
            j += 1
        elif word in TENS:
            nxt = words[j + 1] if j + 1 < len(words) else ""
            if nxt in UNITS and UNITS[nxt] > 0 and nxt not in ("o", "oh"):
                digits += str(TENS[word] + UNITS[nxt])
                j += 2
            else:
                digits += str(TENS[word])
                j += 1
        elif word == "hundred" and digits:
            digits += "00"
            j += 1
        else:
            break
    return digits, j - i
