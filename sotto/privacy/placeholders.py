"""Typed, numbered placeholders that stay the same for the same thing throughout a session.

"[Name 1]" is one person however they are called: "Maria", "Maria Lopez" and "Ms. Lopez"
share a number, and so do a short form and the name it starts ("Val", "Valentina").
Other types are numbered by what was said, read loosely (case, spacing, "the" before a
date). Ages are never numbered: "[Age]" reads well and a number would only invite linking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sotto.privacy.phi_name_words import FORMAL_TITLES

LABELS = {
    "NAME": "Name",
    "LOCATION": "Place",
    "ORG": "Organisation",
    "DATE": "Date",
    "CONTACT": "Contact",
    "ID": "ID",
    "AGE": "Age",
}


@dataclass
class _Person:
    number: int
    parts: set[str]


@dataclass
class PlaceholderBook:
    """One session's numbering; ``placeholder`` returns the text that replaces an identifier."""

    _people: list[_Person] = field(default_factory=list)
    _numbers: dict[str, dict[str, int]] = field(default_factory=dict)

    def placeholder(self, kind: str, text: str) -> str:
        """The placeholder for identifier ``text`` of type ``kind``, e.g. "[Name 2]" or "[Age]"."""
        label = LABELS[kind]
        if kind == "AGE":
            return f"[{label}]"
        number = self._person(text) if kind == "NAME" else self._numbered(kind, _key(text))
        return f"[{label} {number}]"

    def _numbered(self, kind: str, key: str) -> int:
        numbers = self._numbers.setdefault(kind, {})
        return numbers.setdefault(key, len(numbers) + 1)

    def _person(self, text: str) -> int:
        parts = set(_name_parts(text))
        if not parts:
            return self._numbered("NAME", _key(text))
        # The most recently mentioned person whose name this could be.
        for person in reversed(self._people):
            if _same_person(parts, person.parts):
                person.parts |= parts
                self._people.remove(person)
                self._people.append(person)
                return person.number
        person = _Person(number=len({p.number for p in self._people}) + 1, parts=parts)
        self._people.append(person)
        return person.number


def _key(text: str) -> str:
    words = re.findall(r"[\w]+", text.lower())
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _name_parts(text: str) -> list[str]:
    words = [w.removesuffix("'s").removesuffix("’s") for w in re.findall(r"[\w'’]+", text.lower())]
    return [w for w in words if w and w not in FORMAL_TITLES]


def _same_person(parts: set[str], known: set[str]) -> bool:
    if parts <= known or known <= parts:
        return True
    # A short form and the name it begins: "val" and "valentina", "des" and "desmond".
    if len(parts) == 1 and len(known) >= 1:
        (part,) = parts
        return any(len(min(part, k, key=len)) >= 3 and (k.startswith(part) or part.startswith(k)) for k in known)
    return False
