"""The redaction targets, measured by the shared scorer on our own invented transcripts.

The transcripts under ``data/`` are invented for these tests (new people, places and settings;
several in speech-recognition style). The scorer and the format are the shared ones in
``../shared/data``; the test is skipped where that folder is not present.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from asr_style import convert_file, convert_line

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
SCORER = SHARED / "score_redaction.py"
SOTTO = Path(sys.executable).parent / "sotto"


def score(directory: Path, min_phi_recall: float = 0.98, min_topic_recall: float = 0.95) -> str:
    proc = subprocess.run(
        [sys.executable, str(SCORER), "--cmd", f"{SOTTO} redact --jsonl", str(directory),
         "--min-phi-recall", str(min_phi_recall), "--min-topic-recall", str(min_topic_recall),
         "--max-over", "0.05"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not SCORER.exists(), reason="the shared scorer is not beside the project")
@pytest.mark.xfail(
    strict=True,
    reason="inv-008..011 and inv-015..016 were written after tuning, as held-out checks; inv-012..016 add "
    "implicit disclosures and follow-up turns: on the whole set identifier recall is 0.979 and passage recall "
    "0.916 (over-removal 0.047), short of 0.98 / 0.95",
)
def test_invented_transcripts_meet_the_targets() -> None:
    # The real targets, unchanged: this test starts to pass (and so, being strict, to fail as an
    # xfail) the day the redactor meets them on every invented transcript.
    assert score(HERE / "data").endswith(" ok")


@pytest.mark.slow
@pytest.mark.skipif(not SCORER.exists(), reason="the shared scorer is not beside the project")
def test_invented_transcripts_in_speech_recognition_style_meet_the_targets(tmp_path: Path) -> None:
    for source in sorted((HERE / "data").glob("*.txt")):
        (tmp_path / source.name).write_text(convert_file(source), encoding="utf-8")
    # Not the targets: what the redactor holds to today on speech-recognition text (measured
    # 0.974 / 0.916 / 0.048 with inv-012..016). Names that are everyday words used once ("rich will be
    # there"), organisations and places named only in lower-case everyday words with no head ("the
    # riverside rockets", "east linden"), and passages with no cue phrase ("i check the portal ten times
    # a day") are what keep it under 0.98 / 0.95.
    assert score(tmp_path, min_phi_recall=0.94, min_topic_recall=0.91).endswith(" ok")


def test_speech_recognition_style_keeps_marks_around_the_converted_words() -> None:
    import random

    line = "My cell, [CONTACT:508-555-0163]. Dr. [NAME:Pham] saw me on [DATE:August 9th, 1972]; I'm [AGE:52]."
    converted = convert_line(line, random.Random(0), drop_apostrophes=False)
    assert converted.startswith("my cell [CONTACT:five ")
    assert "doctor [NAME:pham] saw me on [DATE:august ninth nineteen seventy two]" in converted
    assert converted.endswith("i'm [AGE:fifty two]")


def test_a_possessive_after_a_mark_stays_attached() -> None:
    import random

    assert (
        convert_line("That [NAME:Bill]'s gone.", random.Random(0), drop_apostrophes=False) == "that [NAME:bill]'s gone"
    )
