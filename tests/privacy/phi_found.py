"""What the identifier finder reports for one text, for the tests that check a phrase at a time."""

from __future__ import annotations

from collections.abc import Callable

from sotto.privacy.engine import default_redactor
from sotto.privacy.found import Found
from sotto.privacy.tokens import Token, tokenize


def found_items(text: str) -> list[Found]:
    """What the whole identifier finder (Presidio, spaCy and our rules) finds in ``text``."""
    (items,) = default_redactor()._phi.find([text])
    return items


def found(text: str) -> dict[str, str]:
    """The same as text -> type."""
    return {text[f.start : f.end]: f.kind for f in found_items(text)}


def spans(rule: Callable[[str, list[Token]], list[Found]], text: str) -> list[str]:
    """What one rule (``find_ages``, ``find_ids`` ...) finds in ``text``."""
    return [text[f.start : f.end] for f in rule(text, tokenize(text))]
