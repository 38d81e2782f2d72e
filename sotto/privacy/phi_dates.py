"""Dates, written or said aloud: "March 3rd", "thursday the ninth", "since thanksgiving" (ages: ``phi_ages``).

Each ``find_*`` function reads one turn (its text and its tokens) and returns what it found.
"""

from __future__ import annotations

import re

from sotto.privacy.found import Found
from sotto.privacy.tokens import UNITS, Token, lower_words, read_number
from sotto.privacy.vocabulary import vocabulary

MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
}  # fmt: skip


#: Month names that are everyday words too: a date only with a day or a time word around them.
_AMBIGUOUS_MONTHS = {"may", "march", "jan", "mar", "apr", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}


_MONTH_LEAD = {
    "in", "since", "until", "till", "by", "early", "late", "mid", "last", "next", "this", "of", "from",
    "through", "before", "after", "during", "around", "end", "beginning", "start", "middle", "back", "for",
}  # fmt: skip


#: Words said between a preposition and a month: "since like march", "in maybe june".
_MONTH_HEDGES = {"like", "maybe", "about", "around", "probably", "roughly", "early", "late", "mid"}


#: Prepositions after which "may" is the month even before a pronoun: "i got out in may i was inside".
_STRONG_LEAD = {"in", "since", "until", "till", "last", "next", "early", "late", "mid", "through"}


_NUMERIC_DATE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")


def find_dates(text: str, tokens: list[Token]) -> list[Found]:
    """Dates more specific than a year: "March 3rd", "the 14th", "in June", "3/14/2023"."""
    found = [Found(m.start(), m.end(), "DATE", 0.85) for m in _NUMERIC_DATE.finditer(text)]
    words = lower_words(tokens)
    for i, word in enumerate(words):
        span = None
        if word in MONTHS:
            span = _month_date(tokens, words, i)
        elif word == "the":
            span = _ordinal_day(tokens, words, i)
        if span:
            start = span[0]
            if start > 0 and words[start - 1] in WEEKDAYS and not tokens[start].breaks_before(".?!;:"):
                start -= 1  # the weekday said with a date is part of it: "thursday the ninth"
            elif start == i and word in MONTHS and start > 0 and words[start - 1] in ("last", "next"):
                start -= 1  # "last august", "through next june": the month is pinned to one year
            found.append(Found(tokens[start].start, tokens[span[1]].end, "DATE", 0.85 if word in MONTHS else 0.8))
    return found + _holidays(tokens, words) + _slashed_dates(tokens, words)


def _slashed_dates(tokens: list[Token], words: list[str]) -> list[Found]:
    """A date read out with "slash": "three slash fourteen", "twelve slash eight slash twenty twenty one".

    Without a year, "out of five" and "out of ten" are ratings ("seven slash ten"), not dates.
    """
    found = []
    for i, word in enumerate(words):
        if word != "slash" or i == 0 or i + 1 >= len(words) or tokens[i].breaks_before():
            continue
        month = _number_ending_at(words, i - 1)
        day = read_number(words, i + 1)
        if not month or not day or day.ordinal or not 1 <= day.value <= 31:
            continue
        first = read_number(words, month[0])
        if not first or first.ordinal or first.value > 12 or (month[0] > 0 and read_number(words, month[0] - 1)):
            continue
        end = i + day.length
        if words[end + 1 : end + 2] == ["slash"] and (
            year := _year_length(words, end + 2) or _two_digits(words, end + 2)
        ):
            end += 1 + year
        elif day.value in (5, 10) and first.value <= day.value:
            continue
        found.append(Found(tokens[month[0]].start, tokens[end].end, "DATE", 0.8))
    return found


def _two_digits(words: list[str], j: int) -> int:
    """How many words a two-digit year takes ("twenty four", "oh nine"), 0 if none."""
    if words[j : j + 1] in (["oh"], ["o"]) and j + 1 < len(words) and words[j + 1] in UNITS:
        return 2
    number = read_number(words, j)
    return number.length if number and not number.ordinal and number.value >= 10 else 0


