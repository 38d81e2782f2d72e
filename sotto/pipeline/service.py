"""Run a session's recordings through the pipeline stages: `run_pipeline`.

    result = run_pipeline(
        [AudioSource(reader)],
        options=PipelineOptions(speakers=2, redactor=PrivacyEngineRedactor()),
        progress=lambda stage, fraction: ...,
    )
    result.transcript, result.timings

The stages run in the order of ``options.stages``, each built from the registry in
``sotto.pipeline.stages``. Audio stays in memory and is dropped when the run ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from sotto.pipeline.decode import AudioSource
from sotto.pipeline.redaction import TranscriptRedactor
from sotto.pipeline.stages import PipelineError, Work, build_stage
from sotto.pipeline.transcribe import WhisperSettings
from sotto.pipeline.types import Transcript
from sotto.pipeline.voice import VoiceProfile

DEFAULT_STAGES = ("decode", "transcribe", "speakers", "redact")

ProgressCallback = Callable[[str, float], None]
"""Called with a stage's name and how much of that stage is done (0.0 to 1.0)."""

# How much of a typical run each stage takes, for one overall progress figure.
STAGE_WEIGHTS = {"decode": 0.02, "transcribe": 0.92, "speakers": 0.03, "redact": 0.03, "silence": 0.05}


@dataclass(frozen=True)
class PipelineOptions:
    """What a run does. `speakers` is the number of people in the room (2 individual, 3-4
    couples or family); `therapist_voice` an enrolled profile that picks the therapist."""

    whisper: WhisperSettings = field(default_factory=WhisperSettings)
    speakers: int = 2
    therapist_voice: VoiceProfile | None = None
    redactor: TranscriptRedactor | None = None
    stages: tuple[str, ...] = DEFAULT_STAGES
    max_seconds: float = 4 * 3600.0
    # Where the "silence" stage writes the kept copy of the audio (a write-only binary stream).
    retained_audio: BinaryIO | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.speakers <= 8:
            raise ValueError("speakers must be between 1 and 8")


@dataclass
class PipelineResult:
    transcript: Transcript
    timings: dict[str, float]  # seconds per stage, in the order run
    notes: list[str]  # for the operator: e.g. a stand-in stage; never transcript content


def run_pipeline(
    sources: Sequence[AudioSource],
    *,
    options: PipelineOptions,
    progress: ProgressCallback | None = None,
    transcript: Transcript | None = None,
) -> PipelineResult:
    """Decode, transcribe, attribute and redact one session; raise PipelineError for unusable input.

    ``transcript`` resumes a run from a stored (redacted) transcript: the stages in
    ``options.stages`` then continue from it, e.g. ``("decode", "silence")``.
    """
    stages = [build_stage(name, options) for name in options.stages]  # refuse a bad setup before any work
    work = Work(sources=sources, transcript=transcript)
    timings: dict[str, float] = {}
    for stage in stages:

        def report(fraction: float, name: str = stage.name) -> None:
            if progress is not None:
                progress(name, max(0.0, min(fraction, 1.0)))

        report(0.0)
        began = time.perf_counter()
        stage.run(work, report)
        timings[stage.name] = time.perf_counter() - began
        report(1.0)
    if work.transcript is None:
        raise PipelineError("no_transcript", "The pipeline ran no stage that produces a transcript.")
    work.audio = None
    return PipelineResult(transcript=work.transcript, timings=timings, notes=work.notes)


def overall_fraction(stage: str, fraction: float, stages: Sequence[str] = DEFAULT_STAGES) -> float:
    """One figure for a whole run from a stage's own progress, weighted by typical stage cost."""
    weights = [STAGE_WEIGHTS.get(name, 0.01) for name in stages]
    total = sum(weights)
    done = 0.0
    for name, weight in zip(stages, weights, strict=True):
        if name == stage:
            return (done + weight * fraction) / total
        done += weight
    return 0.0
