"""Identifiers with a shape: contacts, codes, dates, ages and street addresses, written or said aloud.

Each ``find_*`` function reads one turn (its text and its tokens) and returns what it found.
They work on clean text ("508-555-0163", "March 3rd", "I'm 52") and on speech-recognition
text ("five oh eight five five five ...", "march third", "i'm fifty two") alike.
"""

from __future__ import annotations

import re

from sotto.privacy.found import Found
from sotto.privacy.tokens import ORDINALS, TEENS, TENS, UNITS, Token, read_digits, read_number
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
STREET_TYPES = {
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "court", "ct", "boulevard",
    "blvd", "way", "place", "terrace", "circle", "crescent", "parkway", "highway", "hwy", "row", "close",
    "square", "alley", "trail", "pike", "walk", "grove", "gardens",
}  # fmt: skip
_DETERMINERS = {
    "a", "an", "the", "my", "our", "your", "his", "her", "their", "its", "this", "that", "these", "those",
    "every", "each", "some", "any", "same", "no", "one", "another", "other", "whole", "which", "what",
}  # fmt: skip
_CONTACT_CONTEXT = {
    "phone", "number", "cell", "mobile", "call", "text", "reach", "landline", "fax", "line", "dial",
    "ring", "contact", "whatsapp", "numbers", "texting", "cellphone",
}  # fmt: skip
_ID_CONTEXT = {
    "id", "case", "record", "member", "reference", "account", "licence", "license", "plate", "ssn",
    "social", "security", "student", "docket", "file", "policy", "patient", "mrn", "confirmation", "claim",
    "badge", "passport", "alien", "registration", "number", "code", "pin", "insurance", "medicaid", "medicare",
}  # fmt: skip
_TLDS = {"com", "org", "net", "edu", "gov", "io", "co", "uk", "us", "ca", "me", "info", "biz", "au", "ie", "de"}
_SPOKEN_SYMBOLS = {"dot", "underscore", "dash", "hyphen", "period"}
_EMAIL_STOP = {
    "is", "it's", "its", "was", "that", "the", "my", "her", "his", "their", "your", "at", "to", "email", "e",
    "mail", "address", "me", "send", "it", "as", "and", "or", "called", "on", "i", "you", "use", "it'",
}  # fmt: skip
_HANDLE_CONTEXT = {
    "account",
    "handle",
    "username",
    "instagram",
    "insta",
    "tiktok",
    "snapchat",
    "snap",
    "twitter",
    "gamertag",
}
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
_AGE_ADVERBS = {"only", "just", "barely", "almost", "nearly", "about", "around", "like", "already", "still", "now"}

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_URL = re.compile(r"\b(?:https?://\S+|www\.\S+|[\w\-]+\.(?:com|org|net|edu|io|co\.uk|gov)(?:/\S*)?)", re.I)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,}|\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")
_PHONE = re.compile(
    r"(?<![\w\-])(?:\+?\d{1,3}[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?![\w\-])"
    r"|(?<![\w\-])\d{3}[\-.]\d{4}(?![\w\-])"
    r"|(?<![\w\-])0\d{2,4}[\s\-]?\d{3}[\s\-]?\d{3,4}(?![\w\-])"
)
_CODE = re.compile(
    r"(?<![\w\-])(?:[A-Z]{1,4}[\- ]?)?\d[\dA-Za-z]*(?:[\- ](?:\d[\dA-Z]*|[A-Z]{1,4}(?=[\- ]\d)))*(?![\w\-])"
)
_NUMERIC_DATE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")


def _words(tokens: list[Token]) -> list[str]:
    return [t.lower for t in tokens]


def find_contacts(text: str, tokens: list[Token]) -> list[Found]:
    """Phone numbers, e-mail addresses, web addresses and handles, written or said aloud."""
    found = [Found(m.start(), m.end(), "CONTACT", 0.95) for m in _EMAIL.finditer(text)]
    found += [Found(m.start(), m.end(), "CONTACT", 0.8) for m in _URL.finditer(text)]
    found += [Found(m.start(), m.end(), "CONTACT", 0.8) for m in _HANDLE.finditer(text)]
    found += [Found(m.start(), m.end(), "CONTACT", 0.8) for m in _PHONE.finditer(text) if _digit_count(m.group()) >= 7]
    found += _spoken_emails(tokens)
    found += _spoken_handles(tokens)
    return found


