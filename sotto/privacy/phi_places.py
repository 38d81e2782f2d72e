"""Places and organisations named in everyday words, which need no capitals: a town from the places
list after "in" or "moving to" ("in baton rouge"), a business before its head ("at golden crust
bakery"), and the heads that carry a name over ("kessler hall", "duffy's tavern").
"""

from __future__ import annotations

from sotto.privacy.found import Found
from sotto.privacy.phi_addresses import STREET_TYPES
from sotto.privacy.phi_dates import MONTHS, WEEKDAYS
from sotto.privacy.phi_name_words import (
    FUNCTION_WORDS,
    GENERIC_MODIFIERS,
    HEADS,
    ORG_HEADS,
    ORG_LEADS,
    ORG_PLACE_LEADS,
    PLACE_HEADS,
    RELATIONS,
    SERVICE_QUALIFIERS,
    WEAK_HEADS,
    end_without_possessive,
)
from sotto.privacy.tokens import TEENS, TENS, UNITS, Token
from sotto.privacy.vocabulary import Vocabulary

#: Words before "to" that make it "to a place" rather than "to do something" ("moving back to billings").
_MOTION_WORDS = {
    "back", "move", "moved", "moving", "go", "goes", "went", "going", "gone", "come", "came", "coming", "drive",
    "drove", "driving", "fly", "flew", "flying", "trip", "bus", "train", "relocated", "transferred", "way",
    "road", "ride", "sent", "home", "welcome",
}  # fmt: skip


#: Words before "in" that make what follows an activity or a state, not a town ("good in mobile ...").
_NOT_A_PLACE_BEFORE = {
    "interested", "good", "bad", "better", "worse", "involved", "believe", "believed", "engaged", "lost",
    "caught", "stuck", "help", "helps", "helped", "pleasure", "joy", "comfort", "skilled", "trained", "expert",
}  # fmt: skip


#: Heads of a business or a place name that make one on their own (not after "at" only).
_STRONG_HEADS = HEADS - WEAK_HEADS

_PLACE_WORD_LEADS = {"in", "from", "near", "outside", "around", "round", "past", "toward", "towards", "up", "down"}


