"""Searching everything Sotto stored for bytes that must not be there."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import select

from sotto.db import session_scope
from sotto.models import metadata
from sotto.runtime import Runtime


def database_bytes(runtime: Runtime) -> bytes:
    """Every value of every row of every table, as bytes (works the same on SQLite and PostgreSQL)."""
    parts: list[bytes] = []
    with session_scope(runtime.sessions) as session:
        for table in metadata.sorted_tables:
            for row in session.execute(select(table)):
                for value in row:
                    parts.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\x00".join(parts)


def files_bytes(*folders: Path) -> bytes:
    parts = []
    for folder in folders:
        if folder.exists():
            parts += [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    return b"\x00".join(parts)


def stored_anywhere(runtime: Runtime, needle: bytes) -> list[str]:
    """Where ``needle`` appears: the database, the data directory, the temp directory."""
    found = []
    if needle in database_bytes(runtime):
        found.append("database")
    if needle in files_bytes(runtime.settings.data_dir):
        found.append("data directory")
    if needle in files_bytes(Path(tempfile.gettempdir())):
        found.append("temp directory")
    return found


def unique_pdf_parts(pdf: bytes) -> list[bytes]:
    """Parts found only in this PDF: the seal's signature value (as the PDF spells it, in hex).

    Fonts, the certificate and page furniture are the same in every consent PDF, so
    searching for them would find other tests' files, not a leak.
    """
    start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
    hex_value = pdf[start : pdf.index(b">", start)].rstrip(b"0")
    assert len(hex_value) > 512
    return [hex_value[-256:], hex_value[-512:-256]]


def distinctive_slices(data: bytes, *, count: int = 4, width: int = 48) -> list[bytes]:
    """Windows of ``data`` varied enough that finding one elsewhere means the data was copied.

    Only meaningful for data made unique to the test (random content), see ``unique_pdf_parts``.
    """
    found: list[bytes] = []
    step = max(width, len(data) // (count * 4))
    for start in range(0, len(data) - width, step):
        window = data[start : start + width]
        if len(set(window)) >= width * 2 // 3:
            found.append(window)
        if len(found) == count:
            break
    assert len(found) == count, "not enough varied bytes to search for"
    return found