def _digit_count(s: str) -> int:
    return sum(ch.isdigit() for ch in s)


def _spoken_emails(tokens: list[Token]) -> list[Found]:
    """ "j o h n at gmail dot com": a local part, "at", a domain and a known ending after "dot"."""
    words = _words(tokens)
    vocab = vocabulary()
    found = []
    for i, word in enumerate(words):
        if word != "at" or i == 0:
            continue
        # The domain: up to three words, then one or more "dot <ending>".
        j = i + 1
        end = None
        while j < len(words) and j <= i + 4:
            if words[j] == "dot" and j + 1 < len(words) and words[j + 1] in _TLDS:
                end = j + 1
                j += 2
                while j + 1 < len(words) and words[j] == "dot" and words[j + 1] in _TLDS:
                    end = j + 1
                    j += 2
                break
            j += 1
        if end is None or end == i + 2:
            continue
        # The local part: letters said one by one, digits, symbols and names, back from "at".
        k = i - 1
        while k >= 0 and i - k <= 16:
            w = words[k]
            # "a" and "i" are letters of a spelled-out name only among other single letters.
            beside = (k > 0 and len(words[k - 1]) == 1) or (k + 1 < i and len(words[k + 1]) == 1)
            spelled = len(w) == 1 and (w not in ("a", "i") or beside)
            # Any word joined to the address by "dot" or "underscore" is part of it ("desmond dot quill").
            joined = (k + 1 < i and words[k + 1] in _SPOKEN_SYMBOLS) or (k > 0 and words[k - 1] in _SPOKEN_SYMBOLS)
            if (
                spelled
                or (joined and w not in _EMAIL_STOP)
                or w in _SPOKEN_SYMBOLS
                or w in UNITS
                or w in TEENS
                or w in TENS
                or w.isdigit()
                or (w not in _EMAIL_STOP and (not vocab.is_common(w) or w in vocab.first_names))
            ):
                k -= 1
            else:
                break
        if k == i - 1:
            continue
        found.append(Found(tokens[k + 1].start, tokens[end].end, "CONTACT", 0.9))
    return found


def _spoken_handles(tokens: list[Token]) -> list[Found]:
    """ "eli underscore builds underscore things", or a word spelled out after "handle"/"account"."""
    words = _words(tokens)
    found = []
    for i, word in enumerate(words):
        if word != "underscore" or i == 0 or i + 1 >= len(words):
            continue
        start, end = i - 1, i + 1
        while start > 0 and len(words[start - 1]) == 1 and words[start - 1] not in ("a", "i"):
            start -= 1
        while end + 2 < len(words) and words[end + 1] in ("underscore", "dot"):
            end += 2
        found.append(Found(tokens[start].start, tokens[end].end, "CONTACT", 0.85))
    return found


def find_ids(text: str, tokens: list[Token]) -> list[Found]:
    """Codes and identifying numbers: written ("XKB 447 199 203", "N00482217") or read out.

    A phone-like run of digits said aloud goes to CONTACT when a phone word is near, else ID.
    """
    found = []
    for m in _CODE.finditer(text):
        code = m.group()
        digits = _digit_count(code)
        letters = sum(ch.isalpha() for ch in code)
        has_upper_code = bool(re.match(r"[A-Z]{1,4}\b|[A-Z]{1,4}-|[A-Z]\d", code))
        if digits >= 5 or (digits >= 4 and letters and has_upper_code) or (digits >= 3 and code.count(" ") >= 2):
            if re.fullmatch(r"\d{1,2}(st|nd|rd|th)", code) or re.fullmatch(r"(1[89]|20)\d\d", code):
                continue
            if re.fullmatch(r"\d{1,3}(,\d{3})+", code):
                continue
            found.append(Found(m.start(), m.end(), "ID", 0.8))
    found += _spoken_codes(tokens)
    return found


