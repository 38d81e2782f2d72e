"""The "silence" stage: the kept copy of a session's audio, with every removal silenced.

Runs only when the practice keeps audio, after redaction (or from a stored redacted
transcript): every span the redaction stage removed, identifier or passage, is silenced on
every channel, padded for timing error (see ``sotto.pipeline.silence``), and the copy is
written as Ogg/Opus to ``PipelineOptions.retained_audio``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from sotto.pipeline.silence import silenced_intervals, write_silenced_audio
from sotto.pipeline.stages import ReportFraction, Work, register_stage

if TYPE_CHECKING:
    from sotto.pipeline.service import PipelineOptions


@dataclass
class SilenceStage:
    out: BinaryIO
    name: str = "silence"

    def run(self, work: Work, report: ReportFraction) -> None:
        audio = work.require_audio(self.name)
        transcript = work.require_transcript(self.name)
        write_silenced_audio(audio, silenced_intervals(transcript), self.out)
        report(1.0)


def _build(options: PipelineOptions) -> SilenceStage:
    if options.retained_audio is None:
        raise ValueError("the 'silence' stage needs somewhere to write: give PipelineOptions(retained_audio=...)")
    return SilenceStage(out=options.retained_audio)


register_stage("silence", _build)