#: Holidays that fall on one day, as their first word(s) and the word(s) that may complete them.
_HOLIDAYS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("christmas",): ("eve", "day"),
    ("thanksgiving",): ("day",),
    ("new", "year's"): ("eve", "day"),
    ("new", "years"): ("eve", "day"),
    ("easter",): ("sunday", "monday"),
    ("halloween",): (),
    ("labor", "day"): (),
    ("labour", "day"): (),
    ("memorial", "day"): (),
    ("valentine's", "day"): (),
    ("mother's", "day"): (),
    ("father's", "day"): (),
}

#: Words before a holiday that make it a point in time: "since christmas", "around new year's", "maybe labor day".
#: Not "at" or "for": "said something at christmas", "going there for thanksgiving" are left unmarked.
_HOLIDAY_LEADS = {"since", "around", "maybe"}

#: Words after a holiday that make it a thing, not a day: "a christmas do", "the new year stuff".
_HOLIDAY_NOUNS = {
    "do", "party", "parties", "dinner", "lunch", "tree", "trees", "stuff", "presents", "present", "gifts", "lights",
    "card", "cards", "shopping", "break", "holidays", "music", "songs", "movie", "movies", "decorations", "sweater",
    "market", "special", "spirit", "bonus", "list", "morning", "resolution", "resolutions", "table", "food",
}  # fmt: skip


def _holidays(tokens: list[Token], words: list[str]) -> list[Found]:
    """Holidays said as the day something happened: "since thanksgiving", "maybe christmas eve", "around New Year's"."""
    found = []
    for i in range(len(words)):
        for head, tails in _HOLIDAYS.items():
            if tuple(words[i : i + len(head)]) != head:
                continue
            end = i + len(head) - 1
            if end + 1 < len(words) and words[end + 1] in tails:
                end += 1
            lead_at = i - 1
            while lead_at >= 0 and words[lead_at] in {"like", "about", "just", "right"}:
                lead_at -= 1  # "since like christmas"
            lead = words[lead_at] if lead_at >= 0 else ""
            nxt = words[end + 1] if end + 1 < len(words) else ""
            if lead in _HOLIDAY_LEADS and nxt not in _HOLIDAY_NOUNS and (lead != "maybe" or lead_at == i - 1):
                found.append(Found(tokens[i].start, tokens[end].end, "DATE", 0.75))
    return found


WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


def _month_date(tokens: list[Token], words: list[str], i: int) -> tuple[int, int] | None:
    word = words[i]
    start, end = i, i
    # A day after the month: "March 3rd", "march third", "may thirtieth", "August 9".
    day = read_number(words, i + 1)
    year_next = _year_length(words, i + 1)
    four_digits = i + 1 < len(words) and words[i + 1].isdigit() and len(words[i + 1]) == 4
    if day and 1 <= day.value <= 31 and not (year_next > day.length) and not four_digits:
        end = i + day.length
    # A day before it: "the 9th of March", "ninth of march", "9 March".
    if i >= 2 and words[i - 1] == "of":
        before = _number_ending_at(words, i - 2)
        if before:
            start = before[0] - (1 if before[0] > 0 and words[before[0] - 1] == "the" else 0)
    elif i >= 1 and words[i - 1].isdigit() and int(words[i - 1]) <= 31:
        start = i - 1
    elif i >= 1 and (before := _number_ending_at(words, i - 1)) and year_next:
        start = before[0]  # "twelve may nineteen eighty nine"
    # A year after the day: "August 9th, 1972", "12 May 1989", "august ninth nineteen seventy two".
    if end > i or start < i:
        year_len = _year_length(words, end + 1)
        if year_len:
            end += year_len
    if end == i and start == i and year_next:
        return (i, i + year_next)  # "May 2019", "march twenty twenty four"
    specific = end > i or start < i
    if not specific:
        abbreviated = word in ("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")
        if abbreviated:
            return None  # "Jun" alone is more often a name ("min jun") than a month
        if word in _AMBIGUOUS_MONTHS:
            lead_at = i - 1
            while lead_at >= 0 and words[lead_at] in _MONTH_HEDGES:
                lead_at -= 1  # "since like march", "so maybe march"
            lead = words[lead_at] if lead_at >= 0 else ""
            if tokens[i].is_capitalised and not tokens[i].starts_sentence and word != "may":
                return (start, end)
            hedged = lead_at < i - 1 and words[i - 1] == "maybe" and ends_clause(tokens, i)
            if lead not in _MONTH_LEAD and not (i > 0 and words[i - 1] in _MONTH_LEAD) and not hedged:
                return None  # "around march" leads by itself, "so like march" does not
            nxt = words[i + 1] if i + 1 < len(words) else ""
            pronoun_after = nxt in {"i", "you", "we", "he", "she", "it", "they"}
            if word == "may" and (nxt in {"be", "have", "not", "help"} or (pronoun_after and lead not in _STRONG_LEAD)):
                return None
    return (start, end)


