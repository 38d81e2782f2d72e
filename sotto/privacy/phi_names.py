"""Names of people, places and organisations: spaCy's entities, proper-noun shape, and context.

Clean text carries capitals; speech-recognition text does not, so it is first *truecased*:
every word the dictionary does not know as an everyday word gets a capital (``truecase``).
After that both kinds of text go through the same rules:

- spaCy's named entities (PERSON, GPE, LOC, FAC, ORG), less countries, states and the like;
- capitalised words that are not everyday words (or are, but stand where only a name can:
  "Hi, Hope.", "my sister Rose", "Dr. Pham"), typed by the words around them;
- organisation and place heads that extend a name ("Greendale Family Medicine", "Kessler Hall").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sotto.privacy.found import Found
from sotto.privacy.phi_patterns import MONTHS, STREET_TYPES
from sotto.privacy.tokens import Token, tokenize
from sotto.privacy.vocabulary import Vocabulary, vocabulary

#: Words before a name that are not part of it ("Dr. [Pham]", "Father [Ramos]").
TITLES = {
    "dr", "doctor", "mr", "mister", "mrs", "missus", "ms", "miss", "mx", "professor", "prof", "father",
    "pastor", "reverend", "rev", "rabbi", "imam", "sister", "brother", "coach", "officer", "judge",
    "tita", "tito", "auntie", "aunty", "aunt", "uncle", "nurse", "lady", "sir", "madam", "deacon",
    "grandma", "grandpa", "nana", "cousin", "detective", "sergeant", "captain", "principal", "counselor",
}  # fmt: skip
#: People a client names right before or after the word for them ("my sponsor, Lorraine").
RELATIONS = {
    "wife", "husband", "partner", "girlfriend", "boyfriend", "fiance", "fiancee", "ex", "son", "daughter",
    "brother", "sister", "mother", "father", "mom", "dad", "mum", "friend", "roommate", "flatmate",
    "boss", "manager", "supervisor", "sponsor", "neighbor", "neighbour", "cousin", "nephew", "niece",
    "uncle", "aunt", "grandmother", "grandfather", "grandson", "granddaughter", "grandma", "grandpa",
    "stepdad", "stepmom", "stepson", "stepdaughter", "coworker", "colleague", "labmate", "classmate",
    "teacher", "therapist", "counselor", "lawyer", "attorney", "doctor", "advisor", "adviser", "coach",
    "pastor", "priest", "officer", "caseworker", "worker", "baby", "kid", "child", "kids", "children",
    "sons", "daughters", "brothers", "sisters", "twins", "twin", "buddy", "mate", "bestie", "in-law",
    "ex-husband", "ex-wife", "ex-boyfriend", "ex-girlfriend", "housemate", "landlord", "landlady", "pal",
}  # fmt: skip
#: Words after which a name is greeted or thanked ("Hi, Summer", "thank you, Dana").
GREETINGS = {
    "hi", "hello", "hey", "morning", "afternoon", "evening", "welcome", "thanks", "bye", "goodbye",
    "night", "cheers", "sorry", "congratulations", "congrats", "dear",
}  # fmt: skip
ORG_HEADS = {
    "electric", "electrical", "freight", "dental", "medicine", "medical", "clinic", "hospital", "school",
    "high", "middle", "elementary", "academy", "university", "college", "church", "fellowship",
    "ministries", "ministry", "center", "centre", "rehab", "construction", "brothers", "supply",
    "supplies", "market", "packaging", "analytics", "transit", "works", "care", "residence", "recovery",
    "foods", "bank", "insurance", "group", "partners", "llc", "inc", "co", "company", "corp",
    "corporation", "services", "solutions", "systems", "labs", "lab", "studio", "salon", "cafe", "café",
    "diner", "restaurant", "bakery", "gym", "fitness", "library", "foundation", "project", "agency",
    "department", "police", "club", "team", "united", "pharmacy", "motors", "logistics", "health",
    "healthcare", "associates", "institute", "industries", "consulting", "realty", "hotel", "inn",
    "grill", "kitchen", "store", "stores", "shop", "mart", "farms", "farm", "feed", "law", "legal",
    "press", "media", "tech", "technologies", "software", "enterprises", "holdings", "trust", "cancer",
    "fertility", "family", "community", "regional", "memorial", "general", "day", "county", "city",
    "mosque", "temple", "synagogue", "parish", "cathedral", "chapel", "prison", "jail", "penitentiary",
    "correctional", "facility", "home", "homes", "shelter", "council", "board", "office",
    "program", "programme", "house", "wellness", "behavioral", "counseling",
    "tavern", "pub", "lounge", "brewery", "bistro", "pizzeria", "garage", "barbershop",
    "accounting", "accountants", "accountancy", "roofing", "plumbing", "landscaping", "cleaning", "builders",
    "catering", "printing", "removals", "haulage", "couriers", "joinery", "carpentry", "decorating", "welding",
    "towing", "storage", "staffing", "recruitment", "veterinary", "vets", "optometry", "autos", "auto",
}  # fmt: skip
PLACE_HEADS = {
    "hall", "park", "camp", "beach", "lake", "bridge", "mall", "plaza", "tower", "towers", "building",
    "heights", "hills", "village", "estates", "apartments", "station", "mountain", "river", "valley",
    "springs", "falls", "harbor", "harbour", "bay", "island", "county", "township", "borough", "ward",
    "district", "quarter", "square", "field", "fields", "woods", "creek", "point", "port", "junction",
} | STREET_TYPES  # fmt: skip
_PLACE_PREFIXES = {"mount", "mt", "lake", "fort", "port", "camp", "san", "santa", "los", "las", "el", "new", "north"}
_SAINTS = {"st", "saint"}
_LOCATION_LEADS = {"in", "from", "near", "outside", "around", "to", "past", "of", "into", "toward", "towards"}
_ORG_LEADS = {"at", "for", "with", "from", "join", "joined", "by"}
_NAME_VERBS = {
    "said", "says", "told", "tells", "asked", "asks", "called", "calls", "texted", "texts", "thinks",
    "wants", "wanted", "knows", "came", "comes", "went", "goes", "was", "is", "has", "had", "does", "did",
    "and", "laughed", "cried", "left", "died", "got", "gets", "would", "will", "can", "could",
}  # fmt: skip
_NOT_A_VOCATIVE_NEXT = {
    "you", "you're", "youre", "that", "it", "so", "to", "we", "this", "everything", "all", "be", "have",
    "is", "are", "was", "i", "for", "the", "a", "your", "my", "not", "do", "go", "of", "in", "on", "with",
}  # fmt: skip
_SPACY_LABELS = {"PERSON": "NAME", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION", "ORG": "ORG"}


def truecase(text: str, vocab: Vocabulary | None = None) -> str:
    """``text`` with a capital on every word that is not an everyday word, and on "i".

    Same length as ``text``, so offsets found in the result hold for the original.
    """
    vocab = vocab or vocabulary()
    chars = list(text)
    for token in tokenize(text):
        word = token.bare
        if word == "i" or (vocab.looks_like_name(word) and not word.isdigit()) or word in vocab.proper:
            chars[token.start] = chars[token.start].upper()
    return "".join(chars)


def find_names(text: str, tokens: list[Token], entities: Iterable[tuple[int, int, str]]) -> list[Found]:
    """Names, places and organisations in one turn.

    ``text`` is the turn as spaCy saw it (truecased when the original had no capitals);
    ``entities`` are spaCy's (start, end, label) for it.
    """
    vocab = vocabulary()
    found: list[Found] = []
    for start, end, label in entities:
        kind = _SPACY_LABELS.get(label)
        if kind:
            item = _spacy_entity(text, start, end, kind, vocab)
            if item:
                found.append(item)
    found += _proper_noun_runs(text, tokens, vocab)
    found += _names_in_context(tokens, vocab)
    found += _headed_organisations(tokens)
    found += _gazetteer_places(tokens, vocab)
    return found


#: Words before "to" that make it "to a place" rather than "to do something" ("moving back to billings").
_MOTION_WORDS = {
    "back", "move", "moved", "moving", "go", "goes", "went", "going", "gone", "come", "came", "coming", "drive",
    "drove", "driving", "fly", "flew", "flying", "trip", "bus", "train", "relocated", "transferred", "way",
    "road", "ride", "sent", "home",
}  # fmt: skip
#: Words before "in" that make what follows an activity or a state, not a town ("good in mobile ...").
_NOT_A_PLACE_BEFORE = {
    "interested", "good", "bad", "better", "worse", "involved", "believe", "believed", "engaged", "lost",
    "caught", "stuck", "help", "helps", "helped", "pleasure", "joy", "comfort", "skilled", "trained", "expert",
}  # fmt: skip
_PLACE_WORD_LEADS = {"in", "from", "near", "outside", "around", "past", "toward", "towards"}


def _gazetteer_places(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """Towns from the places list after "in", "from", "near" or "moving to", capitals or not ("in baton rouge")."""
    found = []
    for i in range(1, len(tokens)):
        lead = tokens[i - 1].lower
        if not (lead in _PLACE_WORD_LEADS or (lead == "to" and i >= 2 and tokens[i - 2].lower in _MOTION_WORDS)):
            continue
        if any(m in tokens[i].before for m in ",.?!;:"):
            continue
        for size in (3, 2, 1):
            run = tokens[i : i + size]
            if len(run) < size or any(any(m in t.before for m in ',.?!;:"') for t in run[1:]):
                continue
            name = " ".join(t.bare for t in run)
            if size == 1 and vocab.is_common(name) and i >= 2 and tokens[i - 2].lower in _NOT_A_PLACE_BEFORE:
                continue  # "interested in reading"
            if name in vocab.places and name not in MONTHS and not vocab.is_not_identifying(name):
                found.append(Found(run[0].start, _end_without_possessive(run[-1]), "LOCATION", 0.75))
                break
    return found


#: Words that describe a kind of place rather than name one ("community college", "urgent care").
_GENERIC_MODIFIERS = {
    "community", "family", "local", "public", "primary", "medical", "high", "middle", "elementary", "general",
    "city", "county", "state", "cancer", "recovery", "health", "mental", "free", "new", "old", "big", "little",
    "main", "same", "other", "day", "night", "walk", "urgent", "emergency", "dental", "rehab", "fertility",
    "law", "police", "fire", "grocery", "corner", "coffee", "nearby", "next", "whole", "every", "sports",
    "church", "school", "summer", "after", "private", "catholic", "christian", "methadone", "drug", "in",
}  # fmt: skip
_ORG_PLACE_LEADS = {"at", "for", "from", "with", "to", "called", "named", "join", "joined", "by"}


def _headed_organisations(tokens: list[Token]) -> list[Found]:
    """Organisations named in everyday words before a head: "at golden crust bakery", "for mercy west cancer center"."""
    heads = (ORG_HEADS | PLACE_HEADS) - _WEAK_HEADS
    found = []
    for i, token in enumerate(tokens):
        if token.lower not in heads or i == 0:
            continue
        start = i
        while start > 0 and i - start < 4:
            prev = tokens[start - 1]
            partners = prev.lower == "and" and start >= 2 and _name_word(tokens[start - 2]) and i - start < 3
            if not partners and (
                prev.lower in _FUNCTION_WORDS or prev.lower in _ORG_PLACE_LEADS or not prev.text.isalpha()
            ):
                break
            if any(m in tokens[start].before for m in ",.?!;:"):
                break
            start -= 1
        if start == i or start == 0 or tokens[start - 1].lower not in _ORG_PLACE_LEADS:
            continue
        if any(m in tokens[start].before for m in ".?!;:"):
            continue
        if all(t.lower in _GENERIC_MODIFIERS or t.lower in heads for t in tokens[start:i]):
            continue
        kind = "ORG" if token.lower in ORG_HEADS else "LOCATION"
        found.append(Found(tokens[start].start, token.end, kind, 0.85))
    return found


def _name_word(token: Token) -> bool:
    """Could this word be part of a business name ("marlow" in "marlow and finch accounting")?"""
    return token.text.isalpha() and token.lower not in _FUNCTION_WORDS | _ORG_PLACE_LEADS


def _spacy_entity(text: str, start: int, end: int, kind: str, vocab: Vocabulary) -> Found | None:
    span = text[start:end]
    # spaCy includes a leading "the" and a trailing "'s"; the identifier is what lies between.
    lead = re.match(r"(?i)(the|a|an|my|our|his|her|their|dr\.?|mr\.?|mrs\.?|ms\.?|miss|father|pastor)\s+", span)
    if lead:
        start += lead.end()
        span = text[start:end]
    if span.endswith(("'s", "’s")):
        end -= 2
        span = text[start:end]
    words = [t.bare for t in tokenize(span)]
    if not words or vocab.is_not_identifying(" ".join(words)):
        return None
    if all(vocab.is_not_identifying(w) or w in MONTHS for w in words):
        return None
    if all(w.isdigit() for w in words):
        return None
    if kind != "NAME" and all(vocab.is_common(w) for w in words) and not any(c.isupper() for c in span):
        return None
    if len(words) == 1 and words[0] in TITLES | RELATIONS | GREETINGS:
        return None
    return Found(start, end, kind, 0.85)


def _is_candidate(token: Token, vocab: Vocabulary) -> bool:
    """A word shaped like a proper noun: capitalised, not a title, a month or a weekday and the like."""
    word = token.bare
    if not token.is_capitalised or not word.isalpha() or word == "i" or len(word) < 2:
        return False
    if word in MONTHS or word in TITLES or vocab.is_not_identifying(word):
        return False
    if token.text.isupper() and len(word) > 1:
        return False  # capitals throughout ("EKG", "DEAR MAN") name a thing, not a person
    if not vocab.is_common(word):
        return True
    # An everyday word with a capital mid-sentence is a name ("you, Hope."), unless quoted.
    return not token.starts_sentence and "'" not in token.before and '"' not in token.before


def _proper_noun_runs(text: str, tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    found = []
    i = 0
    while i < len(tokens):
        if not _is_candidate(tokens[i], vocab) and not _is_saint(tokens, i):
            i += 1
            continue
        start = i
        end = i
        # Capitals before a name belong to it ("HMP Kelvinhaugh"), unless they name a thing of their own.
        prev = tokens[i - 1] if i > 0 else None
        if (
            prev
            and prev.text.isupper()
            and prev.text.isalpha()
            and len(prev.text) <= 4
            and not vocab.is_not_identifying(prev.bare)
        ) and not any(m in tokens[i].before for m in ",.?!;:"):
            start = i - 1
        if _is_saint(tokens, i):
            end = i + 1
        while end + 1 < len(tokens) and _joins(tokens, end, vocab):
            end += 1
        end = _extend_over_heads(tokens, start, end)
        kind, score = _type_of_run(tokens, start, end, vocab)
        head_first = _head_before(tokens, start)
        if head_first:
            start, kind, score = start - 1, head_first, 0.9
        if kind == "NAME" and _first_name_before(tokens, start, vocab):
            start -= 1  # "mark halloran": an everyday word that is a first name, before a surname
        if kind:
            found.append(Found(tokens[start].start, _end_without_possessive(tokens[end]), kind, score))
        i = end + 1
    return found


#: Words that open the name of a place or a business ("camp Tamarack", "at studio Lumen").
_PLACE_OPENERS = {"camp", "mount", "mt", "lake", "fort", "port"}
_ORG_OPENERS = {"studio", "club", "cafe", "café", "salon", "hotel", "casa", "bistro", "gym"}


def _head_before(tokens: list[Token], start: int) -> str | None:
    """The kind of name a lower-case opener right before a run makes it, if there is one."""
    if start == 0 or any(m in tokens[start].before for m in ",.?!;:"):
        return None
    opener = tokens[start - 1]
    if opener.is_capitalised:
        return None
    if opener.lower in _PLACE_OPENERS:
        return "LOCATION"
    if opener.lower in _ORG_OPENERS and start >= 2 and tokens[start - 2].lower in _ORG_LEADS | {"to", "in"}:
        return "ORG"
    return None


def _first_name_before(tokens: list[Token], start: int, vocab: Vocabulary) -> bool:
    if start == 0 or any(m in tokens[start].before for m in ",.?!;:"):
        return False
    prev = tokens[start - 1]
    before = tokens[start - 2].lower if start >= 2 else ""
    return prev.bare in vocab.first_names and prev.lower not in _FUNCTION_WORDS and before not in _SUBJECTS


def _after_subject(tokens: list[Token], i: int) -> bool:
    return i > 0 and tokens[i - 1].lower in _SUBJECTS


_SUBJECTS = {"i", "you", "we", "they", "he", "she", "it", "will", "would", "can", "could", "to", "i'll", "we'll"}


def _is_saint(tokens: list[Token], i: int) -> bool:
    return tokens[i].lower in _SAINTS and i + 1 < len(tokens) and tokens[i + 1].is_capitalised


def _joins(tokens: list[Token], end: int, vocab: Vocabulary) -> bool:
    """Does the word after ``tokens[end]`` continue the same name ("Mark Halloran", "Birch & Bean")?"""
    nxt = tokens[end + 1]
    gap = nxt.before
    if gap == "-" and nxt.text.isalpha():
        return True  # a hyphenated name: "Min-jun", "Jean-Paul"
    if any(mark in gap for mark in ',.?!;:"()') and gap.strip() != "&":
        return False
    if gap.strip() == "&" or (nxt.lower == "and" and end + 2 < len(tokens) and tokens[end + 2].is_capitalised):
        return nxt.is_capitalised or nxt.lower == "and"
    if tokens[end].lower == "and":
        return nxt.is_capitalised
    if nxt.is_capitalised and not vocab.is_not_identifying(nxt.bare) and nxt.bare not in MONTHS:
        return True
    return nxt.lower in ORG_HEADS | PLACE_HEADS and tokens[end].is_capitalised and not tokens[end].text.endswith("'s")


def _extend_over_heads(tokens: list[Token], start: int, end: int) -> int:
    """Carry a name over the lower-case words that make it an organisation or a place ("kessler hall").

    Up to two other words may come before the head ("judith basin feed and supply").
    """
    lead = tokens[start - 1].lower if start > 0 else ""
    for gap in (1, 2):
        ahead = end + gap + 1
        heads = ORG_HEADS | PLACE_HEADS if lead in _ORG_LEADS else (ORG_HEADS | PLACE_HEADS) - _WEAK_HEADS
        if ahead < len(tokens) and tokens[ahead].lower in heads:
            between = tokens[end + 1 : ahead + 1]
            if all(t.lower not in _FUNCTION_WORDS and not any(m in t.before for m in ",.?!;:") for t in between):
                end = ahead
                break
    while end + 1 < len(tokens) and end - start < 6:
        if tokens[end].lower.endswith("'s") and tokens[end + 1].lower in (ORG_HEADS | PLACE_HEADS) - _WEAK_HEADS:
            end += 1  # "Dupuy's Market", "duffy's tavern"
            continue
        if tokens[end].lower.endswith("'s"):
            break
        if tokens[end + 1].lower == "and" and end + 2 < len(tokens) and tokens[end + 2].lower in ORG_HEADS:
            end += 2
            continue
        nxt = tokens[end + 1]
        if any(mark in nxt.before for mark in ',.?!;:"()') or nxt.lower not in ORG_HEADS | PLACE_HEADS:
            break
        if nxt.lower in _WEAK_HEADS and lead not in _ORG_LEADS and not _head_follows(tokens, end + 1):
            break
        end += 1
    return end


def _head_follows(tokens: list[Token], i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1].lower in (ORG_HEADS | PLACE_HEADS) - _WEAK_HEADS


_FUNCTION_WORDS = {
    "the", "a", "an", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "from", "is", "was",
    "i", "you", "he", "she", "we", "they", "it", "my", "his", "her", "our", "their", "your", "me", "him",
    "them", "us", "that", "this", "said", "says", "went", "go", "got", "had", "has", "have", "be",
}  # fmt: skip

#: Heads that also follow a name in everyday speech ("took Priya home"): they extend a name only
#: after "at"/"for"/"with" or before a stronger head ("Golden Years Home Care").
_WEAK_HEADS = {
    "home", "homes", "house", "day", "family", "community", "general", "city", "county", "high", "middle",
    "care", "team", "law", "health", "office", "board", "program", "programme", "point", "field", "works",
    "group", "trust", "press", "media", "united", "store", "shop", "kitchen", "walk", "way", "place",
    "close", "row", "square", "grove", "gardens", "river", "valley", "springs", "quarter", "ward", "bay",
}  # fmt: skip


def _type_of_run(tokens: list[Token], start: int, end: int, vocab: Vocabulary) -> tuple[str | None, float]:
    """What a run of proper-noun-shaped words names, and how sure the evidence makes us."""
    words = [t.bare for t in tokens[start : end + 1]]
    lead = tokens[start - 1].lower if start > 0 else ""
    lead2 = tokens[start - 2].lower if start > 1 else ""
    if words[0] in _SAINTS:
        return "ORG", 0.9
    if words[-1] in ORG_HEADS and len(words) > 1:
        return "ORG", 0.9
    if words[-1] in PLACE_HEADS and len(words) > 1:
        return "LOCATION", 0.9
    if words[0] in _PLACE_PREFIXES and len(words) > 1:
        return "LOCATION", 0.8
    if "and" in words or any("&" in t.before for t in tokens[start + 1 : end + 1]):
        return "ORG", 0.9
    if lead in TITLES or lead in RELATIONS or lead in GREETINGS:
        return "NAME", 0.9
    if lead in _LOCATION_LEADS and lead2 not in ("friend", "one", "some", "all", "most"):
        return "LOCATION", 0.75
    if lead in _ORG_LEADS and lead2 in (
        "work",
        "works",
        "worked",
        "working",
        "job",
        "shift",
        "teach",
        "manager",
        "boss",
    ):
        return "ORG", 0.8
    if lead == "at":
        return "LOCATION", 0.7
    if len(words) == 1 and vocab.is_common(words[0]) and not tokens[start].is_capitalised:
        return None, 0.0
    return "NAME", 0.7


def _end_without_possessive(token: Token) -> int:
    return token.end - 2 if token.lower.endswith("'s") else token.end


def _names_in_context(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """Everyday words standing where only a name can: after a title, a greeting, "my sister", alone."""
    found = []
    for i, token in enumerate(tokens):
        word = token.bare
        if (
            not word.isalpha()
            or word in MONTHS
            or word in TITLES
            or (vocab.is_not_identifying(word) and (word not in vocab.first_names and word not in vocab.proper))
        ):
            continue
        is_first_name = word in vocab.first_names
        prev = tokens[i - 1] if i > 0 else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after_comma = "," in token.before
        titled = prev is not None and prev.lower in TITLES and prev.lower not in ("sister", "brother", "lady", "sir")
        if titled and (token.is_capitalised or not vocab.is_common(word) or is_first_name):
            # "Dr. Pham", "doctor rahimi", "father ramos": the next word is a surname.
            found.append(Found(token.start, _end_without_possessive(token), "NAME", 0.8))
            continue
        if not is_first_name:
            continue
        # A name said on its own ("Kayleigh.", "Will?"); an everyday word alone only as a question.
        alone = token.starts_sentence and (
            (nxt is None or any(m in nxt.before for m in ".?!"))
            if not vocab.is_common(word)
            else (nxt is not None and "?" in nxt.before)
        )
        # "Jordan, you'll get ...", "Drew and I ...": a first name addressed or paired with "I".
        addressed = nxt is not None and (
            ("," in nxt.before and nxt.lower in _ADDRESSED_NEXT and token.starts_sentence)
            or (
                nxt.lower == "and"
                and i + 2 < len(tokens)
                and tokens[i + 2].lower in ("i", "me")
                and not _after_subject(tokens, i)
            )
            or (not vocab.is_common(word) and nxt.lower in _ADDRESSED_NEXT and token.starts_sentence)
        )
        # "Georgia's birthday": a possessive before something only people have.
        owning = token.is_capitalised and token.lower.endswith("'s") and nxt is not None and nxt.lower in _PERSONAL
        if addressed or owning:
            found.append(Found(token.start, _end_without_possessive(token), "NAME", 0.8))
            continue
        if vocab.is_not_identifying(word):
            continue
        greeted = (
            prev is not None
            and prev.lower in GREETINGS | {"you", "thank"}
            and (nxt is None or nxt.lower not in _NOT_A_VOCATIVE_NEXT or any(m in nxt.before for m in ",.?!"))
        )
        # A turn that opens with a greeting greets someone: "afternoon clement you found the room".
        greeted = greeted or (i == 1 and prev is not None and prev.lower in GREETINGS - {"thanks", "sorry"})
        related = prev is not None and prev.lower in RELATIONS and i >= 2 and tokens[i - 2].lower in _POSSESSIVES
        closing = nxt is None and prev is not None and prev.lower in _CLOSERS
        introduced = prev is not None and (
            prev.lower in ("i'm", "im", "named", "called")
            or (prev.lower in ("be", "is") and i >= 2 and tokens[i - 2].lower in ("must", "this", "name"))
            or (prev.lower == "me" and i >= 2 and tokens[i - 2].lower in ("call", "calls", "called"))
        )
        asked_to_call = prev is not None and prev.lower == "me" and i >= 2 and tokens[i - 2].lower in ("call", "calls")
        if introduced and (
            asked_to_call
            or nxt is None
            or not vocab.is_common(nxt.bare)
            or any(m in nxt.before for m in ",.?!")
            or nxt.lower in _NAME_FOLLOWERS
        ):
            found.append(Found(token.start, _end_without_possessive(token), "NAME", 0.8))
            continue
        speaking = nxt is not None and nxt.lower in _NAME_VERBS and not token.starts_sentence and token.is_capitalised
        contacted = prev is not None and prev.lower in _CONTACT_VERBS and word not in _EVERYDAY_FIRST_NAMES
        if alone and not token.is_capitalised:
            alone = False
        if alone or greeted or (related and (after_comma or nxt is None or nxt.lower in _NAME_VERBS)) or closing:
            found.append(Found(token.start, _end_without_possessive(token), "NAME", 0.75))
        elif (related and token.is_capitalised) or speaking or contacted:
            found.append(Found(token.start, _end_without_possessive(token), "NAME", 0.7))
    return found


_POSSESSIVES = {"my", "our", "his", "her", "their", "your"}
_CONTACT_VERBS = {
    "calling", "call", "called", "texted", "text", "texting", "told", "tell", "asked", "ask", "visit",
    "visiting", "met", "meet", "phoned", "phone",
}  # fmt: skip
#: First names that are everyday words too often to be taken as a name after "call" or "tell".
_EVERYDAY_FIRST_NAMES = {
    "will", "may", "june", "april", "august", "hope", "grace", "joy", "faith", "rose", "mark", "bill", "drew",
    "dawn", "summer", "sky", "art", "max", "pat", "sue", "rich", "frank", "ray", "jack", "guy", "don", "ben",
    "chase", "hunter", "page", "penny", "rob", "sandy", "skip", "royal", "lane", "holly", "ivy", "pearl",
    "ruby", "amber", "crystal", "daisy", "lily", "iris", "destiny", "honey", "star", "angel", "baby",
    "christian", "justice", "trinity", "mercy", "bob", "gene", "jean", "carol", "son", "buddy", "major",
}  # fmt: skip
#: Words that may follow a name just given ("I'm Mark Halloran", "i'm dana one of the therapists").
_NAME_FOLLOWERS = {"one", "sorry", "and", "from", "i", "i'm", "nice", "hi", "hello", "your", "the", "it's", "that's"}
_ADDRESSED_NEXT = {
    "you", "you'll", "you're", "you've", "you'd", "your", "would", "could", "can", "do", "did", "what", "how",
    "i", "i'm", "i've", "we", "let's",
}  # fmt: skip
_PERSONAL = {
    "birthday", "mom", "mum", "dad", "mother", "father", "friend", "friends", "family", "wife", "husband",
    "partner", "sister", "brother", "son", "daughter", "kids", "parents", "boyfriend", "girlfriend", "funeral",
    "wedding", "phone", "number", "place", "room", "car", "pain", "side",
}  # fmt: skip
_CLOSERS = {
    "you", "week", "today", "thanks", "thank", "bye", "goodbye", "morning", "afternoon", "evening",
    "night", "hi", "hello", "hey", "okay", "yes", "time", "luck", "care", "soon", "there", "back", "again",
}  # fmt: skip
