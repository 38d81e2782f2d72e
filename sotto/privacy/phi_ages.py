"""Ages, written or said aloud: "I'm 52", "she's eleven", "mateo's four", "her sixtieth birthday".

Each ``find_*`` function reads one turn (its text and its tokens) and returns what it found.
"""

from __future__ import annotations

import re

from sotto.privacy.found import Found
from sotto.privacy.phi_dates import MONTHS, ends_clause
from sotto.privacy.tokens import UNITS, Number, Token, lower_words, read_number
from sotto.privacy.tokens import tokenize as _tokens
from sotto.privacy.vocabulary import vocabulary

_TIME_WORDS = {
    "o'clock", "oclock", "am", "pm", "a.m", "p.m", "minutes", "minute", "hours", "hour", "percent", "times",
    "dollars", "bucks", "days", "day", "weeks", "week", "months", "month", "years", "year", "of", "out",
    "thirty", "fifteen", "forty", "fifty", "twenty", "people", "kids", "things", "pounds", "miles", "mil",
    "milligrams", "mg", "sessions", "nights", "drinks", "beers", "cans", "glasses", "shots", "pills", "per",
}  # fmt: skip


_PERSON_SUBJECTS = {
    "i'm", "im", "he's", "hes", "she's", "shes", "you're", "youre", "they're", "theyre", "we're",
}  # fmt: skip


_PERSON_PRONOUNS = {"i", "he", "she", "you", "they", "we"}


_AGE_ADVERBS = {
    "only", "just", "barely", "almost", "nearly", "about", "around", "like", "already", "still", "now", "maybe",
    "probably", "not",
}  # fmt: skip


def find_ages(text: str, tokens: list[Token]) -> list[Found]:
    """Stated ages: "I'm 52", "she's eleven", "turning four", "71 years old", "when I was eight"."""
    words = lower_words(tokens)
    found = []
    for i in range(len(words)):
        number = read_number(words, i)
        if words[i] == "a" and words[i + 1 : i + 2] == ["hundred"]:
            number = read_number([*words[:i], "one", *words[i + 1 :]], i)  # "she turned a hundred and one"
        if number and number.ordinal and number.length == 2 and i > 0 and words[i - 1] in _TURNED:
            number = read_number(words[: i + 1], i)  # "she turned seventy first time without him"
        if not number or number.ordinal or not 1 <= number.value <= 120:
            continue
        end = i + number.length - 1
        nxt = words[end + 1] if end + 1 < len(words) else ""
        nxt2 = words[end + 2] if end + 2 < len(words) else ""
        of_age = nxt2 == "of" and words[end + 3 : end + 4] == ["age"]  # "forty four years of age"
        if (nxt in ("years", "year", "yrs") and (nxt2 == "old" or of_age)) or (
            nxt in ("year", "years") and nxt2 == "olds"
        ):
            found.append(Found(tokens[i].start, tokens[end].end, "AGE", 0.9))
            continue
        if nxt in _BABY_UNITS and _baby_age(words, tokens, i, end):
            found.append(Found(tokens[i].start, tokens[end + 1].end, "AGE", 0.85))  # "she's four months"
            continue
        joined = not ends_clause(tokens, end)
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
        not_a_level = lead2 not in _TIME_WORDS and lead2 not in _LEVEL_VERBS
        at_an_age = not_a_level and nxt in _AFTER_AN_AGE
        # From 13 on, "at <number>" is no clock time, so more words may follow an age ("weed at fifteen then").
        later_age = at_an_age or (not_a_level and lead2 not in _THINGS and _after_a_later_age(nxt, number.value))
        if lead == "at" and number.value >= 13 and later_age:
            found.append(Found(tokens[i].start, tokens[span_end].end, "AGE", 0.8))  # "started at sixteen and"
            continue
        if lead == "at" and _at_an_age(words, lead_at, number.value, ends_clause(tokens, span_end) or at_an_age):
            found.append(Found(tokens[i].start, tokens[span_end].end, "AGE", 0.8))  # "came out at twenty-nine,"
            continue
        if lead == "at" and (number.value < 13 or not ends_clause(tokens, end)):
            continue
        settled = ends_clause(tokens, span_end) or nxt in _AFTER_A_SAID_AGE or lead == "from"
        if _children_counted(words, lead_at):
            # "i have two kids nine and eleven", "my boys, six and four": their ages after the children.
            second = _second_age(words, tokens, span_end)
            if second or ends_clause(tokens, span_end):
                found += [Found(tokens[i].start, tokens[span_end].end, "AGE", 0.8), *second]
            continue
        if _age_lead(lead, lead2, tokens, lead_at) or (settled and _said_age(words, tokens, i, lead_at, number.value)):
            second = _second_age(words, tokens, span_end)
            if second and words[span_end + 1] == "or":  # one age, hedged: "nine or ten"
                found.append(Found(tokens[i].start, second[0].end, "AGE", 0.85))
            else:
                found += [Found(tokens[i].start, tokens[span_end].end, "AGE", 0.85), *second]
    return [_with_a_half(f, tokens, words) for f in found] + _birthday_ordinals(words, tokens)


