"""Contacts and codes, written or said aloud: phone numbers, e-mail and web addresses, handles, and
identifying numbers ("508-555-0163", "j o h n at example dot com", "j t four eight two one nine seven c").

Each ``find_*`` function reads one turn (its text and its tokens) and returns what it found.
"""

from __future__ import annotations

import re

from sotto.privacy.found import Found
from sotto.privacy.tokens import TEENS, TENS, UNITS, Token, digit_count, lower_words, read_digits
from sotto.privacy.vocabulary import vocabulary

_CONTACT_CONTEXT = {
    "phone", "number", "cell", "mobile", "call", "text", "reach", "landline", "fax", "line", "dial",
    "ring", "contact", "whatsapp", "numbers", "texting", "cellphone",
}  # fmt: skip


_ID_CONTEXT = {
    "id", "case", "record", "member", "reference", "account", "licence", "license", "plate", "ssn",
    "social", "security", "student", "docket", "file", "policy", "patient", "mrn", "confirmation", "claim",
    "badge", "passport", "alien", "registration", "number", "code", "pin", "insurance", "medicaid", "medicare",
    "rego", "reg", "plates",
}  # fmt: skip


_TLDS = {"com", "org", "net", "edu", "gov", "io", "co", "uk", "us", "ca", "me", "info", "biz", "au", "ie", "de"}
#: Endings said letter by letter ("dot c a", "dot a c dot n z"), besides those of ``_TLDS``.
_SPELLED_ENDINGS = {"nz", "za", "in", "ac", "sg", "ph", "fr", "es", "it", "nl"}


_SPOKEN_SYMBOLS = {"dot", "underscore", "dash", "hyphen", "period"}


_ZEROS = {"o", "oh", "zero"}

#: Said between a local part and "at" to say how it is written: "jaymendez all one word at example dot org".
_SPELLING_ASIDES = (("all", "one", "word"), ("one", "word"), ("no", "spaces"))


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


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


_URL = re.compile(r"\b(?:https?://\S+|www\.\S+|[\w\-]+\.(?:com|org|net|edu|io|co\.uk|gov)(?:/\S*)?)", re.I)


_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,}|\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")


_PHONE = re.compile(
    r"(?<![\w\-])(?:\+?\d{1,3}[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?![\w\-])"
    r"|(?<![\w\-])\d{3}[\-.]\d{4}(?![\w\-])"
    r"|(?<![\w\-])0\d{2,4}[\s\-]?\d{3}[\s\-]?\d{3,4}(?![\w\-])"
)


_CODE = re.compile(
    r"(?<![\w\-/])(?:[A-Z]{1,4}[\- /]?)?\d[\dA-Za-z]*"
    r"(?:[\- /](?:\d[\dA-Z]*|[A-Z]{1,4}(?=[\- /]\d))|-[A-Z]{1,4}(?![\w\-]))*"
    r"(?![\w\-/])"
)

#: Slashed numbers that are a date or a span of years ("3/14/2023", "2019/2020"), not a code.
_SLASHED_NOT_A_CODE = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?|(?:19|20)\d\d/(?:\d\d|(?:19|20)\d\d)")


def find_contacts(text: str, tokens: list[Token]) -> list[Found]:
    """Phone numbers, e-mail addresses, web addresses and handles, written or said aloud."""
    found = [Found(m.start(), m.end(), "CONTACT", 0.95) for m in _EMAIL.finditer(text)]
    found += [Found(m.start(), m.end(), "CONTACT", 0.8) for m in _URL.finditer(text)]
    found += [Found(m.start(), m.end(), "CONTACT", 0.8) for m in _HANDLE.finditer(text)]
    found += [Found(m.start(), m.end(), "CONTACT", 0.8) for m in _PHONE.finditer(text) if digit_count(m.group()) >= 7]
    found += _spoken_emails(tokens)
    found += _spoken_web_addresses(tokens)
    found += _spoken_handles(tokens)
    return found


def _ending(words: list[str], dot: int) -> int:
    """How many words after the "dot" at ``dot`` make a known ending ("com": 1, "c a": 2), 0 if none."""
    if dot + 1 < len(words) and words[dot + 1] in _TLDS:
        return 1
    letters = 0
    while dot + 1 + letters < len(words) and len(words[dot + 1 + letters]) == 1 and words[dot + 1 + letters].isalpha():
        letters += 1
    spelled = "".join(words[dot + 1 : dot + 1 + letters])
    return letters if letters in (2, 3) and spelled in _TLDS | _SPELLED_ENDINGS else 0


