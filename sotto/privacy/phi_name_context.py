"""Names found by where they stand rather than how they look: after a title ("doctor rahimi"), a
greeting ("hi hope"), a relation ("my sister dawn"), a caller ("calls him min jun"), or said alone.
"""

from __future__ import annotations

from sotto.privacy.found import Found
from sotto.privacy.phi_dates import MONTHS, WEEKDAYS
from sotto.privacy.phi_name_words import FUNCTION_WORDS, GREETINGS, RELATIONS, TITLES, end_without_possessive
from sotto.privacy.tokens import Token
from sotto.privacy.vocabulary import Vocabulary

_NAME_VERBS = {
    "said", "says", "told", "tells", "asked", "asks", "called", "calls", "texted", "texts", "thinks",
    "wants", "wanted", "knows", "came", "comes", "went", "goes", "was", "is", "has", "had", "does", "did",
    "and", "laughed", "cried", "left", "died", "got", "gets", "would", "will", "can", "could",
    "gave", "took", "made", "sent", "brought", "helped", "drove", "bought", "found", "showed", "keeps", "kept",
    "just", "always", "never", "still", "finally", "also", "used", "picked", "moved", "lives", "lived", "works",
    "worked", "rang", "phoned", "stayed", "started", "stopped", "tried", "thought", "felt", "heard", "saw", "met",
    "loves", "loved", "hates", "needs", "likes",
}  # fmt: skip


_NOT_A_VOCATIVE_NEXT = {
    "you", "you're", "youre", "that", "it", "so", "to", "we", "this", "everything", "all", "be", "have",
    "is", "are", "was", "i", "for", "the", "a", "your", "my", "not", "do", "go", "of", "in", "on", "with",
}  # fmt: skip


_DETERMINERS = {"the", "a", "an", "this", "that", "my", "your", "his", "her", "our", "their", "its"}


def _greets_a_second(tokens: list[Token], i: int, vocab: Vocabulary) -> bool:
    """Is ``tokens[i]`` greeted right after someone else was ("hi rowan hi colleen", "hi ana and hi grace")?"""
    j = i - 2
    if j >= 0 and tokens[j].lower == "and":
        j -= 1
    if j < 1 or tokens[j - 1].lower not in GREETINGS:
        return False
    return tokens[j].bare in vocab.first_names or not vocab.is_common(tokens[j].bare)


def _addressed_after_you(tokens: list[Token], i: int) -> bool:
    """Is ``tokens[i]``, right after "you", someone addressed ("thank you rowan", "i told you grace")? Not a
    verb "you" is the subject of ("tell me what you see", "what do you hope"), unless after "thank you" or
    "see you" ("thank you will")."""
    if i < 1 or tokens[i - 1].lower != "you":
        return False
    return tokens[i].bare not in _VERBS_AFTER_YOU or (i >= 2 and tokens[i - 2].lower in ("thank", "see"))


#: First names that are also verbs "you" is often the subject of.
_VERBS_AFTER_YOU = {"see", "hope", "will", "may", "say", "mean", "trust", "love", "miss", "sing", "read"}


def _after_subject(tokens: list[Token], i: int) -> bool:
    return i > 0 and tokens[i - 1].lower in SUBJECTS


SUBJECTS = {"i", "you", "we", "they", "he", "she", "it", "will", "would", "can", "could", "to", "i'll", "we'll"}


