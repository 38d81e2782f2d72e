"""How far a session's processing is, as the session page shows it: one line per stage."""

from __future__ import annotations

from typing import Any

from sotto.recording.models import SessionStatus, TherapySession

#: Processing steps in order, with the words the therapist's page uses for each.
#: (The names are the ones ``sotto.pipeline.tasks`` writes into ``TherapySession.stage``.)
STAGES: dict[str, str] = {
    "queued": "Waiting for a worker",
    "decode": "Reading the audio",
    "transcribe": "Transcribing",
    "speakers": "Telling the speakers apart",
    "redact": "Removing identifiers and sensitive topics",
    "store": "Saving the transcript, encrypted",
    "silence": "Silencing removed passages in the kept audio",
    "finish": "Destroying the original audio",
}


def of(row: TherapySession) -> dict[str, Any]:
    """The session's processing state: overall status, the current stage and every stage's state."""
    current = row.stage if row.stage in STAGES else None
    finished = row.status == SessionStatus.PROCESSED
    order = list(STAGES)
    at = order.index(current) if current else -1
    stages = []
    for index, (name, label) in enumerate(STAGES.items()):
        if finished or index < at:
            state = "done"
        elif index == at and row.status in (SessionStatus.RECORDED, SessionStatus.PROCESSING):
            state = "running"
        else:
            state = "waiting"
        stages.append({"name": name, "label": label, "state": state})
    return {
        "status": row.status,
        "stage": current,
        "fraction": round(row.stage_fraction, 3) if current and not finished else (1.0 if finished else 0.0),
        "stages": stages,
        "problem": row.problem,
        "done": row.status in (SessionStatus.PROCESSED, SessionStatus.FAILED, SessionStatus.SHREDDED),
    }
