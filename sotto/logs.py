"""Logging set-up. Log lines carry ids and kinds of events, never content, names or addresses."""

from __future__ import annotations

import logging
import re
from typing import Any

# Link tokens are credentials: keep them out of access logs.
_TOKEN_PATH = re.compile(r"/(c|my|enrol)/[A-Za-z0-9_\-]{16,}")


class RedactLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact(record)
        return True


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """Replace link tokens in the finished message (the path and the token may come apart in msg and args)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed call; logging reports it itself
        return record
    cleaned = _TOKEN_PATH.sub(r"/\1/…", message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    return record


def _install_record_redaction() -> None:
    """Redact as each record is created, so no handler or logger can be missed."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "sotto_redacts", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact(make_record(*args, **kwargs))

    redacting_factory.sotto_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _install_record_redaction()
    # pyHanko logs certificate subjects (which can name a person) with its tracebacks; a
    # failed seal check is reported to the user through SealCheck.problem instead.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
