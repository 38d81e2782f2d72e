"""Logging set-up. Log lines carry ids and kinds of events, never content, names or addresses."""

from __future__ import annotations

import logging
import re

# Link tokens are credentials: keep them out of access logs.
_TOKEN_PATH = re.compile(r"/(c|my|enrol)/[A-Za-z0-9_\-]{16,}")


class RedactLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_PATH.sub(r"/\1/…", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_PATH.sub(r"/\1/…", record.msg)
        return True


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("uvicorn.access", "uvicorn.error", ""):
        logging.getLogger(name).addFilter(RedactLinkTokens())
    # pyHanko logs certificate subjects (which can name a person) with its tracebacks; a
    # failed seal check is reported to the user through SealCheck.problem instead.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