def _spoken_codes(tokens: list[Token]) -> list[Found]:
    words = _words(tokens)
    found = []
    i = 0
    while i < len(words):
        start = i
        digits = ""
        letters = 0
        j = i
        while j < len(words):
            run, length = read_digits(words, j)
            if length:
                digits += run
                j += length
                continue
            w = words[j]
            if len(w) == 1 and w.isalpha() and (w not in ("a", "i") or _next_is_digit(words, j)):
                letters += 1
                j += 1
                continue
            if w in ("dash", "hyphen") and digits:
                j += 1
                continue
            break
        if j == start:
            i += 1
            continue
        # Trailing spelled letters are part of a code only between digits.
        end = j
        while end > start and len(words[end - 1]) == 1 and words[end - 1].isalpha():
            end -= 1
            letters -= 1
        context = set(words[max(0, start - 10) : start])
        is_code = (
            len(digits) >= 6 or (len(digits) >= 4 and letters >= 1) or (len(digits) >= 4 and context & _ID_CONTEXT)
        )
        if is_code and end > start and not _is_plain_number(words[start:end]):
            kind = "CONTACT" if (context & _CONTACT_CONTEXT) and not letters and 7 <= len(digits) <= 12 else "ID"
            if kind == "ID" and not letters and len(digits) in (7, 10, 11) and not context & _ID_CONTEXT:
                kind = "CONTACT"
            found.append(Found(tokens[start].start, tokens[end - 1].end, kind, 0.8))
        i = max(j, i + 1)
    return found


def _next_is_digit(words: list[str], j: int) -> bool:
    return j + 1 < len(words) and (words[j + 1] in UNITS or words[j + 1].isdigit()) and words[j + 1] != "o"


def _is_plain_number(words: list[str]) -> bool:
    """ "twenty twenty four", "nineteen seventy two", "one hundred": a year or an amount, not a code."""
    if any(len(w) == 1 for w in words):
        return False
    if all(w in TENS or w in TEENS or w in UNITS or w in ("hundred", "thousand", "and") for w in words):
        spoken_digits = sum(1 for w in words if w in UNITS)
        return spoken_digits < 4 and len(words) <= 4
    return False


def find_dates(text: str, tokens: list[Token]) -> list[Found]:
    """Dates more specific than a year: "March 3rd", "the 14th", "in June", "3/14/2023"."""
    found = [Found(m.start(), m.end(), "DATE", 0.85) for m in _NUMERIC_DATE.finditer(text)]
    words = _words(tokens)
    for i, word in enumerate(words):
        if word in MONTHS:
            span = _month_date(tokens, words, i)
            if span:
                found.append(Found(tokens[span[0]].start, tokens[span[1]].end, "DATE", 0.85))
        elif word == "the":
            span = _ordinal_day(tokens, words, i)
            if span:
                found.append(Found(tokens[span[0]].start, tokens[span[1]].end, "DATE", 0.8))
    return found


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
        if abbreviated and not tokens[i].is_capitalised:
            return None
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
    if i >= 2 and words[i - 1] in _RANGE_WORDS and any(w in MONTHS for w in words[max(0, i - 5) : i - 1]):
        return (i, end)  # the end of a range: "may fourteenth to the seventeenth"
    noun_after = nxt in _NOT_AFTER_ORDINAL_DAY or (nxt and vocabulary().is_common(nxt) and nxt.endswith(("s", "ing")))
    if noun_after and nxt not in _DATE_FOLLOWERS:
        return None
    if nxt == "of" and end + 2 < len(words) and words[end + 2] in MONTHS:
        return None  # the month rule covers "the 9th of March"
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
    "instead", "please", "perfect", "great", "ok", "how", "what", "you'll",
}  # fmt: skip


def _ends_clause(tokens: list[Token], j: int) -> bool:
    return j + 1 >= len(tokens) or any(mark in tokens[j + 1].before for mark in ",.?!;:")


def find_ages(text: str, tokens: list[Token]) -> list[Found]:
    """Stated ages: "I'm 52", "she's eleven", "turning four", "71 years old", "when I was eight"."""
    words = _words(tokens)
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
        if joined and (nxt in _TIME_WORDS or nxt.isdigit() or (following and not following.ordinal)):
            continue
        lead_at = i - 1
        while lead_at >= 0 and words[lead_at] in _AGE_ADVERBS:
            lead_at -= 1
        lead = words[lead_at] if lead_at >= 0 else ""
        lead2 = words[lead_at - 1] if lead_at >= 1 else ""
        if lead == "at" and (number.value < 13 or not _ends_clause(tokens, end)):
            continue
        if _age_lead(lead, lead2, tokens, lead_at):
            found.append(Found(tokens[i].start, tokens[end].end, "AGE", 0.85))
    return found


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


def find_addresses(text: str, tokens: list[Token]) -> list[Found]:
    """Street addresses and named streets: "41 Tremont Court", "on Govan Road", "twenty two oh seven mesquite lane"."""
    words = _words(tokens)
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
