"""The "silence" stage: the kept copy of a session's audio, with every removal silenced.

Runs only when the practice keeps audio, after redaction (or from a stored redacted
transcript): every span the redaction stage removed, identifier or passage, is silenced on
every channel, padded for timing error (see ``sotto.pipeline.silence``), and the copy is
written as Ogg/Opus to ``PipelineOptions.retained_audio``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from sotto.pipeline.silence import silenced_intervals, write_silenced_audio
from sotto.pipeline.stages import ReportFraction, Work, register_stage
from sotto.pipeline.types import Audio

if TYPE_CHECKING:
    from sotto.pipeline.service import PipelineOptions


@dataclass
class SilenceStage:
    out: BinaryIO
    name: str = "silence"

    def run(self, work: Work, report: ReportFraction) -> None:
        audio = work.require_audio(self.name)
        transcript = work.require_transcript(self.name)
        write_silenced_audio(_at_most_stereo(audio), silenced_intervals(transcript), self.out)
        report(1.0)


def _at_most_stereo(audio: Audio) -> Audio:
    """The session as the kept copy holds it: one or two channels as they are; more (a
    conference recorder's) mixed down to one, since Opus here carries no more than two.
    Every removal is silenced in the mix as on any channel."""
    if len(audio.channels) <= 2:
        return audio
    mixed = np.zeros(max(len(signal) for signal in audio.channels), dtype=np.float32)
    for signal in audio.channels:
        mixed[: len(signal)] += signal
    mixed /= np.float32(len(audio.channels))
    return Audio(sample_rate=audio.sample_rate, channels=[mixed], duration=audio.duration)


def _build(options: PipelineOptions) -> SilenceStage:
    if options.retained_audio is None:
        raise ValueError("the 'silence' stage needs somewhere to write: give PipelineOptions(retained_audio=...)")
    return SilenceStage(out=options.retained_audio)


register_stage("silence", _build)
