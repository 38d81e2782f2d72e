"""Every registered stage against the Stage protocol, and how run_pipeline drives them."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pytest
from spoken_session import wav_bytes

from sotto.pipeline.decode import AudioSource
from sotto.pipeline.progress import ProgressBar
from sotto.pipeline.redaction import PassThroughStandIn
from sotto.pipeline.service import DEFAULT_STAGES, PipelineOptions, overall_fraction, run_pipeline
from sotto.pipeline.stages import PipelineError, ReportFraction, Stage, Work, register_stage, registered_stages
from sotto.pipeline.types import Span, Transcript

STAND_IN = PassThroughStandIn()
OPTIONS = PipelineOptions(redactor=STAND_IN, retained_audio=io.BytesIO())


@pytest.mark.parametrize("name", sorted(registered_stages()))
def test_every_registered_stage_implements_the_protocol(name: str) -> None:
    stage = registered_stages()[name](OPTIONS)
    assert isinstance(stage, Stage)
    assert stage.name == name
    assert callable(stage.run)


def test_the_default_stages_are_all_registered() -> None:
    assert set(DEFAULT_STAGES) <= set(registered_stages())


def test_a_second_stage_under_a_taken_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_stage("decode", lambda options: _Marker())


@dataclass
class _Marker:
    """An extension stage, registered exactly as the built-ins are."""

    name: str = "marker"

    def run(self, work: Work, report: ReportFraction) -> None:
        transcript = work.require_transcript(self.name)
        transcript.spans.append(Span(0, 0, 0, "NAME", "phi", "[NAME]"))
        report(0.5)


def test_an_extension_stage_runs_in_the_order_given_with_progress_and_timings() -> None:
    register_stage("marker", lambda options: _Marker(), replace=True)
    silence = wav_bytes([np.zeros(16_000 * 3, dtype=np.float32)], 16_000)
    seen: list[tuple[str, float]] = []
    options = PipelineOptions(stages=("decode", "transcribe", "marker"))
    result = run_pipeline([AudioSource(io.BytesIO(silence))], options=options, progress=lambda *a: seen.append(a))
    assert list(result.timings) == ["decode", "transcribe", "marker"]
    assert result.transcript.spans[0].kind == "NAME"
    assert ("marker", 0.5) in seen
    for stage in options.stages:  # each stage starts at 0 and ends at 1, never going back
        fractions = [f for s, f in seen if s == stage]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_a_redaction_stage_without_a_redactor_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="needs a redactor"):  # no silent pass-through
        run_pipeline([AudioSource(io.BytesIO(b"not read"))], options=PipelineOptions())


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="no pipeline stage named 'insight'"):
        run_pipeline([AudioSource(io.BytesIO(b""))], options=PipelineOptions(stages=("decode", "insight")))


def test_the_stand_in_says_it_removed_nothing() -> None:
    silence = wav_bytes([np.zeros(16_000, dtype=np.float32)], 16_000)
    result = run_pipeline([AudioSource(io.BytesIO(silence))], options=OPTIONS)
    assert result.transcript == Transcript(duration=1.0)
    assert any("STAND-IN" in note for note in result.notes)


def test_unreadable_input_raises_pipeline_error_with_a_message() -> None:
    with pytest.raises(PipelineError) as caught:
        run_pipeline([AudioSource(io.BytesIO(b"hello, this is text"))], options=OPTIONS)
    assert caught.value.kind == "not_audio"
    assert "WAV" in caught.value.message


def test_overall_progress_runs_from_zero_to_one_across_the_stages() -> None:
    assert overall_fraction("decode", 0.0) == 0.0
    assert overall_fraction("redact", 1.0) == pytest.approx(1.0)
    middle = overall_fraction("transcribe", 0.5)
    assert overall_fraction("decode", 1.0) < middle < overall_fraction("speakers", 0.0)


def test_speaker_count_outside_one_to_eight_is_refused() -> None:
    with pytest.raises(ValueError):
        PipelineOptions(speakers=0)


def test_the_progress_display_writes_a_line_per_finished_stage_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for stage in DEFAULT_STAGES:
        for fraction in (0.0, 0.5, 1.0, 1.0):
            bar(stage, fraction)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == list(DEFAULT_STAGES)
    assert all(" done in " in line for line in lines)