def names_in_context(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """Everyday words standing where only a name can: after a title, a greeting, "my sister", alone."""
    found = _full_name_as_turn(tokens, vocab)
    for i, token in enumerate(tokens):
        word = token.bare
        if (
            not word.isalpha()
            or word in MONTHS
            or word in WEEKDAYS
            or word in TITLES
            or (vocab.is_not_identifying(word) and (word not in vocab.first_names and word not in vocab.proper))
        ):
            continue
        is_first_name = word in vocab.first_names
        prev = tokens[i - 1] if i > 0 else None
        if _named_by_caller(tokens, i, vocab):
            # "she still calls him min jun": what someone calls a person is their name.
            last = i + 1 if i + 1 < len(tokens) and _name_like(tokens[i + 1], vocab) else i
            found.append(Found(token.start, end_without_possessive(tokens[last]), "NAME", 0.75))
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after_comma = "," in token.before
        titled = prev is not None and prev.lower in TITLES and prev.lower not in ("sister", "brother", "lady", "sir")
        kin_titled = prev is not None and prev.lower in _KIN_TITLES and word not in FUNCTION_WORDS
        named_title = titled and (token.is_capitalised or not vocab.is_common(word) or is_first_name)
        if kin_titled or named_title or (titled and _titled_surname(tokens, i)):
            # "Dr. Pham", "doctor rahimi", "father ramos": the next word is a surname.
            last = i + 1 if is_first_name and _surname_after(tokens, i, vocab) else i
            found.append(Found(token.start, end_without_possessive(tokens[last]), "NAME", 0.8))
            continue
        if not is_first_name:
            continue
        # A name said on its own ("Kayleigh.", "Will?"); an everyday word alone only as a question.
        alone = token.starts_sentence and (
            (nxt is None or nxt.breaks_before(".?!"))
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
                and (prev is None or prev.lower not in _DETERMINERS)  # "down by the river and i hit the floor"
            )
            or (not vocab.is_common(word) and nxt.lower in _ADDRESSED_NEXT and token.starts_sentence)
        )
        # "Georgia's birthday": a possessive before something only people have.
        owning = token.is_capitalised and token.lower.endswith("'s") and nxt is not None and nxt.lower in _PERSONAL
        if addressed or owning:
            found.append(Found(token.start, end_without_possessive(token), "NAME", 0.8))
            continue
        if vocab.is_not_identifying(word):
            continue
        greeted = (
            prev is not None
            and (prev.lower in GREETINGS | {"thank"} or _addressed_after_you(tokens, i))
            and (nxt is None or nxt.lower not in _NOT_A_VOCATIVE_NEXT or nxt.breaks_before(",.?!"))
        )
        # A turn that opens with a greeting greets someone: "afternoon clement you found the room".
        greeted = greeted or (i == 1 and prev is not None and prev.lower in GREETINGS - {"thanks", "sorry"})
        # "hi rowan hi colleen have a seat": a greeted first name that is no everyday word, whatever follows,
        # and any first name greeted right after another name ("hi rowan hi colleen").
        greeted = greeted or (
            prev is not None
            and prev.lower in GREETINGS - {"thanks", "sorry"}
            and (not vocab.is_common(word) or _greets_a_second(tokens, i, vocab))
        )
        related = prev is not None and prev.lower in RELATIONS and i >= 2 and tokens[i - 2].lower in _POSSESSIVES
        closing = (
            nxt is None
            and prev is not None
            and prev.lower in _CLOSERS
            and (prev.lower != "you" or _addressed_after_you(tokens, i))
        )
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
            or nxt.breaks_before(",.?!")
            or nxt.lower in _NAME_FOLLOWERS
        ):
            found.append(Found(token.start, end_without_possessive(token), "NAME", 0.8))
            continue
        speaking = nxt is not None and nxt.lower in _NAME_VERBS and not token.starts_sentence and token.is_capitalised
        # A first name opening a sentence as the one who spoke: "Junior said his uncle wouldn't care".
        speaking = speaking or (
            token.starts_sentence
            and token.is_capitalised
            and nxt is not None
            and nxt.lower in _SPEECH_VERBS
            and word not in RELATIONS | _WORDS_FOR_SOMEONE
        )
        # Without capitals, a first name before what someone says: "on sunday mere said", "every time col tells me".
        speaking = speaking or (
            not token.is_capitalised
            and nxt is not None
            and nxt.lower in _SPEECH_VERBS
            and not nxt.breaks_before()
            and (prev is None or prev.lower not in _DETERMINERS)
            and word not in _NOT_A_SPEAKER
        )
        contacted = prev is not None and prev.lower in _CONTACT_VERBS and word not in _EVERYDAY_FIRST_NAMES
        if alone and not token.is_capitalised:
            alone = False
        # "my sponsor dale the next morning": after a relation, a first name before a new phrase.
        phrase_after = nxt is not None and nxt.lower in _PHRASE_OPENERS and word not in _EVERYDAY_FIRST_NAMES
        # ("my brother will always ...", "my sister may still ...": a verb, not a name.)
        acting = nxt is not None and nxt.lower in _NAME_VERBS and word not in ("will", "may")
        named_relation = related and (after_comma or nxt is None or acting or phrase_after)
        if alone or greeted or named_relation or closing:
            found.append(Found(token.start, end_without_possessive(token), "NAME", 0.75))
        elif (related and token.is_capitalised) or speaking or contacted:
            found.append(Found(token.start, end_without_possessive(token), "NAME", 0.7))
    return found