def _number_ending_at(words: list[str], j: int) -> tuple[int, int] | None:
    for length in (2, 1):
        k = j - length + 1
        if k >= 0:
            number = read_number(words, k)
            if number and number.length == length and 1 <= number.value <= 31:
                return (k, j)
    return None


def _year_length(words: list[str], j: int) -> int:
    if j >= len(words):
        return 0
    if re.fullmatch(r"(1[89]|20)\d\d", words[j]):
        return 1
    first = words[j]
    if first in ("nineteen", "twenty") and j + 1 < len(words):
        tail = read_number(words, j + 1)
        if tail and not tail.ordinal:
            return 1 + tail.length
        if words[j + 1] == "oh" and j + 2 < len(words) and words[j + 2] in UNITS:
            return 3
    if first == "two" and j + 1 < len(words) and words[j + 1] == "thousand":
        tail = read_number(words, j + 2)
        return 2 + (tail.length if tail else 0)
    return 0


_NOT_AFTER_ORDINAL_DAY = {
    "time", "times", "session", "sessions", "one", "ones", "floor", "grade", "week", "weeks", "day", "days",
    "month", "months", "year", "years", "step", "steps", "thing", "things", "person", "place", "part",
    "round", "date", "try", "half", "quarter", "rung", "question", "drink", "night", "nights", "kid", "child",
    "baby", "job", "page", "chapter", "line", "row", "level", "sentence", "entry", "entries", "wife",
    "husband", "marriage", "meeting", "shift", "class", "semester", "term", "period", "hour",
}  # fmt: skip


#: Words before "the first" that make it a day ("on the first", "by the second").
_DAY_LEADS = {"on", "by", "until", "till", "through", "from", "since", "before", "after"}

#: Which month a day is of, said instead of the month's name ("the 19th of next month").
_WHICH_MONTH = ("next", "this", "last", "the")


def _ordinal_day(tokens: list[Token], words: list[str], i: int) -> tuple[int, int] | None:
    """ "the 22nd", "the twenty second", "the 3rd": a day of the month, not "the third time"."""
    said_of = _day_said_of(words, i)
    if said_of:
        return (i, said_of)
    number = read_number(words, i + 1)
    if not number or not number.ordinal or not 1 <= number.value <= 31:
        return None
    end = i + number.length
    nxt = words[end + 1] if end + 1 < len(words) else ""
    if words[end + 1 : end + 4] in (["of", which, "month"] for which in _WHICH_MONTH):
        return (i, end + 3)  # "the 19th of next month"
    if ends_clause(tokens, end):
        return (i, end)
    lead = words[i - 1] if i else ""
    # "the first two days", "the second three weeks": a count follows, not a day (unless a lead makes it one).
    counted = read_number(words, end + 1)
    count_follows = bool(counted and not counted.ordinal) and lead not in _DAY_LEADS and not _time_at(words, end + 1)
    if i == 0 and nxt not in _NOT_AFTER_ORDINAL_DAY and not count_follows:
        return (i, end)  # a turn that opens on "the twelfth" answers "when?"
    if i >= 2 and words[i - 1] in _RANGE_WORDS and any(w in MONTHS for w in words[max(0, i - 5) : i - 1]):
        return (i, end)  # the end of a range: "may fourteenth to the seventeenth"
    if i > 0 and words[i - 1] in WEEKDAYS and nxt not in _NOT_AFTER_ORDINAL_DAY:
        return (i, end)  # "monday the seventeenth as our next session"
    # A plural or -ing word after it is what is counted ("the third visits"), but not "that's" or "it's".
    plural = _counted_form(nxt) and "'" not in nxt and vocabulary().is_common(nxt)
    noun_after = nxt in _NOT_AFTER_ORDINAL_DAY or bool(nxt and plural)
    if noun_after and nxt not in _DATE_FOLLOWERS:
        return None
    if i > 0 and words[i - 1] in {"on", "until", "till", "since"} and not noun_after:
        return (i, end)  # "see you on the fourteenth take care": a day, unless a noun follows ("on the third try")
    if nxt == "of" and end + 2 < len(words) and words[end + 2] in MONTHS:
        return None  # the month rule covers "the 9th of March"
    if i > 0 and words[i - 1] in WEEKDAYS:
        return (i, end)  # "tuesday the ninth": a weekday before it makes the ordinal a date
    spelled = not words[i + 1][0].isdigit()
    if spelled and number.value <= 2 and lead not in _DAY_LEADS:
        return None
    if spelled and nxt and not ends_clause(tokens, end) and nxt not in _DATE_FOLLOWERS and not _time_at(words, end + 1):
        return None
    return None if count_follows else (i, end)


