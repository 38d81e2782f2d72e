"""Sessions as JSON Lines in, redacted sessions out: the ``sotto redact --jsonl`` contract.

Each input line is one session, ``{"id": "...", "turns": [{"speaker": "...", "text": "..."}]}``;
each output line is the same session with every turn's ``text`` redacted and everything else
(id, speakers, other keys) unchanged, in input order. Blank lines are skipped. A line that is
not such a session stops the run: the sessions before it have been written, and
``SessionError`` says which line failed and why, without quoting it (it may hold a transcript).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, NoReturn, TextIO

from sotto.privacy.engine import Redactor
from sotto.privacy.settings import PrivacySettings


class SessionError(ValueError):
    """An input line is not a session; the message names the line and never quotes it."""


class _NoJsonNumber(ValueError):
    """NaN, Infinity, or a number past a float's range (which Python would read as Infinity)."""


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _NoJsonNumber(token)
    return value


def _not_a_number(token: str) -> NoReturn:
    # Python reads NaN and Infinity, which JSON does not have: echoed back, the line would not be JSON.
    raise _NoJsonNumber(token)


def parse_session(line: str, number: int) -> dict[str, Any]:
    """The session on input line ``number``, checked against the contract."""
    try:
        session = json.loads(line, parse_float=_finite, parse_constant=_not_a_number)
    except _NoJsonNumber:
        raise SessionError(f"line {number}: not valid JSON (NaN, Infinity or a number too large to carry)") from None
    except json.JSONDecodeError as exc:
        raise SessionError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except (ValueError, RecursionError):  # a number thousands of digits long, or lists nested thousands deep
        raise SessionError(f"line {number}: not valid JSON (a number too long or nesting too deep)") from None
    try:
        # Bytes that are not UTF-8 (read as lone surrogates) or a lone "\ud800" escape: no text
        # model reads them and no UTF-8 output can hold them.
        json.dumps(session, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise SessionError(f"line {number}: not UTF-8 text (a byte or a \\u escape that is not a character)") from None
    if not isinstance(session, dict):
        raise SessionError(f"line {number}: a session must be a JSON object")
    turns = session.get("turns")
    if not isinstance(turns, list):
        raise SessionError(f'line {number}: "turns" must be a list')
    for k, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or not isinstance(turn.get("text", ""), str):
            raise SessionError(f'line {number}: turn {k} must be an object with a string "text"')
    return session


def redact_session(session: dict[str, Any], redactor: Redactor, settings: PrivacySettings) -> dict[str, Any]:
    """A copy of ``session`` with each turn's text redacted."""
    turns = session["turns"]
    pairs = [(str(turn.get("speaker", "")), turn.get("text", "")) for turn in turns]
    result = redactor.redact_turns(pairs, settings)
    redacted = [{**turn, "text": text} for turn, text in zip(turns, result.texts, strict=True)]
    return {**session, "turns": redacted}


def redact_lines(lines: Iterable[str], out: TextIO, redactor: Redactor, settings: PrivacySettings) -> int:
    """Redact each session line from ``lines`` to ``out`` (flushed per line); returns how many.

    Raises ``SessionError`` at the first line that is not a session.
    """
    count = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        session = parse_session(line, number)
        out.write(json.dumps(redact_session(session, redactor, settings), ensure_ascii=False) + "\n")
        out.flush()
        count += 1
    return count