def _domain_words(words: list[str], first: int, last: int) -> int:
    """Words from ``first`` to ``last`` inclusive, a run of single letters ("c m h") counted as one."""
    return sum(1 for k in range(first, last + 1) if not (len(words[k]) == 1 and k > first and len(words[k - 1]) == 1))


def _spoken_emails(tokens: list[Token]) -> list[Found]:
    """ "j o h n at example dot com": a local part, "at", a domain and a known ending after "dot"."""
    words = lower_words(tokens)
    vocab = vocabulary()
    found = []
    for i, word in enumerate(words):
        if word != "at" or i == 0:
            continue
        # The domain: up to three words (letters said one by one count as one), then one or more "dot <ending>".
        j = i + 1
        end = None
        while j < len(words) and _domain_words(words, i + 1, j) <= 4:
            if words[j] == "dot" and (length := _ending(words, j)):
                end = j + length
                j = end + 1
                while words[j : j + 1] == ["dot"] and (length := _ending(words, j)):
                    end = j + length
                    j = end + 1
                break
            j += 1
        if end is None or end == i + 2:
            continue
        # The local part: letters said one by one, digits, symbols and names, back from "at".
        aside = next((len(a) for a in _SPELLING_ASIDES if tuple(words[max(0, i - len(a)) : i]) == a), 0)
        top = k = i - 1 - aside
        while k >= 0 and top - k <= 15:
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
        if k == i - 1 and _mailbox_word(words, i):
            k = i - 2  # "intake at riverside counseling dot org": a shared mailbox named in an everyday word
        if k == top:
            continue
        found.append(Found(tokens[k + 1].start, tokens[end].end, "CONTACT", 0.9))
    return found


#: Words that end the path of a web address said aloud ("dot com slash mindful moms if you want it").
_PATH_STOP = _EMAIL_STOP | {"for", "if", "so", "but", "then", "in", "with", "because", "where", "they", "she", "he"}


def _spoken_web_addresses(tokens: list[Token]) -> list[Found]:
    """ "instagram dot com slash rosie paints", "w w w dot healingroots dot example dot com": words joined by
    "dot" to a known ending, and the path said after "slash"."""
    words = lower_words(tokens)
    vocab = vocabulary()
    found = []
    for i, word in enumerate(words):
        if word != "dot" or i == 0 or not (length := _ending(words, i)):
            continue
        # Back over the domain: the word before the first "dot", and any name or rare word before it.
        first = i - 1
        while first >= 2 and words[first - 1] == "dot" and words[first - 2].isalnum():
            first -= 2
        if not words[first].isalnum() or words[first] in _PATH_STOP or words[first] in _SPOKEN_SYMBOLS:
            continue
        while first > 0 and len(words[first]) == 1 and len(words[first - 1]) == 1 and words[first - 1].isalpha():
            first -= 1  # letters said one by one: "w w w"
        k = first
        while k > 0 and first - k < 2 and not tokens[k].breaks_before():
            w = words[k - 1]
            if w in _PATH_STOP or not w.isalpha() or (vocab.is_common(w) and w not in vocab.first_names):
                break
            k -= 1
        end = i + length
        while words[end + 1 : end + 2] == ["dot"] and (more := _ending(words, end + 1)):
            end += 1 + more
        while words[end + 1 : end + 2] == ["slash"] and not tokens[end + 1].breaks_before():
            path = end + 2
            while path < len(words) and path - end <= 5 and not tokens[path].breaks_before():
                if words[path] in _PATH_STOP or not words[path].replace("'", "").isalnum():
                    break
                path += 1
            if path == end + 2:
                break
            end = path - 1
        found.append(Found(tokens[k].start, tokens[end].end, "CONTACT", 0.85))
    return found


#: Words before "at" that place someone ("i work at ...") rather than name a mailbox.
_NOT_A_MAILBOX = {
    "work", "works", "worked", "working", "live", "lives", "lived", "living", "stay", "stays", "stayed",
    "am", "are", "be", "been", "were", "here", "there", "him", "them", "us", "look", "looked", "looking",
    "go", "goes", "went", "job", "meet", "met", "volunteer", "volunteers", "volunteered", "started",
}  # fmt: skip