def gazetteer_places(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """Towns from the places list after "in", "from", "near" or "moving to", capitals or not ("in baton rouge")."""
    found = []
    for i in range(1, len(tokens)):
        lead = tokens[i - 1].lower
        if not (lead in _PLACE_WORD_LEADS or (lead == "to" and i >= 2 and tokens[i - 2].lower in _MOTION_WORDS)):
            continue
        if tokens[i].breaks_before():
            continue
        for size in (3, 2, 1):
            run = tokens[i : i + size]
            if len(run) < size or any(t.breaks_before(',.?!;:"') for t in run[1:]):
                continue
            name = " ".join(t.bare for t in run)
            if size == 1 and vocab.is_common(name) and i >= 2 and tokens[i - 2].lower in _NOT_A_PLACE_BEFORE:
                continue  # "interested in reading"
            if name in vocab.places and name not in MONTHS and not vocab.is_not_identifying(name):
                found.append(Found(run[0].start, end_without_possessive(run[-1]), "LOCATION", 0.75))
                break
    return found + _branches(tokens, vocab) + _prefixed_places(tokens, vocab) + _named_features(tokens, vocab)


#: What a firm has in a town, named by the town ("the limerick branch", "the leeds office").
_BRANCH_WORDS = {"branch", "office", "offices", "depot", "site", "campus", "account", "store", "plant"}
#: Words before those that say which kind it is, not where ("the head office", "the post office").
_NOT_A_BRANCH_TOWN = {"head", "post", "front", "back", "box", "home", "sales", "tax", "ticket", "building", "job"}


def _branches(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """A town from the places list between "the" and a branch or an office: "moved to the limerick branch"."""
    found = []
    for i in range(1, len(tokens) - 1):
        town, after = tokens[i], tokens[i + 1]
        if tokens[i - 1].lower != "the" or after.lower not in _BRANCH_WORDS or after.breaks_before():
            continue
        if town.lower in GENERIC_MODIFIERS | _NOT_A_BRANCH_TOWN | MONTHS or vocab.is_not_identifying(town.lower):
            continue
        if town.lower in vocab.places and not town.breaks_before():
            found.append(Found(town.start, town.end, "LOCATION", 0.7))
    return found


_COMPASS = {"north", "south", "east", "west", "northeast", "northwest", "southeast", "southwest"}
#: Words that open a place's name, whatever word follows ("port clement", "mount airy", "lake wendouree").
_PLACE_PREFIXES = {"mount", "mt", "port", "fort", "lake", "cape"}


def _prefixed_places(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """A compass word, "new" or a place prefix before a name after "in", "from" or "moving to" ("from east
    millbrook", "in port clement", "to new glasgow"). A state so named ("north carolina") is dropped
    with every other finding that names no one, in ``phi_names.find_names``."""
    found = []
    for i in range(1, len(tokens) - 1):
        word, name, lead = tokens[i], tokens[i + 1], tokens[i - 1].lower
        if word.lower not in _COMPASS | _PLACE_PREFIXES | {"new"}:
            continue
        named = vocab.looks_like_name(name.bare)
        after_motion = i >= 2 and tokens[i - 2].lower in _MOTION_WORDS
        moving_to = lead == "to" and (after_motion or (word.lower == "new" and named))
        at_a_prefixed_place = lead == "at" and word.lower in _PLACE_PREFIXES  # "at cape lambert"
        if not (lead in _PLACE_WORD_LEADS or moving_to or at_a_prefixed_place):
            continue
        if word.breaks_before(',.?!;:"') or name.breaks_before(',.?!;:"'):
            continue
        if word.lower not in _PLACE_PREFIXES and not named:
            continue  # "from east side", "north of here", "in new shoes"
        if name.lower in FUNCTION_WORDS or not name.text.isalpha():
            continue
        found.append(Found(word.start, end_without_possessive(name), "LOCATION", 0.8))
    return found


#: Natural features that a name before them makes a landmark ("millbrook reservoir").
_FEATURE_HEADS = {"reservoir", "canyon", "pond", "forest", "gorge", "trailhead", "marsh", "lagoon", "peak", "cove"}


def _named_features(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """A name-like word before a natural feature: "millbrook reservoir", "hadley pond"."""
    found = []
    for i in range(1, len(tokens)):
        name, head = tokens[i - 1], tokens[i]
        if head.lower not in _FEATURE_HEADS or head.breaks_before(',.?!;:"'):
            continue
        if vocab.looks_like_name(name.bare) or name.bare in vocab.places:
            found.append(Found(name.start, head.end, "LOCATION", 0.8))
    return found


#: Words that count what the head names rather than name it ("for three buses").
_COUNTS = {*UNITS, *TEENS, *TENS, "both", "all", "several", "many", "few", "some"}


def headed_organisations(tokens: list[Token]) -> list[Found]:
    """Organisations named in everyday words before a head: "at golden crust bakery", "for mercy west cancer center"."""
    heads = _STRONG_HEADS
    found = []
    for i, token in enumerate(tokens):
        qualified = _is_qualified_head(tokens, i)
        # "cuba street's a nightmare": a street or a place is named before "'s" ("is") too.
        head = token.bare if token.bare in PLACE_HEADS else token.lower
        weak = head in WEAK_HEADS and not qualified
        if (head not in heads and not qualified and not weak) or i == 0:
            continue
        start = i
        while start > 0 and i - start < 4:
            prev = tokens[start - 1]
            partners = prev.lower == "and" and start >= 2 and _name_word(tokens[start - 2]) and i - start < 3
            if not partners and (
                prev.lower in FUNCTION_WORDS
                or prev.lower in ORG_PLACE_LEADS
                or (head in PLACE_HEADS and prev.lower in _PLACE_WORD_LEADS)
                or not (prev.text.isalpha() or (qualified and start == i))
            ):
                break
            if tokens[start].breaks_before():
                break
            start -= 1
        led_by_the = start >= 2 and tokens[start - 1].lower == "the" and tokens[start - 2].lower in ORG_PLACE_LEADS
        # A place is also named after "in" or "near": "at my mum's in box hill".
        led = tokens[start - 1].lower in ORG_PLACE_LEADS or (
            head in PLACE_HEADS and tokens[start - 1].lower in _PLACE_WORD_LEADS
        )
        if start == i or start == 0 or not (led or led_by_the):
            continue
        if weak and (
            i - start < 2
            or tokens[start - 1].lower not in _WEAK_HEAD_LEADS
            or any(_not_a_name_word(t) or t.lower in _NOT_A_NAME_BEFORE_A_WEAK_HEAD for t in tokens[start:i])
        ):
            continue  # "at harbor point health", "from red river general", but not "at least one day"
        if qualified and start == i - 1:
            continue  # "to the sheriff's office", "to urgent care": a kind of service, not its name
        if tokens[start].breaks_before(".?!;:"):
            continue
        named = tokens[start:i]
        # "for three buses", "the two hill towns", "at mum's place": a count, a kind of place or whose, not a name.
        if all(_not_a_name_word(t) or t.lower in heads for t in named) and not _street_named(named):
            continue
        kind = "ORG" if head in ORG_HEADS else "LOCATION"
        end = heads_after(tokens, start, i, after_a_lead=tokens[start - 1].lower in ORG_LEADS)
        found.append(Found(tokens[start].start, end_without_possessive(tokens[end]), kind, 0.85))
    return found


#: Words after which two name words and a weak head make a name on their own.
_WEAK_HEAD_LEADS = {"at", "from"}
#: Words after "at" or "from" that say when or how much, not which place ("at least", "from then on").
_NOT_A_NAME_BEFORE_A_WEAK_HEAD = {
    "least", "most", "last", "first", "once", "then", "now", "work", "home", "night", "times", "time", "school",
    "that", "this", "what", "which", "whose", "lunch", "dinner", "breakfast", "church", "uni", "college", "any",
    "every", "each", "some", "no",
}  # fmt: skip


def _not_a_name_word(token: Token) -> bool:
    """Is this word before a head a count, a kind ("book club") or a kin word's possessive ("mum's place")?"""
    if token.lower.endswith("'s"):
        return token.bare in RELATIONS
    return token.lower in _KINDS_AND_COUNTS


#: What a club or a group is for, not its name ("book club", "the running group").
_CLUB_KINDS = {
    "book", "drama", "youth", "chess", "running", "walking", "golf", "rugby", "football", "soccer", "tennis",
    "swimming", "sailing", "knitting", "gardening", "film", "photography", "debate", "debating", "fan",
    "netball", "cricket", "hockey", "baseball", "basketball", "choir", "supper", "lunch", "breakfast",
}  # fmt: skip

#: Words before a head that count or sort what it names rather than name it ("three buses", "book club").
_KINDS_AND_COUNTS = GENERIC_MODIFIERS | _COUNTS | _CLUB_KINDS


def paired_firms(tokens: list[Token]) -> list[Found]:
    """Shops and cafés named "X and Y" where work is talked about: "my manager at birch and bean",
    "trivia at the maple and main", "her shop corkscrew and crumb"."""
    found = []
    for i in range(2, len(tokens) - 1):
        first, second = tokens[i - 1], tokens[i + 1]
        if tokens[i].lower != "and" or not all(_firm_word(t) for t in (first, second)):
            continue
        if any(t.breaks_before() for t in (tokens[i], second)):
            continue
        if i + 2 < len(tokens) and tokens[i + 2].lower in _AFTER_A_VERB:
            continue  # "sell coffee at the market and argue with every customer"
        lead_at = i - 2 - (tokens[i - 2].lower == "the")
        lead = tokens[lead_at].lower if lead_at >= 0 else ""
        named_after_a_kind = lead in _FIRM_KINDS
        if not named_after_a_kind and not (lead in {"at", "for"} and _talk_of_work(tokens, lead_at)):
            continue
        found.append(Found(first.start, second.end, "ORG", 0.7))
    return found


def _firm_word(token: Token) -> bool:
    if not token.text.isalpha() or token.lower.endswith(("ly", "ed", "ing")):
        return False
    return token.lower not in _NEVER_IN_A_PAIRED_NAME


def _talk_of_work(tokens: list[Token], lead_at: int) -> bool:
    """Is work or a shop talked about in the few words before ``lead_at``?"""
    return any(t.lower in _TALK_OF_WORK for t in tokens[max(0, lead_at - 6) : lead_at])


#: Kinds of business that a name in apposition follows ("the restaurant olive and thyme").
_FIRM_KINDS = {
    "shop", "cafe", "café", "restaurant", "bakery", "pub", "bar", "store", "bistro", "salon", "deli", "diner",
}  # fmt: skip
_WORK_WORDS = {
    "manager", "boss", "shift", "shifts", "job", "work", "works", "working", "worked", "stocktake", "trivia",
    "quiz", "counter", "barista", "waitress", "waiter", "cook", "hired", "interview", "staff", "coffee",
    "tasting", "department", "foreman", "supervisor", "owner",
}  # fmt: skip
#: Words that pair in everyday talk, not in a shop's name ("at work and home", "for lunch and dinner").
_NOT_FIRM_WORDS = {
    "home", "work", "school", "church", "college", "uni", "night", "nights", "day", "days", "weekend", "weekends",
    "lunch", "dinner", "breakfast", "brunch", "morning", "mornings", "evening", "evenings", "then", "now", "so",
    "also", "just", "still", "again", "back", "there", "here", "everything", "everyone", "stuff", "things", "all",
    "both", "once", "twice", "first", "second", "last", "least", "tired", "hungry", "late", "early", "me", "him",
    "together", "alone", "apart",
}  # fmt: skip
_NEVER_IN_A_PAIRED_NAME = FUNCTION_WORDS | ORG_PLACE_LEADS | _NOT_FIRM_WORDS | _COUNTS | WEEKDAYS | MONTHS
_TALK_OF_WORK = _WORK_WORDS | _FIRM_KINDS
#: Words that follow a verb rather than a shop's name ("... and argue with", "... and talk to").
_AFTER_A_VERB = {"with", "to", "about", "that", "it", "them", "him", "her", "me", "us", "you", "everyone"}


def heads_after(tokens: list[Token], start: int, end: int, after_a_lead: bool) -> int:
    """Where a name over ``tokens[start : end + 1]`` ends once the heads after it are added: "saguaro
    ridge high", "halvorsen roofing and siding", "duffy's tavern", "jubilee auto glass".

    A weak head counts only after "at", "for" or "with" (``after_a_lead``) or before a strong head
    ("pine valley community church"); a word of ``HEAD_TAILS`` only after a head; a name runs to
    ``MAX_NAME_WORDS`` words at most.
    """
    while end + 1 < len(tokens) and end - start < MAX_NAME_WORDS - 1:
        word, following = tokens[end], tokens[end + 1]
        if word.lower.endswith("'s"):
            if following.lower not in _STRONG_HEADS or following.breaks_before(_PAUSES):
                return end
            end += 1  # "Dupuy's Market", "duffy's tavern"
        elif _and_a_head_after(tokens, end):
            end += 2
        elif _of_a_field(tokens, end):
            end += 2  # "liffey institute of education"
        elif not following.breaks_before(_PAUSES) and _head_goes_on(tokens, end, after_a_lead):
            end += 1
        else:
            return end
    return end


#: Heads that a field of study or of work completes after "of": "institute of education".
_HEADS_OF_A_FIELD = {"institute", "university", "college", "school", "academy", "department", "faculty"}


def _of_a_field(tokens: list[Token], end: int) -> bool:
    """Do "of" and a field of study carry on the name that ends at ``tokens[end]`` ("institute of education")?"""
    if end + 2 >= len(tokens) or tokens[end].lower not in _HEADS_OF_A_FIELD or tokens[end + 1].lower != "of":
        return False
    field = tokens[end + 2]
    return field.text.isalpha() and field.lower not in FUNCTION_WORDS and not field.breaks_before(_PAUSES)


def _head_goes_on(tokens: list[Token], end: int, after_a_lead: bool) -> bool:
    """Does the word after ``tokens[end]`` carry its name on as a head, or a word that completes one?"""
    word, following = tokens[end].lower, tokens[end + 1].lower
    if following in WEAK_HEADS:
        return after_a_lead or _head_follows(tokens, end + 1)
    return following in _STRONG_HEADS or (following in HEAD_TAILS and (word in HEADS or word in HEAD_TAILS))


#: Marks between two words that end a name: a pause or a quote.
_PAUSES = ',.?!;:"()'
#: Words a name runs to at most once heads are added to it.
MAX_NAME_WORDS = 7


def _and_a_head_after(tokens: list[Token], end: int) -> bool:
    """Do "and" and another business head or a firm's ending follow ``tokens[end]`` ("roofing and siding")?"""
    if end + 2 >= len(tokens) or tokens[end + 1].lower != "and":
        return False
    return tokens[end + 2].lower in ORG_HEADS or tokens[end + 2].lower in _FIRM_ENDINGS


#: Words that carry a name on only after a head: "auto glass", "sexual health service", "medical practice".
HEAD_TAILS = {
    "glass", "body", "service", "practice", "singers", "league", "ems", "brokers", "agents", "addiction", "youth",
}  # fmt: skip


#: What follows "and" at the end of a firm's name: "pritchard and sons", "halvorsen print and pack".
_FIRM_ENDINGS = {"sons", "son", "daughter", "daughters", "co", "partners", "associates", "design", "pack", "crate"}

#: Words that, before a street type, do not make it the name of a street ("the street", "a local street team").
_NOT_A_STREET_NAME = GENERIC_MODIFIERS | ORG_HEADS | FUNCTION_WORDS


def _street_named(words: list[Token]) -> bool:
    """Is a street named in these words, so that the business is named for it ("harbor street deli")?"""
    return any(
        t.lower in STREET_TYPES and k > 0 and words[k - 1].lower not in _NOT_A_STREET_NAME for k, t in enumerate(words)
    )


def _is_qualified_head(tokens: list[Token], i: int) -> bool:
    """Is ``tokens[i]`` a weak head made a service by the word before it ("urgent care", "sexual health")?"""
    return tokens[i].lower in WEAK_HEADS and i >= 2 and tokens[i - 1].lower in SERVICE_QUALIFIERS


def _name_word(token: Token) -> bool:
    """Could this word be part of a business name ("marlow" in "marlow and finch accounting")?"""
    return token.text.isalpha() and token.lower not in FUNCTION_WORDS and token.lower not in ORG_PLACE_LEADS


#: Words that open the name of a place or a business ("camp Tamarack", "at studio Lumen").
_PLACE_OPENERS = {"camp", "mount", "mt", "lake", "fort", "port"}


_ORG_OPENERS = {"studio", "club", "cafe", "café", "salon", "hotel", "casa", "bistro", "gym"}


#: Words before an opener that make it open an organisation's name ("at studio lumen", "to cafe rosa").
_ORG_OPENER_LEADS = ORG_LEADS | {"to", "in"}


def head_before(tokens: list[Token], start: int) -> str | None:
    """The kind of name a lower-case opener right before a run makes it, if there is one."""
    if start == 0 or tokens[start].breaks_before():
        return None
    opener = tokens[start - 1]
    if opener.is_capitalised:
        return None
    if opener.lower in _PLACE_OPENERS:
        return "LOCATION"
    if opener.lower in _ORG_OPENERS and start >= 2 and tokens[start - 2].lower in _ORG_OPENER_LEADS:
        return "ORG"
    return None


def extend_over_heads(tokens: list[Token], start: int, end: int) -> int:
    """Carry a name over the lower-case words that make it an organisation or a place ("kessler hall").

    Up to two other words may come before the head ("judith basin feed and supply").
    """
    lead = tokens[start - 1].lower if start > 0 else ""
    heads = HEADS if lead in ORG_LEADS else _STRONG_HEADS
    for gap in (1, 2):
        ahead = end + gap + 1
        if ahead < len(tokens) and tokens[ahead].lower in heads:
            between = tokens[end + 1 : ahead + 1]
            if all(t.lower not in FUNCTION_WORDS and not t.breaks_before() for t in between):
                end = ahead
                break
    return heads_after(tokens, start, end, after_a_lead=lead in ORG_LEADS)


def _head_follows(tokens: list[Token], i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1].lower in _STRONG_HEADS
