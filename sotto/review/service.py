"""Store, read, relabel and destroy a session's redacted transcript. Services never commit.

Only a transcript that has been through redaction reaches `store_transcript`: the
pipeline keeps the unredacted one in memory (DESIGN, invariant 5). Speaker corrections
are kept beside the encrypted blob as labels, so fixing a label never rewrites content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto.crypto.datakeys import create_data_key, destroy_data_key, load_data_key
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_row
from sotto.pipeline.serialise import dump_transcript, load_transcript
from sotto.pipeline.speakers import speaker_label
from sotto.pipeline.types import Transcript
from sotto.recording.models import TherapySession
from sotto.review.models import SessionTranscript
from sotto.storage.blobs import BlobStore
from sotto.storage.encrypted import ObjectWriter, delete_object, read_object

TRANSCRIPT_PREFIX = "transcripts"
# Larger pieces would only make a reader hold more at once; a transcript is a few hundred kB.
_PIECE = 256 * 1024


def store_transcript(
    session: Session, *, keystore: KeyStore, store: BlobStore, session_id: str, transcript: Transcript
) -> SessionTranscript:
    """Encrypt a redacted transcript under a new data key; the row and key land when the caller commits.

    If the transaction rolls back, the blob written here is noise: its key never existed.
    """
    key_id, key = create_data_key(session, keystore=keystore, purpose="transcript")
    row = SessionTranscript(session_id=session_id, data_key_id=key_id, segments=len(transcript.segments))
    session.add(row)
    session.flush()
    data = dump_transcript(transcript)
    writer = ObjectWriter(store, key, prefix=TRANSCRIPT_PREFIX, object_id=row.id)
    for at in range(0, len(data), _PIECE):
        writer.append(data[at : at + _PIECE])
    writer.close()
    return row


def transcript_row(session: Session, *, session_id: str) -> SessionTranscript | None:
    return session.scalars(select(SessionTranscript).where(SessionTranscript.session_id == session_id)).first()


def read_transcript(session: Session, *, keystore: KeyStore, store: BlobStore, row: SessionTranscript) -> Transcript:
    """The stored transcript with the therapist's speaker corrections applied.

    Raises KeyDestroyed once the transcript has been deleted.
    """
    return apply_labels(read_stored(session, keystore=keystore, store=store, row=row), row)


def read_stored(session: Session, *, keystore: KeyStore, store: BlobStore, row: SessionTranscript) -> Transcript:
    """The transcript exactly as the pipeline stored it (speaker corrections not applied)."""
    from sotto.crypto.datakeys import KeyDestroyed

    if row.data_key_id is None:
        raise KeyDestroyed(row.id)
    key = load_data_key(session, keystore=keystore, key_id=row.data_key_id)
    return load_transcript(b"".join(read_object(store, key, prefix=TRANSCRIPT_PREFIX, object_id=row.id)))


def apply_labels(transcript: Transcript, row: SessionTranscript) -> Transcript:
    relabel = row.relabel or {}
    fixed = row.segment_labels or {}
    segments = [
        replace(segment, speaker=fixed.get(str(index), relabel.get(segment.speaker, segment.speaker)))
        for index, segment in enumerate(transcript.segments)
    ]
    return replace(transcript, segments=segments)


def is_label(label: str) -> bool:
    """Whether this is a speaker label Sotto uses: therapist, client, client2 ... client8."""
    return label in {speaker_label(n) for n in range(9)}


def speaker_choices(transcript: Transcript, *, speakers: int) -> list[str]:
    """The labels a segment may be given: everyone in the room, plus any label already used."""
    labels = [speaker_label(n) for n in range(max(speakers, 2))]
    labels += sorted({s.speaker for s in transcript.segments} - set(labels))
    return labels


def labels_version(row: SessionTranscript) -> str:
    """A short fingerprint of the current speaker corrections, carried by the swap form so that
    a second submission of the same form (a double click) does not swap the speakers back."""
    state = json.dumps([row.relabel or {}, row.segment_labels or {}], sort_keys=True)
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def swap_speakers(
    session: Session, *, row: SessionTranscript, first: str, second: str, version: str | None = None
) -> bool:
    """Exchange two speakers' labels throughout the transcript (single-segment fixes included).

    With ``version``, only if the labels are still as the form showed them; False when not.
    """
    lock_row(session, SessionTranscript, row.id)
    session.refresh(row)
    if version is not None and version != labels_version(row):
        return False

    def swapped(label: str) -> str:
        return second if label == first else first if label == second else label

    relabel = dict(row.relabel or {})
    for original in {first, second, *relabel}:
        relabel[original] = swapped(relabel.get(original, original))
    row.relabel = {k: v for k, v in relabel.items() if k != v}
    row.segment_labels = {k: swapped(v) for k, v in (row.segment_labels or {}).items()}
    return True


def set_segment_speaker(session: Session, *, row: SessionTranscript, index: int, speaker: str) -> None:
    lock_row(session, SessionTranscript, row.id)
    session.refresh(row)
    if not 0 <= index < row.segments:
        raise ValueError("no such segment")
    row.segment_labels = {**(row.segment_labels or {}), str(index): speaker}


def shred_transcript(session: Session, *, session_id: str) -> list[str]:
    """Destroy the transcript's data key (the crypto-shred) and its row, speaker corrections
    included; returns the ids whose blobs a job must still delete."""
    # The pipeline stores a transcript under a lock on its session's row: wait for that
    # transaction, so a transcript committed meanwhile is found here, not left behind.
    lock_row(session, TherapySession, session_id)
    gone: list[str] = []
    for row in session.scalars(select(SessionTranscript).where(SessionTranscript.session_id == session_id)):
        if row.data_key_id is not None:
            destroy_data_key(session, key_id=row.data_key_id)
        gone.append(row.id)
        session.delete(row)
    return gone


def delete_transcript_blobs(store: BlobStore, *, transcript_ids: list[str]) -> None:
    for transcript_id in transcript_ids:
        delete_object(store, prefix=TRANSCRIPT_PREFIX, object_id=transcript_id)