def _mailbox_word(words: list[str], at: int) -> bool:
    """Is the one everyday word before "at" the local part of an address ("email intake at ... dot org")?

    Only when nothing before it could be a local part of its own: the turn starts with it, or a
    small word ("is", "to", "email") introduces it.
    """
    word = words[at - 1]
    if not word.isalpha() or word in _EMAIL_STOP or word in _NOT_A_MAILBOX:
        return False
    return at == 1 or words[at - 2] in _EMAIL_STOP or words[at - 2] in _MAILBOX_INTRODUCERS


_MAILBOX_INTRODUCERS = {"emailed", "emailing", "emails", "write", "contact", "reach", "try", "address's", "is"}


def _spoken_handles(tokens: list[Token]) -> list[Found]:
    """ "eli underscore builds underscore things", or "at" and words joined by "dot" after a handle word
    ("my handle's at k a y dot l e e dot waves")."""
    words = lower_words(tokens)
    found = _handles_at(tokens, words) + _handles_after_at_sign(tokens, words)
    for i, word in enumerate(words):
        if word != "underscore" or i == 0 or i + 1 >= len(words):
            continue
        start, end = i - 1, i + 1
        while start > 0 and len(words[start - 1]) == 1 and words[start - 1] not in ("a", "i"):
            start -= 1
        while end + 2 < len(words) and words[end + 1] in ("underscore", "dot"):
            end += 2
        if words[end] in TENS and end + 1 < len(words) and words[end + 1] in UNITS and words[end + 1] not in _ZEROS:
            end += 1  # "underscore eighty four"
        found.append(Found(tokens[start].start, tokens[end].end, "CONTACT", 0.85))
    return found


#: Words that say a handle is coming ("my insta's at ...").
_HANDLE_WORDS = {
    "handle", "username", "user", "insta", "instagram", "tiktok", "snapchat", "snap", "twitter", "x", "ig",
    "account", "profile", "page", "channel",
}  # fmt: skip


def _handles_at(tokens: list[Token], words: list[str]) -> list[Found]:
    """ "at" and a run of words or letters joined by "dot" or "underscore", a handle word within six words before."""
    found = []
    for i, word in enumerate(words):
        if word != "at" or not {w.removesuffix("'s") for w in words[max(0, i - 6) : i]} & _HANDLE_WORDS:
            continue
        end, j = None, i + 1
        while j < len(words) and words[j].isalnum() and words[j] not in _SPOKEN_SYMBOLS:
            while j + 1 < len(words) and len(words[j]) == 1 and len(words[j + 1]) == 1 and words[j + 1].isalnum():
                j += 1  # letters said one by one are one part: "k a y"
            if j + 2 < len(words) and words[j + 1] in ("dot", "underscore") and not tokens[j + 1].breaks_before():
                end, j = j + 2, j + 2
                continue
            break
        if end is not None:
            while end + 1 < len(words) and len(words[end]) == 1 and len(words[end + 1]) == 1:
                end += 1
            found.append(Found(tokens[i].start, tokens[end].end, "CONTACT", 0.85))
    return found


def _handles_after_at_sign(tokens: list[Token], words: list[str]) -> list[Found]:
    """The words of a handle after "at symbol", or after "at sign" with a handle word before it ("her handle is at
    sign rosie paints things"): up to four words, to a small word or a pause. "at sign" alone is too often
    "looked at sign language"."""
    found = []
    for i in range(len(words) - 2):
        if words[i] != "at" or words[i + 1] not in ("sign", "symbol") or tokens[i + 2].breaks_before():
            continue
        before = {w.removesuffix("'s") for w in words[max(0, i - 6) : i]}
        if words[i + 1] == "sign" and not before & (_HANDLE_WORDS | _HANDLE_CONTEXT | {"email", "follow", "find"}):
            continue
        end = i + 2
        while end < len(words) and end - i < 6 and not (end > i + 2 and tokens[end].breaks_before()):
            if words[end] in _PATH_STOP or not words[end].replace("'", "").isalnum():
                break
            end += 1
        if end > i + 2:
            found.append(Found(tokens[i + 2].start, tokens[end - 1].end, "CONTACT", 0.85))
    return found