def _full_name_as_turn(tokens: list[Token], vocab: Vocabulary) -> list[Found]:
    """A turn that is only a first name and one more word is a full name given ("marcus bell").

    The surname may be an everyday word; a word that answers or acts ("okay", "said", "do") is not one.
    """
    if len(tokens) != 2 or tokens[1].breaks_before():
        return []
    first, last = tokens[0].lower, tokens[1].lower
    if first not in vocab.first_names or first in _NOT_A_FIRST_NAME_ALONE:
        return []
    if not tokens[1].bare.isalpha() or last in _NOT_A_VOCATIVE_SURNAME:
        return []
    if last in _ADVERBS or last in SUBJECTS or last.endswith(("ly", "ing")) or vocab.is_not_identifying(last):
        return []
    return [Found(tokens[0].start, end_without_possessive(tokens[1]), "NAME", 0.75)]


_POSSESSIVES = {"my", "our", "his", "her", "their", "your"}


#: Words that open a new phrase after a name ("my sponsor dale the next morning").
_PHRASE_OPENERS = {"the", "a", "an", "this", "last", "yesterday", "today", "tonight", "about", "back"}


#: First names in the census lists that are more often a word for someone ("Ma said", "Man, he said").
_WORDS_FOR_SOMEONE = {"ma", "pa", "man", "guy", "honey", "son", "baby", "buddy", "doc"}


_SPEECH_VERBS = {"said", "says", "told", "tells", "asked", "texted", "replied", "yelled", "whispered"}


#: Verbs a person's full name is the subject of ("the detective hallie strand gave me till friday").
_SUBJECT_VERBS = _NAME_VERBS | _SPEECH_VERBS | {
    "gave", "gives", "sent", "sends", "wrote", "writes", "explained", "mentioned", "thought", "wants", "needs",
    "brought", "took", "takes", "made", "makes", "put", "set", "kept", "helped", "helps", "agreed",
}  # fmt: skip


def _surname_after(tokens: list[Token], i: int, vocab: Vocabulary) -> bool:
    """Is the word after a titled first name its surname, even an everyday word ("detective hallie strand gave")?

    Without capitals only the verb after it tells a surname from the rest of the sentence, so it
    must be followed by what a person does and not itself be such a word or a small word.
    """
    if i + 2 >= len(tokens):
        return False
    surname, verb = tokens[i + 1], tokens[i + 2]
    if surname.breaks_before() or verb.breaks_before() or not surname.bare.isalpha():
        return False
    if surname.lower in _NOT_A_SURNAME_BEFORE_A_VERB:
        return False
    if surname.lower.endswith(("ly", "ing", "ed")) or surname.lower in _ADVERBS:
        return False
    return verb.lower in _SUBJECT_VERBS and not vocab.is_not_identifying(surname.bare)


#: Titles said only before a surname, unless a word before them makes them a job ("a doctor").
_SURNAME_TITLES = {"dr", "doctor", "mr", "mister", "mrs", "missus", "ms", "mx", "professor", "reverend", "detective"}


#: Words that make the title after them a job or a person described, not a form of address.
_JOB_MARKERS = _POSSESSIVES | {
    "a", "an", "the", "this", "that", "every", "any", "some", "no", "another", "each", "which", "what", "whose",
    "family", "new", "other", "own", "real", "good", "bad", "same", "old", "first", "second",
}  # fmt: skip


#: Everyday words that follow a title used as a job ("doctor appointment", "professor said").
_AFTER_A_JOB = {
    "appointment", "appointments", "visit", "visits", "office", "offices", "note", "notes", "bill", "bills",
    "stuff", "who", "which", "when", "where", "why", "how", "because", "if", "about", "thing", "things",
    "shows", "show", "type", "types", "kind", "friend", "friends", "degree", "school", "today", "yesterday",
    "tomorrow", "again", "too", "here", "there", "now", "then", "really", "yeah", "yes", "no", "okay", "please",
}  # fmt: skip

