"""Background work for transcripts: removing the blobs of destroyed ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sotto.db import truncate_write_ahead_log
from sotto.jobs.service import task
from sotto.review import service

if TYPE_CHECKING:
    from sotto.runtime import Runtime


@task("review.delete_blobs")
def delete_blobs(runtime: Runtime, *, transcript_ids: list[str]) -> None:
    """Remove the blobs of transcripts whose keys are already destroyed, and the keys' last copies."""
    service.delete_transcript_blobs(runtime.blobs, transcript_ids=transcript_ids)
    truncate_write_ahead_log(runtime.engine)
