"""Dates and ages, written or said aloud: "March 3rd", "thursday the ninth", "I'm 52", "she's eleven".

Each ``find_*`` function reads one turn (its text and its tokens) and returns what it found.
"""

from __future__ import annotations

import re

from sotto.privacy.found import Found
from sotto.privacy.tokens import UNITS, Token, lower_words, read_number
from sotto.privacy.tokens import tokenize as _tokens
from sotto.privacy.vocabulary import vocabulary

MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
}  # fmt: skip


#: Month names that are everyday words too: a date only with a day or a time word around them.
_AMBIGUOUS_MONTHS = {"may", "march", "august", "jan", "mar", "apr", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}


_MONTH_LEAD = {
    "in", "since", "until", "till", "by", "early", "late", "mid", "last", "next", "this", "of", "from",
    "through", "before", "after", "during", "around", "end", "beginning", "start", "middle", "back",
}  # fmt: skip


_TIME_WORDS = {
    "o'clock", "oclock", "am", "pm", "a.m", "p.m", "minutes", "minute", "hours", "hour", "percent", "times",
    "dollars", "bucks", "days", "day", "weeks", "week", "months", "month", "years", "year", "of", "out",
    "thirty", "fifteen", "forty", "fifty", "twenty", "people", "kids", "things", "pounds", "miles", "mil",
    "milligrams", "mg", "sessions", "nights", "drinks", "beers", "cans", "glasses", "shots", "pills",
}  # fmt: skip


_PERSON_SUBJECTS = {
    "i'm", "im", "he's", "hes", "she's", "shes", "you're", "youre", "they're", "theyre", "we're",
}  # fmt: skip


_PERSON_PRONOUNS = {"i", "he", "she", "you", "they", "we"}


_AGE_ADVERBS = {
    "only", "just", "barely", "almost", "nearly", "about", "around", "like", "already", "still", "now", "maybe",
    "probably",
}  # fmt: skip


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
            if start > 0 and words[start - 1] in WEEKDAYS and not any(m in tokens[start].before for m in ".?!;:"):
                start -= 1  # the weekday said with a date is part of it: "thursday the ninth"
            found.append(Found(tokens[start].start, tokens[span[1]].end, "DATE", 0.85 if word in MONTHS else 0.8))
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
            lead = words[i - 1] if i else ""
            if tokens[i].is_capitalised and not tokens[i].starts_sentence and word != "may":
                return (start, end)
            if lead not in _MONTH_LEAD:
                return None
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if word == "may" and nxt in {"be", "have", "not", "i", "you", "we", "he", "she", "it", "they", "help"}:
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


def _ordinal_day(tokens: list[Token], words: list[str], i: int) -> tuple[int, int] | None:
    """ "the 22nd", "the twenty second", "the 3rd": a day of the month, not "the third time"."""
    number = read_number(words, i + 1)
    if not number or not number.ordinal or not 1 <= number.value <= 31:
        return None
    end = i + number.length
    nxt = words[end + 1] if end + 1 < len(words) else ""
    if _ends_clause(tokens, end):
        return (i, end)
    if i == 0 and nxt not in _NOT_AFTER_ORDINAL_DAY:
        return (i, end)  # a turn that opens on "the twelfth" answers "when?"
    if i >= 2 and words[i - 1] in _RANGE_WORDS and any(w in MONTHS for w in words[max(0, i - 5) : i - 1]):
        return (i, end)  # the end of a range: "may fourteenth to the seventeenth"
    noun_after = nxt in _NOT_AFTER_ORDINAL_DAY or (nxt and vocabulary().is_common(nxt) and nxt.endswith(("s", "ing")))
    if noun_after and nxt not in _DATE_FOLLOWERS:
        return None
    if nxt == "of" and end + 2 < len(words) and words[end + 2] in MONTHS:
        return None  # the month rule covers "the 9th of March"
    if i > 0 and words[i - 1] in WEEKDAYS:
        return (i, end)  # "tuesday the ninth": a weekday before it makes the ordinal a date
    spelled = not words[i + 1][0].isdigit()
    if spelled and number.value <= 2:
        lead = words[i - 1] if i else ""
        if lead not in {"on", "by", "until", "till", "through", "from", "since", "before", "after"}:
            return None
    if spelled and nxt and not _ends_clause(tokens, end) and nxt not in _DATE_FOLLOWERS:
        return None
    return (i, end)


_RANGE_WORDS = {"to", "through", "till", "until", "and"}


_DATE_FOLLOWERS = {
    "at", "to", "through", "and", "or", "is", "was", "works", "work", "then", "so", "in", "for", "about",
    "i", "we", "she", "he", "they", "you", "it", "that", "when", "if", "but", "because", "after", "before",
    "of", "supervised", "again", "this", "next", "last", "right", "okay", "good", "luck", "same", "with",
    "until", "he's", "hes", "she's", "shes", "it's", "its", "we're", "i'm", "im", "we'll", "i'll", "she'll",
    "he'll", "they're", "my", "his", "her", "their", "our", "your", "the", "a", "there", "are", "will",
    "would", "sounds", "fine", "already", "which", "where", "cause", "cos", "yeah", "yes", "no", "go",
    "instead", "please", "perfect", "great", "ok", "how", "what", "you'll", "thank", "thanks", "does", "did",
    "do", "while", "um", "uh",
}  # fmt: skip