#: Words after a first name that are no surname before a verb.
_NOT_A_SURNAME_BEFORE_A_VERB = FUNCTION_WORDS | _SUBJECT_VERBS | SUBJECTS | _AFTER_A_JOB


def _titled_surname(tokens: list[Token], i: int) -> bool:
    """Is the everyday word after a title a surname ("thank you doctor hale", "with mister wood")?

    Not after a job ("she wants to be a doctor when ..."), nor a word that follows the job.
    """
    title = tokens[i - 1]
    word = tokens[i].lower
    if title.lower not in _SURNAME_TITLES or tokens[i].breaks_before():
        return False
    if i >= 2 and tokens[i - 2].lower in _JOB_MARKERS and not title.breaks_before():
        return False
    if not tokens[i].bare.isalpha() or word in FUNCTION_WORDS or word in _NOT_A_VOCATIVE_NEXT:
        return False
    if word in _SUBJECT_VERBS or word in SUBJECTS or word in _AFTER_A_JOB or word in _ADVERBS:
        return False
    return not word.endswith(("ly", "ing", "ed"))


_ADVERBS = {"just", "also", "still", "always", "never", "even", "then", "only", "now", "once", "too", "finally"}


#: Kin titles that come before a name only ("tita Baby", "tio Nando"), whatever the word.
_KIN_TITLES = {"tita", "tito", "tia", "tio", "lola", "lolo", "kuya"}


_CALLERS = {"calls", "call", "called", "calling", "named", "name", "names"}


def _name_like(token: Token, vocab: Vocabulary) -> bool:
    word = token.bare
    if not word.isalpha() or word in FUNCTION_WORDS or token.breaks_before():
        return False
    return word in vocab.first_names or word in vocab.proper or not vocab.is_common(word)


def _named_by_caller(tokens: list[Token], i: int, vocab: Vocabulary) -> bool:
    """Is ``tokens[i]`` what someone calls a person ("calls him Min-jun", "named her Rosalind")?"""
    if i < 2 or tokens[i - 1].lower not in ("him", "her", "me", "them") or tokens[i - 2].lower not in _CALLERS:
        return False
    return _name_like(tokens[i], vocab)


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
    "yourself", "home",
}  # fmt: skip

#: First names that before "said" are more often someone unnamed or a word ("will said", "mum said").
_NOT_A_SPEAKER = RELATIONS | _WORDS_FOR_SOMEONE | _EVERYDAY_FIRST_NAMES

#: First names that are everyday words or months, and so no name given alone.
_NOT_A_FIRST_NAME_ALONE = _EVERYDAY_FIRST_NAMES | _WORDS_FOR_SOMEONE | MONTHS

#: Second words of a two-word turn that make it no full name ("maya thanks", "leon said").
_NOT_A_VOCATIVE_SURNAME = FUNCTION_WORDS | _NOT_A_VOCATIVE_NEXT | _SUBJECT_VERBS | _CLOSERS


#: Letters in a row that make a word spelled out ("o c a m p o", "M-c-N-a-i-r").
SPELLED_LETTERS = 3


def spelled_out_names(tokens: list[Token]) -> list[Found]:
    """Names spelled out letter by letter ("that's o i s i n", "Noor, N-O-O-R"): three or more single letters.

    People spell out names, not everyday words, so a run of letters is taken for a name;
    an e-mail address or a code spelled the same way is found (and typed) by the contact rules.
    """
    found = []
    i = 0
    while i < len(tokens):
        end = i
        while end < len(tokens) and _is_letter(tokens[end]) and (end == i or tokens[end].before.strip() in ("", "-")):
            end += 1
        letters = {t.lower for t in tokens[i:end]}
        if end - i >= SPELLED_LETTERS and not letters <= {"i", "a"}:  # "i i i don't know" is a stammer
            found.append(Found(tokens[i].start, tokens[end - 1].end, "NAME", 0.7))
        i = max(end, i + 1)
    return found


def _is_letter(token: Token) -> bool:
    return len(token.text) == 1 and token.text.isalpha()