def _with_a_half(item: Found, tokens: list[Token], words: list[str]) -> Found:
    """An age with the half said after it: "three and a half"."""
    end = next((k for k, t in enumerate(tokens) if t.end == item.end), None)
    if end is None or words[end + 1 : end + 4] != ["and", "a", "half"] or ends_clause(tokens, end):
        return item
    return Found(item.start, tokens[end + 3].end, item.kind, item.score)


def _children_counted(words: list[str], at: int) -> bool:
    """Is ``words[at]`` a word for children after a count or an owner ("two kids", "my boys")?"""
    if at < 1 or words[at] not in _CHILDREN:
        return False
    owner = words[at - 1]
    count = read_number(words, at - 1)
    return owner in {"my", "our", "his", "her", "their", "both"} or (count is not None and count.length == 1)


#: Children whose ages follow them: "two kids nine and eleven".
_CHILDREN = {"kids", "children", "boys", "girls", "sons", "daughters", "twins", "grandkids", "grandchildren"}


_TURNED = {"turned", "turns", "turn", "turning"}


_BABY_UNITS = {"weeks", "week", "months", "month"}
#: Words after a baby's age in weeks or months that end what is said of it ("she's eleven weeks tomorrow"),
#: or open the next clause where nothing marks the end of this one ("he's four months she's been asking").
_AFTER_A_BABY_AGE = {
    "now", "today", "tomorrow", "already", "this", "next", "so", "but", "and", "i", "i'm", "she", "she's", "he", "he's",
    "we", "we're", "they", "they're", "you", "you're",
}  # fmt: skip


def _baby_age(words: list[str], tokens: list[Token], i: int, end: int) -> bool:
    """A baby's age in weeks or months: "six weeks old", or said of someone with nothing after it
    ("she's four months, a dote", "he's eleven weeks tomorrow"), not "six months sober" or "nine weeks pregnant"."""
    after = words[end + 2] if end + 2 < len(words) else ""
    if after == "old":
        return True
    if i == 0 or not (ends_clause(tokens, end + 1) or after in _AFTER_A_BABY_AGE):
        return False
    # he's and she's, not i'm or you're: "I'm nine weeks" is a pregnancy.
    return words[i - 1] in {"he's", "hes", "she's", "shes"} or _a_person_is(words, tokens, i - 1)


#: Life events that "at <number>" dates by an age: "diagnosed at fifty-one", "came out at fifteen".
_EVENTS_AT_AN_AGE = {
    "diagnosed", "married", "pregnant", "retired", "died", "widowed", "divorced", "engaged", "sober", "adopted",
    "arrested", "baptized", "baptised", "confirmed", "transitioned", "emigrated", "attack", "stroke", "away",
}  # fmt: skip


def _at_an_age(words: list[str], at: int, value: int, settled: bool) -> bool:
    """ "at <number>" as an age: after "came out" (any age from ten), or a life event or a full stop (from 13)."""
    before = words[at - 1] if at >= 1 else ""
    came_out = before == "out" and at >= 2 and words[at - 2] in {"came", "come", "coming", "comes"}
    if came_out:
        return value >= 10
    if value < 13 or before in _TIME_WORDS or before in _LEVEL_VERBS:
        return False
    return before in _EVENTS_AT_AN_AGE or settled