def _day_said_of(words: list[str], i: int) -> int | None:
    """The last word of a day said to be something ("The 4th's good", "the twenty fourth's fine"), or None.

    "the first's" and "the second's" are left out: those are more often the first or second of anything.
    """
    spelled = i + 1 < len(words) and not words[i + 1][0].isdigit()
    for k in (i + 1, i + 2):
        if k >= len(words) or not words[k].endswith("'s"):
            continue
        number = read_number([*words[:k], words[k][:-2]], i + 1)
        if number and number.ordinal and number.length == k - i and 1 <= number.value <= 31:
            return None if spelled and number.value <= 2 else k
    return None


def _counted_form(word: str) -> bool:
    """A plural or an -ing form ("visits", "meeting"), not a verb that only ends so ("bring", "sing")."""
    if word.endswith("ing"):
        return any(vowel in word[:-3] for vowel in "aeiouy")
    return word.endswith("s")


def _time_at(words: list[str], i: int) -> bool:
    """Is a clock time said from ``words[i]`` ("four thirty", "ten am"): the day before it is a date."""
    hour = read_number(words, i)
    if not hour or hour.ordinal or not 1 <= hour.value <= 12:
        return False
    after = words[i + hour.length] if i + hour.length < len(words) else ""
    return after in {"thirty", "fifteen", "forty", "o'clock", "oclock", "am", "pm"}


_RANGE_WORDS = {"to", "through", "till", "until", "and"}


_DATE_FOLLOWERS = {
    "at", "to", "through", "and", "or", "is", "was", "works", "work", "then", "so", "in", "for", "about",
    "i", "we", "she", "he", "they", "you", "it", "that", "when", "if", "but", "because", "after", "before",
    "of", "supervised", "again", "this", "next", "last", "right", "okay", "good", "luck", "same", "with",
    "until", "he's", "hes", "she's", "shes", "it's", "its", "we're", "i'm", "im", "we'll", "i'll", "she'll",
    "he'll", "they're", "my", "his", "her", "their", "our", "your", "the", "a", "there", "are", "will",
    "would", "sounds", "fine", "already", "which", "where", "cause", "cos", "yeah", "yes", "no", "go",
    "instead", "please", "perfect", "great", "ok", "how", "what", "you'll", "thank", "thanks", "does", "did",
    "do", "while", "um", "uh", "goes", "went", "comes", "either", "that's", "thats", "pause", "laughs", "sighs",
    "itself", "yep", "i've", "ive", "we've", "you've", "they've",
}  # fmt: skip


def ends_clause(tokens: list[Token], j: int) -> bool:
    """Does a clause end after token ``j`` (a punctuation mark follows it, or nothing does)?"""
    return j + 1 >= len(tokens) or tokens[j + 1].breaks_before()
