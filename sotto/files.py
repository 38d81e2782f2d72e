"""Writing private files safely: readable only by Sotto, and never half-written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private_file(path: Path, data: bytes | bytearray) -> None:
    """Replace ``path`` with ``data``, mode 0600, so that a crash leaves the old file or the new one.

    The data goes to a temporary name in the same folder, is synced, then renamed over
    ``path``; the folder is synced too, so the rename survives a power cut.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