def _ends_clause(tokens: list[Token], j: int) -> bool:
    return j + 1 >= len(tokens) or any(mark in tokens[j + 1].before for mark in ",.?!;:")


def find_ages(text: str, tokens: list[Token]) -> list[Found]:
    """Stated ages: "I'm 52", "she's eleven", "turning four", "71 years old", "when I was eight"."""
    words = lower_words(tokens)
    found = []
    for i in range(len(words)):
        number = read_number(words, i)
        if not number or number.ordinal or not 1 <= number.value <= 120:
            continue
        end = i + number.length - 1
        nxt = words[end + 1] if end + 1 < len(words) else ""
        nxt2 = words[end + 2] if end + 2 < len(words) else ""
        if (nxt in ("years", "year", "yrs") and nxt2 == "old") or (nxt in ("year", "years") and nxt2 == "olds"):
            found.append(Found(tokens[i].start, tokens[end].end, "AGE", 0.9))
            continue
        joined = not _ends_clause(tokens, end)
        following = read_number(words, end + 1)
        span_end = end
        if joined and following and following.length == 1 and following.value == number.value + 1:
            # An age given as a range ("i was like eleven twelve"): both numbers are the age.
            span_end = end + 1
            nxt = words[end + 2] if end + 2 < len(words) else ""
        elif joined and (nxt in _TIME_WORDS or nxt.isdigit() or (following and not following.ordinal)):
            continue
        lead_at = i - 1
        while lead_at >= 0 and words[lead_at] in _AGE_ADVERBS:
            lead_at -= 1
        lead = words[lead_at] if lead_at >= 0 else ""
        lead2 = words[lead_at - 1] if lead_at >= 1 else ""
        at_an_age = lead2 not in _TIME_WORDS and lead2 not in _LEVEL_VERBS and nxt in _AFTER_AN_AGE
        if lead == "at" and number.value >= 13 and at_an_age:
            found.append(Found(tokens[i].start, tokens[span_end].end, "AGE", 0.8))  # "started at sixteen and"
            continue
        if lead == "at" and (number.value < 13 or not _ends_clause(tokens, end)):
            continue
        if _age_lead(lead, lead2, tokens, lead_at):
            found.append(Found(tokens[i].start, tokens[span_end].end, "AGE", 0.85))
    return found


#: Words before "at <number>" that make it a level or a rating, not an age ("my anxiety was at seventy and").
_LEVEL_VERBS = {
    "was", "is", "were", "be", "been", "it's", "its", "stayed", "stays", "stuck", "sitting", "sits", "down",
    "up", "still", "rated", "rate", "peaked", "maxed", "capped", "holding", "level", "score", "number",
}  # fmt: skip


#: Words that follow "at <age>" but not "at <a clock time>" ("started at sixteen and he's ...").
_AFTER_AN_AGE = {"and", "i", "he", "she", "they", "we", "he's", "she's", "i'd", "i'm", "you", "my", "his", "her"}


def _age_lead(lead: str, lead2: str, tokens: list[Token], at: int) -> bool:
    if lead in _PERSON_SUBJECTS:
        return True
    if lead in {"turn", "turns", "turned", "turning", "aged", "age"}:
        return True
    if lead == "at" and at >= 0 and _ends_clause(tokens, at + 1) and lead2 not in _TIME_WORDS:
        return True  # "at fifteen?" - the number is checked to be a teen or more by the caller
    if lead == "of" and lead2 == "age":
        return True
    if lead in {"was", "is", "were", "am", "'s"}:
        if lead2 in _PERSON_PRONOUNS or lead2 in _KIN:
            return True
        subject = tokens[at - 1] if at >= 1 else None
        if not subject or not subject.is_capitalised or subject.lower == "i":
            return False
        return not subject.starts_sentence or not vocabulary().is_common(subject.bare)
    return False


#: People whose age a client states ("my mom was 52", "my son is six").
_KIN = {
    "mom", "mum", "dad", "mother", "father", "son", "daughter", "sister", "brother", "wife", "husband",
    "grandmother", "grandfather", "grandma", "grandpa", "granddaughter", "grandson", "nephew", "niece",
    "kid", "child", "baby", "boy", "girl", "partner", "boyfriend", "girlfriend", "cousin", "aunt", "uncle",
}  # fmt: skip


_HOW_OLD = re.compile(r"\bhow old\b")
#: Words that may come before an age given as an answer ("oh about seven", "she's almost two").
_ANSWER_LEADS = {"um", "uh", "oh", "well", "yeah", "about", "almost", "nearly", "just", "only", "around", "she's",
                 "he's", "i'm", "they're", "she", "he", "is", "was", "turned", "turning"}  # fmt: skip


def find_answered_ages(question: str, text: str) -> list[Found]:
    """An age given as the answer to "how old ...?" in the turn before: "Seven months. She's got two teeth"."""
    if not _HOW_OLD.search(question.lower()):
        return []
    tokens = _tokens(text)
    words = lower_words(tokens)
    i = 0
    while i < len(words) and words[i] in _ANSWER_LEADS:
        i += 1
    number = read_number(words, i)
    if not number or number.ordinal or not 1 <= number.value <= 120:
        return []
    end = i + number.length - 1
    if end + 1 < len(words) and words[end + 1] in ("months", "month", "weeks", "week", "years", "year"):
        end += 1
        if end + 1 < len(words) and words[end + 1] == "old":
            end += 1
    return [Found(tokens[i].start, tokens[end].end, "AGE", 0.85)]
