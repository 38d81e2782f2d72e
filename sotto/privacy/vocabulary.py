"""The word lists the recognisers consult, read once per process from ``sotto/privacy/data``.

``build_wordlists.py`` explains where the generated lists come from; ``not_identifying.txt``
and ``more_first_names.txt`` are kept by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

#: Spoken forms that a dictionary lacks but conversation is full of (contractions written without
#: the apostrophe, as some recognisers do, fillers and casual words).
SPEECH_WORDS = frozenset(
    [
        "im",
        "ive",
        "id",
        "ill",
        "youre",
        "youve",
        "youd",
        "youll",
        "hes",
        "shes",
        "its",
        "were",
        "theyre",
        "theyve",
        "theyd",
        "theyll",
        "weve",
        "wed",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "couldnt",
        "wouldnt",
        "shouldnt",
        "wont",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "havent",
        "hasnt",
        "hadnt",
        "thats",
        "whats",
        "wheres",
        "whos",
        "hows",
        "theres",
        "heres",
        "lets",
        "aint",
        "yall",
        "gonna",
        "wanna",
        "gotta",
        "kinda",
        "sorta",
        "lotta",
        "yeah",
        "yep",
        "yup",
        "nope",
        "nah",
        "uh",
        "um",
        "uhm",
        "hmm",
        "mm",
        "mhm",
        "huh",
        "oh",
        "ah",
        "aw",
        "ok",
        "okay",
        "alright",
        "hey",
        "hi",
        "bye",
        "email",
        "emails",
        "texting",
        "texted",
        "online",
        "covid",
        "cellphone",
        "smartphone",
        "laptop",
        "voicemail",
        "selfie",
        "grandkids",
        "grandkid",
        "teen",
        "teens",
        "meds",
        "workout",
        "hangout",
        "meetup",
        "hotline",
        "hotlines",
    ]
)


@dataclass(frozen=True)
class Vocabulary:
    """Lower-cased word sets: common words, capitalised-only words, first names, and what never identifies."""

    common: frozenset[str]
    proper: frozenset[str]
    first_names: frozenset[str]
    not_identifying: frozenset[str]
    places: frozenset[str] = frozenset()

    def is_common(self, word: str) -> bool:
        """True for an everyday English word (in any inflection the dictionary lists)."""
        word = _bare(word)
        return word in self.common or word in SPEECH_WORDS or word.isdigit()

    def is_not_identifying(self, phrase: str) -> bool:
        """True for a country, state, nationality, faith, holiday, weekday, kin word, medicine or brand."""
        return _bare(phrase) in self.not_identifying

    def looks_like_name(self, word: str) -> bool:
        """True when a lower-cased word is more likely a name or place than an everyday word."""
        bare = _bare(word)
        return not (len(bare) < 2 or not bare.isalpha() or self.is_common(bare) or bare in self.not_identifying)


_FUNCTION_WORD_NAMES = frozenset(["in", "so", "an", "my", "on", "at", "to", "of", "by", "or", "as", "if", "is"])


def _bare(word: str) -> str:
    word = word.lower().strip("'")
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _read(name: str) -> frozenset[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@cache
def vocabulary() -> Vocabulary:
    """The process-wide word lists (read on first use)."""
    return Vocabulary(
        common=_read("common_words.txt"),
        proper=_read("proper_nouns.txt"),
        # Census first names include a few function words ("In", "So", "An", "My") that would
        # otherwise be taken for a name after "met" or "call".
        first_names=(_read("first_names.txt") | _read("more_first_names.txt")) - _FUNCTION_WORD_NAMES,
        not_identifying=_read("not_identifying.txt"),
        places=_read("places.txt"),
    )