def find_ids(text: str, tokens: list[Token]) -> list[Found]:
    """Codes and identifying numbers: written ("XKB 447 199 203", "N00482217") or read out.

    A phone-like run of digits said aloud goes to CONTACT when a phone word is near, else ID.
    """
    found = []
    for m in _CODE.finditer(text):
        code = m.group()
        digits = digit_count(code)
        letters = sum(ch.isalpha() for ch in code)
        has_upper_code = bool(re.match(r"[A-Z]{1,4}\b|[A-Z]{1,4}-|[A-Z]\d", code))
        plate = bool(re.fullmatch(r"[A-Z]{3,4}\d{3,4}", code))  # "KPX418"
        spaced = digits >= 3 and code.count(" ") >= 2
        if digits >= 5 or (digits >= 4 and letters and has_upper_code) or spaced or plate:
            if re.fullmatch(r"\d{1,2}(st|nd|rd|th)", code) or re.fullmatch(r"(1[89]|20)\d\d", code):
                continue
            if re.fullmatch(r"\d{1,3}(,\d{3})+", code):
                continue
            found.append(Found(m.start(), m.end(), "ID", 0.8))
    found += _spoken_codes(tokens)
    return [f for f in found if not _SLASHED_NOT_A_CODE.fullmatch(text[f.start : f.end])]


def _spoken_codes(tokens: list[Token]) -> list[Found]:
    words = lower_words(tokens)
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
            if len(w) == 1 and w.isalpha() and (w not in ("a", "i") or _opens_a_code(words, j)):
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
        # One closing letter belongs to a code that opened with letters ("j t four eight ... c").
        opened_with_letter = len(words[start]) == 1 and words[start].isalpha()
        if end < j and opened_with_letter and words[end] not in ("a", "i") and end > start:
            end += 1
            letters += 1
        # A letter after "dash" is a suffix of the code ("four seven seven two one nine dash b").
        elif end < j and end > start and words[end - 1] in ("dash", "hyphen") and words[end] not in ("a", "i"):
            end += 1
        # Letters that close the turn or the sentence after the digits end the code ("three seven w a").
        closing = end
        while closing < len(words) and closing - end < 3 and len(words[closing]) == 1 and words[closing].isalpha():
            closing += 1
        ends_here = closing == len(words) or tokens[closing].breaks_before()
        # Two or more letters after the digits go on the code wherever it ends ("two nine one a d they said"),
        # within the sentence and without a closing "i", which is more often the speaker.
        spelled_on = (
            closing - end >= 2
            and words[closing - 1] != "i"
            and not any(tokens[k].breaks_before() for k in range(end, closing))
        )
        a_letter = any(w not in ("a", "i") for w in words[end:closing])
        if digits and closing > end and (ends_here or spelled_on) and a_letter:
            letters += closing - end
            end = j = closing
        context = set(words[max(0, start - 10) : start])
        # "the rego's k r m four one seven": a code word with "'s" says a code is coming just the same.
        id_context = {w.removesuffix("'s") for w in context} & _ID_CONTEXT
        is_code = (
            len(digits) >= 6
            or (len(digits) >= 4 and letters >= 1)
            or (len(digits) >= 4 and id_context)
            or (len(digits) >= 3 and letters >= 2 and id_context)  # "the plate is k l m four five two"
            or (len(digits) >= 3 and letters >= 3)  # "my old hilux k p x four one eight"
        )
        if is_code and end > start and not _is_plain_number(words[start:end]):
            kind = "CONTACT" if (context & _CONTACT_CONTEXT) and not letters and 7 <= len(digits) <= 12 else "ID"
            if kind == "ID" and not letters and len(digits) in (7, 10, 11) and not context & _ID_CONTEXT:
                kind = "CONTACT"
            found.append(Found(tokens[start].start, tokens[end - 1].end, kind, 0.8))
        i = max(j, i + 1)
    return found


def _opens_a_code(words: list[str], j: int) -> bool:
    """Is "a" or "i" at ``j`` a letter of a code: before a digit, or before a letter and a digit ("i n four four")?"""
    if _next_is_digit(words, j):
        return True
    nxt = words[j + 1] if j + 1 < len(words) else ""
    return len(nxt) == 1 and nxt.isalpha() and nxt not in ("a", "i") and _next_is_digit(words, j + 1)


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