#: Subjects that are not people: "it is five", "that's nine", "the score is two".
_NOT_PERSONS = {
    "it", "it's", "its", "that", "that's", "this", "there", "there's", "here", "here's", "what", "what's",
    "which", "everything", "nothing", "one", "one's", "time", "time's", "score", "number", "total", "rent",
    "price", "cost", "answer", "count", "pain", "anxiety", "mood", "level", "rating", "today", "today's",
    "let's", "where's", "how's", "when's", "else", "else's",
}  # fmt: skip


_FUTURE_BE = {"i'll", "she'll", "he'll", "you'll", "they'll", "we'll", "will", "have", "i'd", "she'd", "he'd",
              "you'd", "would", "gonna", "to", "would've", "wouldve", "might've", "could've"}  # fmt: skip


def _said_age(words: list[str], tokens: list[Token], i: int, at: int, value: int) -> bool:
    """An age after a name, a kin word or a verb of being: "mateo's four", "i'll be thirty four by then"."""
    lead = words[at] if at >= 0 else ""
    lead2 = words[at - 1] if at >= 1 else ""
    if value < 2:
        return False  # "she's one of", "mine is one": too often not an age
    if lead in {"be", "been"}:
        return lead2 in _FUTURE_BE  # "she'll be nine", "she would have been seventy-one"
    if lead == "you" and lead2 in {"makes", "make"}:
        return True  # "so that makes you thirty six"
    if lead in {"felt", "feel", "feeling", "feels"}:
        return i + 1 < len(words) and words[i + 1 + (1 if value > 20 and value % 10 else 0)] == "again"
    if lead == "from" and value <= 18:
        after = words[i + 1 : i + 4]  # "from like six till my mom left", not "from nine until my shift ended"
        if len(after) < 2 or after[0] not in {"till", "until"}:
            return False
        return after[1] in _CLAUSE_SUBJECTS or (after[1] in {"my", "our"} and after[2:] != [] and after[2] in _KIN)
    if lead in {"until", "till", "by", "since"}:
        return value >= 13 and lead2 not in _TIME_WORDS and lead2 not in _LEVEL_VERBS
    if (lead == "is" and at >= 1) or (lead.endswith("'s") and lead not in _NOT_PERSONS):
        return _a_person_is(words, tokens, at)
    if lead == "are":
        return lead2 in _PEOPLE  # "your friends are sixteen", "the twins are nine"
    if tokens[i].starts_sentence or i == 0 or (at >= 0 and lead in {"um", "uh", "oh", "yeah", "well"}):
        return _turning_soon(words, i, i + (2 if value > 20 and value % 10 else 1))
    return False


#: People spoken of together, whose ages are given with "are".
_PEOPLE = {
    "friends", "kids", "children", "twins", "boys", "girls", "sons", "daughters", "brothers", "sisters",
    "cousins", "grandkids", "grandchildren", "both",
}  # fmt: skip


#: Words that open a clause after "from six till ...": the event that ended a stretch of childhood.
_CLAUSE_SUBJECTS = {"i", "mom", "mum", "dad", "she", "he", "we", "they", "mother", "father"}


def _a_person_is(words: list[str], tokens: list[Token], at: int) -> bool:
    """True when ``words[at]`` says a person is something: "is" after a kin word or a name ("mateo is"), or
    a person's "'s" ("mateo's", "who's"); not "it's", "that's" or "the score is"."""
    lead = words[at]
    if lead == "is":
        return at >= 1 and _names_a_person(tokens[at - 1], words[at - 1])
    if not lead.endswith("'s") or lead in _NOT_PERSONS:
        return False
    return lead == "who's" or _names_a_person(tokens[at], lead[:-2])


def _names_a_person(token: Token, bare: str) -> bool:
    """True when ``token`` (the subject before "is" or a "'s" form) is a kin word or looks like a name."""
    if bare in _KIN or bare in _PERSON_PRONOUNS:
        return True
    if bare in _NOT_PERSONS or bare in _TIME_WORDS or not bare.isalpha():
        return False
    if token.is_capitalised and bare != "i":
        return True
    return not vocabulary().is_common(bare)


