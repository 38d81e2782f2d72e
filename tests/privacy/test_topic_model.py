"""The sentence model (all-MiniLM-L6-v2 run with NumPy) and the classifier that confirms weak cues."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sotto.privacy import topics
from sotto.privacy.sentence_model import SentenceModel, SentenceModelMissing, model_dir, sentence_model
from sotto.privacy.settings import TOPICS
from sotto.privacy.topic_model import OUTPUTS, topic_classifier
from sotto.privacy.topics import find_passages, weak_cue_units

SOTTO = Path(sys.executable).parent / "sotto"


def test_sentences_about_the_same_thing_are_closer_than_unrelated_ones() -> None:
    relapse, pills, hike = sentence_model().encode(
        [
            "I relapsed at the weekend and used again after eight months clean.",
            "I slipped and took some of the pills again on Saturday night.",
            "We went for a long walk by the river on Saturday and had lunch.",
        ]
    )
    assert np.allclose(np.linalg.norm([relapse, pills, hike], axis=1), 1.0, atol=1e-5)
    assert relapse @ pills > relapse @ hike + 0.15


def test_a_repeated_text_is_encoded_once_and_the_same_as_alone() -> None:
    model = sentence_model()
    alone = model.encode(["My sister moved to a new flat."])
    rows = model.encode(["My sister moved to a new flat.", "Work was busy.", "My sister moved to a new flat."])
    assert rows.shape == (3, 384)
    assert np.allclose(rows[0], alone[0], atol=1e-5)
    assert np.array_equal(rows[0], rows[2])
    assert model.encode([]).shape == (0, 384)


def test_a_text_longer_than_the_model_takes_is_cut_not_refused() -> None:
    (row,) = sentence_model().encode(["and then we talked about work " * 200])
    assert np.isfinite(row).all()


def test_the_classifier_gives_a_probability_for_every_output() -> None:
    (probabilities,) = topic_classifier().probabilities(["It was a quiet week."], ["It was a quiet week."])
    assert set(probabilities) == set(OUTPUTS)
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert max(probabilities, key=lambda k: probabilities[k]) == "none"


def test_a_weak_cue_counts_where_the_sentence_is_a_disclosure_and_not_in_a_look_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    disclosure = "My partner is a woman and my parents still call her my roommate."
    look_alike = "My business partner wants to expand the shop."
    for text in (disclosure, look_alike):
        assert [weak for _, _, weak in weak_cue_units(text, TOPICS)] == [{"sogi"}], text
    # Each on its own, as the opening of a session: nothing is being discussed yet.
    assert [(p.turn, p.category) for p in find_passages([disclosure], TOPICS)] == [(0, "sogi")]
    assert find_passages([look_alike], TOPICS) == []
    # The classifier is what tells them apart: without it, one weak cue marks nothing.
    monkeypatch.setattr(topics, "CONFIRM_PROBABILITY", 1.01)
    assert find_passages([disclosure], TOPICS) == []


def test_a_missing_sentence_model_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(SentenceModelMissing, match=r"model\.safetensors and tokenizer\.json"):
        SentenceModel(tmp_path)
    line = json.dumps({"id": "x", "turns": [{"speaker": "client", "text": "My papers are in a drawer somewhere."}]})
    proc = subprocess.run(
        [str(SOTTO), "redact", "--jsonl"],
        input=line + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "SOTTO_SENTENCE_MODEL_DIR": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "model.safetensors and tokenizer.json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_the_model_is_found_in_the_installed_package_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOTTO_SENTENCE_MODEL_DIR", raising=False)
    assert (model_dir() / "model.safetensors").is_file()