def _turning_soon(words: list[str], i: int, j: int) -> bool:
    """An answer that gives an age about to change: "Seventeen in March.", "Sixteen in two weeks"."""
    if j + 1 >= len(words) or words[j] not in {"in", "next"}:
        return False
    if words[j + 1] in MONTHS or (words[j] == "next" and words[j + 1] in {"month", "week", "year"}):
        return True
    count = read_number(words, j + 1) if words[j + 1] not in {"a", "an"} else None
    unit_at = j + 2 + (count.length - 1 if count else 0)
    unit = words[unit_at] if unit_at < len(words) else ""
    # "Five in two weeks. Down from eight.": a small number before a count of weeks is more often a count.
    return words[i] not in UNITS and unit in {"weeks", "months", "days", "week", "month"}


def _second_age(words: list[str], tokens: list[Token], end: int) -> list[Found]:
    """The age after "and" in a pair ("you're forty-four and thirty-nine", "like nine and eleven")."""
    if end + 2 >= len(words) or words[end + 1] not in {"and", "or"} or ends_clause(tokens, end):
        return []
    number = read_number(words, end + 2)
    if not number or number.ordinal or not 2 <= number.value <= 120:
        return []
    last = end + 1 + number.length
    after = words[last + 1] if last + 1 < len(words) else ""
    if not ends_clause(tokens, last) and after not in _AFTER_A_SAID_AGE:
        return []
    return [Found(tokens[end + 2].start, tokens[last].end, "AGE", 0.8)]


_DECADE_ORDINALS = {"fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth", "hundredth"}


def _birthday_ordinals(words: list[str], tokens: list[Token]) -> list[Found]:
    """Ages said as a birthday: "her sixtieth birthday", "my grandma's eightieth is coming up"."""
    found = []
    for i, word in enumerate(words):
        number = read_number(words, i)
        decade = word in _DECADE_ORDINALS
        if not decade and not (number and number.ordinal and number.value >= 10):
            continue
        end = i + (number.length - 1 if number and not decade else 0)
        nxt = words[end + 1] if end + 1 < len(words) else ""
        owner = tokens[i - 1] if i >= 1 else None
        possessed = owner is not None and owner.lower.endswith("'s") and _names_a_person(owner, owner.bare)
        # "her sixtieth", "my fortieth": a person's decade is a birthday; "our fortieth" is an anniversary.
        theirs = owner is not None and owner.lower in {"my", "his", "her", "your"} and nxt not in _NOT_BIRTHDAYS
        said_of_someone = (possessed and (decade or (number and number.value > 31))) or (decade and theirs)
        if nxt in {"birthday", "bday", "birthdays"} or said_of_someone:
            found.append(Found(tokens[i].start, tokens[end].end, "AGE", 0.8))
    return found


#: What a decade ordinal after "my" or "her" counts when it is no birthday ("her fortieth anniversary").
_NOT_BIRTHDAYS = {"anniversary", "wedding", "reunion", "year", "season", "time", "attempt", "try", "lap"}


#: Words before "at <number>" that make it a level or a rating, not an age ("my anxiety was at seventy and").
_LEVEL_VERBS = {
    "was", "is", "were", "be", "been", "it's", "its", "stayed", "stays", "stuck", "sitting", "sits", "down",
    "up", "still", "rated", "rate", "peaked", "maxed", "capped", "holding", "level", "score", "number", "list",
    "scale",
}  # fmt: skip


#: Words that follow "at <age>" but not "at <a clock time>" ("started at sixteen and he's ...").
_AFTER_AN_AGE = {"and", "i", "he", "she", "they", "we", "he's", "she's", "i'd", "i'm", "you", "my", "his", "her"}


#: Words that follow "at <number>" from 13 on as an age, besides those of ``_AFTER_AN_AGE``:
#: "weed at fifteen then the drinking", "six foot at sixteen got it from her mom", "came here at twenty two to study".
_AFTER_A_LATER_AGE = {"then", "got", "to", "when", "because", "but", "so", "after", "before", "with", "without"}


#: Words for a thing before "at <number>": what it was set at is a level, not an age ("sent it at eighty five").
_THINGS = {"it", "them", "that", "this", "one"}


def _after_a_later_age(nxt: str, value: int) -> bool:
    # "at twenty to six" and "at twenty five to" tell the time.
    return nxt in _AFTER_A_LATER_AGE and not (nxt == "to" and value in (20, 25))


#: Words that may follow an age said in passing ("mateo's four and", "i'll be nine on the ...").
_AFTER_A_SAID_AGE = _AFTER_AN_AGE | {
    "now", "then", "again", "anymore", "already", "yet", "too", "but", "so", "or", "on", "by", "in", "next",
    "this", "soon", "if", "because", "when", "she'll", "he'll", "thinks", "honestly", "yeah", "actually", "same",
}  # fmt: skip


def _age_lead(lead: str, lead2: str, tokens: list[Token], at: int) -> bool:
    if lead in _PERSON_SUBJECTS:
        return True
    if lead in {"turn", "turns", "turned", "turning", "aged", "age"}:
        return True
    if lead == "at" and at >= 0 and ends_clause(tokens, at + 1) and lead2 not in _TIME_WORDS:
        return True  # "at fifteen?" - the number is checked to be a teen or more by the caller
    if lead == "of" and (lead2 == "age" or lead2 in _SOMEONE_OF):
        return True  # "forty four years of age", "a big man of twenty-nine"
    if lead in {"was", "is", "were", "am", "'s"}:
        if lead2 in _PERSON_PRONOUNS or lead2 in _KIN or lead2 == "who":
            return True  # "my son is six", "my grandpa who is ninety one"
        subject = tokens[at - 1] if at >= 1 else None
        if not subject or not subject.is_capitalised or subject.lower == "i":
            return False
        return not subject.starts_sentence or not vocabulary().is_common(subject.bare)
    return False


#: Words for someone whose age follows "of" ("a man of twenty-nine", "a girl of six").
_SOMEONE_OF = {"man", "woman", "boy", "girl", "lad", "lass", "lady", "gentleman", "kid", "child", "teenager", "fella"}


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
    opening = _opening_number(words, 0)
    if not opening or not 1 <= opening[1].value <= 120:
        return []
    i, number = opening
    end = i + number.length - 1
    if end + 1 < len(words) and words[end + 1] in ("months", "month", "weeks", "week", "years", "year"):
        end += 1
        if end + 1 < len(words) and words[end + 1] == "old":
            end += 1
    return [Found(tokens[i].start, tokens[end].end, "AGE", 0.85)]


def find_echoed_ages(before: str, found_before: list[Found], text: str) -> list[Found]:
    """An age found in the turn before, said again to open this one: "(pause) Fifteen, and already
    listening for what might be safe", "sixteen yeah since march"."""
    ages = set()
    for item in found_before:
        if item.kind == "AGE":
            words = lower_words(_tokens(before[item.start : item.end]))
            number = next((n for k in range(len(words)) if (n := read_number(words, k))), None)
            if number and not number.ordinal:
                ages.add(number.value)
    if not ages:
        return []
    tokens = _tokens(text)
    words = lower_words(tokens)
    opening = _opening_number(words, _after_a_stage_direction(tokens))
    if not opening or opening[1].value not in ages:
        return []
    i, number = opening
    after = words[i + number.length : i + number.length + 3]
    if "olds" in after:
        return []  # "Sixteen-year-olds are ...": people of that age in general
    if after and after[0] in _TIME_WORDS and after[:2] not in (["years", "old"], ["year", "old"]):
        return []  # "Forty minutes later": a count, though the same number was an age just before
    return [Found(tokens[i].start, tokens[i + number.length - 1].end, "AGE", 0.85)]


def _opening_number(words: list[str], start: int) -> tuple[int, Number] | None:
    """The cardinal that opens an answer at ``words[start]``, after any hesitation or hedge ("oh about seven"),
    and where it starts."""
    i = start
    while i < len(words) and words[i] in _ANSWER_LEADS:
        i += 1
    number = read_number(words, i)
    return (i, number) if number and not number.ordinal else None


def _after_a_stage_direction(tokens: list[Token]) -> int:
    """Where a turn's words start after a transcriber's note that opens it ("(pause) Fifteen")."""
    if not tokens or "(" not in tokens[0].before:
        return 0
    return next((k for k, token in enumerate(tokens) if ")" in token.before), 0)
