"""The sentence model (all-MiniLM-L6-v2 run with NumPy) and the passage model built on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sotto.privacy import passage_model as passage_module
from sotto.privacy import topics
from sotto.privacy.passage_model import (
    OUTPUTS,
    STRIDE,
    WINDOW,
    bottom_layers_shared,
    conversation,
    identifier_model,
    passage_model,
    window_starts,
)
from sotto.privacy.sentence_model import SentenceModel, SentenceModelMissing, model_dir, sentence_model
from sotto.privacy.settings import TOPICS
from sotto.privacy.topics import find_passages

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


def test_the_passage_model_gives_each_turn_and_sentence_a_probability_for_every_output() -> None:
    texts = ["It was a quiet week.", "Mostly work, and then my sister visited on Sunday."]
    judged = passage_model().judge(texts, ["therapist", "client"], [[(0, 20)], [(0, 25), (26, 51)]])
    assert [len(turn.units) for turn in judged] == [1, 2]
    for turn in judged:
        for probabilities in [turn.turn, *turn.units]:
            assert set(probabilities) == set(OUTPUTS)
            assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
            assert max(probabilities, key=lambda k: probabilities[k]) == "none"
    # A turn that is one sentence is judged as that sentence.
    assert judged[0].turn == pytest.approx(judged[0].units[0])
    assert passage_model().judge([], None, []) == []


def test_topics_are_judged_by_the_two_models_together(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["What brings you in?", "I got a DUI in March and the court took my licence.", "How has that been?"]
    speakers = ["therapist", "client", "therapist"]
    units = [[(0, len(text))] for text in texts]
    alone = [passage_model().judge(texts, speakers, units), identifier_model().judge(texts, speakers, units)]
    together = passage_module.judge_topics(texts, speakers, units)
    for turn, (own, other) in enumerate(zip(*alone, strict=True)):
        share = passage_module.IDENTIFIER_MODEL_SHARE
        expected = {k: (1 - share) * own.turn[k] + share * other.turn[k] for k in OUTPUTS}
        assert together[turn].turn == pytest.approx(expected, abs=1e-5)
    assert alone[0][1].turn != pytest.approx(alone[1][1].turn, abs=1e-3)  # two models, two answers
    assert together[1].turn["criminal"] > 0.5
    # The identifier model's reading, when the caller has it, is used as it is, not made again.
    reading = identifier_model().read(texts, speakers)
    monkeypatch.setattr(passage_module, "identifier_model", lambda: pytest.fail("read the session again"))
    assert passage_module.judge_topics(texts, speakers, units, identifiers=reading) == together


def test_the_engine_reads_a_session_once_with_each_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from sotto.privacy.engine import default_redactor
    from sotto.privacy.settings import PrivacySettings

    readers: list[object] = []
    read = passage_module.PassageModel.read

    def counted(model: passage_module.PassageModel, texts: list[str], speakers: list[str] | None) -> object:
        readers.append(model)
        return read(model, texts, speakers)

    monkeypatch.setattr(passage_module.PassageModel, "read", counted)
    turns = [("therapist", "How was the week?"), ("client", "I relapsed on Friday after six months sober.")]
    result = default_redactor().redact_turns(turns, PrivacySettings.default())
    assert "relapsed" not in result.texts[1]
    assert sorted(map(id, readers)) == sorted(map(id, [passage_model(), identifier_model()]))


def test_a_reading_of_another_session_is_refused() -> None:
    reading = identifier_model().read(["Hello.", "Hi."], ["therapist", "client"])
    with pytest.raises(ValueError, match="another session"):
        passage_module.judge_topics(["Hello.", "Hi there."], ["therapist", "client"], [[(0, 6)], [(0, 9)]],
                                    identifiers=reading)  # fmt: skip


def test_every_token_of_a_long_session_is_read_and_windows_overlap() -> None:
    for tokens in (1, WINDOW, WINDOW + 1, 1000):
        starts = window_starts(tokens, STRIDE)
        covered = set().union(*(range(s, min(s + WINDOW, tokens)) for s in starts))
        assert covered == set(range(tokens))
        assert starts[-1] == max(0, tokens - WINDOW)
    texts = ["How was the week?", "Fine. We went to the coast and the weather held the whole time."] * 60
    probabilities = passage_model().token_probabilities(list(range(1000, 1000 + 900)))
    assert probabilities.shape == (900, len(OUTPUTS))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert not find_passages(texts, TOPICS, ["therapist", "client"] * 60)


#: A session long enough to fill several batches of windows when ``BATCH`` is 2.
TEXTS = ["How was the week?", "I had two drinks on Friday and then I stopped.", "How did stopping feel?"] * 30
SPEAKERS = ["therapist", "client", "therapist"] * 30


def layer_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From here on, the first layer of every run of the encoder, in the order they run."""
    starts: list[int] = []
    encoded = passage_module.encoded

    def counted(w: dict[str, np.ndarray], x: np.ndarray, mask: np.ndarray, layers: range) -> np.ndarray:
        starts.append(layers.start)
        return encoded(w, x, mask, layers)

    monkeypatch.setattr(passage_module, "encoded", counted)
    return starts


def test_the_two_models_run_the_layers_neither_tuned_once_per_session_and_read_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passage_module, "BATCH", 2)
    alone = passage_model().read(TEXTS, SPEAKERS), identifier_model().read(TEXTS, SPEAKERS)
    starts = layer_starts(monkeypatch)
    with bottom_layers_shared():
        shared = passage_model().read(TEXTS, SPEAKERS), identifier_model().read(TEXTS, SPEAKERS)
    batches = starts.count(0)
    assert batches > 1  # the session fills more than one batch of windows, each run once
    assert np.array_equal(shared[0].topics, alone[0].topics)
    assert shared[1].identifiers is not None and alone[1].identifiers is not None
    assert np.array_equal(shared[1].identifiers, alone[1].identifiers)
    # Outside the block nothing of the session is kept, and each model runs every layer again.
    assert passage_module._shared.states is None
    passage_model().read(TEXTS, SPEAKERS)
    assert starts.count(0) == 2 * batches


def test_a_model_that_tunes_fewer_layers_goes_on_from_the_states_another_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passage_module, "BATCH", 2)
    with np.load(passage_module.MODEL_FILE) as stored:
        # The stored model with its lowest tuned layer put back to the installed one's: it tunes one layer fewer.
        lowest = min(int(k.split(".")[2]) for k in stored.files if k.startswith("encoder.layer."))
        fewer = passage_module.PassageModel(
            {k: stored[k].astype(np.float32) for k in stored.files
             if k != "outputs" and not k.startswith(f"encoder.layer.{lowest}.")}
        )  # fmt: skip
    alone = passage_model().read(TEXTS, SPEAKERS), fewer.read(TEXTS, SPEAKERS)
    starts = layer_starts(monkeypatch)
    with bottom_layers_shared():
        shared = passage_model().read(TEXTS, SPEAKERS), fewer.read(TEXTS, SPEAKERS)
    assert np.array_equal(shared[0].topics, alone[0].topics)
    assert np.array_equal(shared[1].topics, alone[1].topics)
    batches = starts.count(0)
    assert batches > 1
    # The second model ran only the layer the first tuned and it does not, from the first one's shared states.
    assert starts.count(lowest) == 2 * batches
    assert not np.array_equal(shared[0].topics, shared[1].topics)


def test_the_speakers_roles_introduce_their_turns() -> None:
    talk = conversation(["Hello.", "Hi there.", "Hi.", "Hey."], ["therapist", "client", "client2", "client3"])
    assert talk.text == "therapist: Hello.\nclient: Hi there.\nother client: Hi.\nother client: Hey."
    assert [talk.text[s : s + 2] for s in talk.starts] == ["He", "Hi", "Hi", "He"]
    assert conversation(["Hello."], None).text == "speaker: Hello."


def test_the_passage_model_carries_a_disclosure_into_a_follow_up_the_rules_leave(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The model reads sessions: each test session opens as one does, not on the disclosure.
    opening = ["Good to see you. How was the week?", "Busy. Work was fine, and I finally fixed the bike."]
    roles = ["therapist", "client"] * 3
    disclosure = [
        *opening,
        "That's good to hear. What's been on your mind?",
        "My brother's check-in with immigration is next week and they might not let him stay. "
        "If they send him back he has nobody there.",
        "How long has he been waiting?",
        "Four years now.",
    ]
    look_alike = [
        *opening,
        "That's good to hear. What's been on your mind?",
        "My brother is moving back home next week. He found a job there and he is excited.",
        "How long has he been away?",
        "Four years now.",
    ]
    found = {(p.turn, p.category) for p in find_passages(disclosure, TOPICS, roles)}
    assert {(3, "immigration"), (4, "immigration")} <= found
    assert not any(
        category == "immigration"
        for _, category in {(p.turn, p.category) for p in find_passages(look_alike, TOPICS, roles)}
    )
    # The follow-up question is the model's: the rules alone leave it in.
    monkeypatch.setattr(topics, "MODEL", None)
    assert (4, "immigration") not in {(p.turn, p.category) for p in find_passages(disclosure, TOPICS, roles)}


def found_with_and_without_the_model(
    monkeypatch: pytest.MonkeyPatch, texts: list[str], roles: list[str]
) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    with_model = {(p.turn, p.category) for p in find_passages(texts, TOPICS, roles)}
    monkeypatch.setattr(topics, "MODEL", None)
    rules_alone = {(p.turn, p.category) for p in find_passages(texts, TOPICS, roles)}
    monkeypatch.undo()
    return with_model, rules_alone


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        (
            "My book club, weirdly. We're reading a crime novel with a gay detective in it, and we argue about it "
            "for hours.",
            "sogi",
        ),
        ("Tired. I've been drinking a lot of coffee to get through the afternoons, six cups some days.", "substance"),
    ],
)
def test_a_look_alike_the_cue_lists_take_is_left_in_when_the_model_is_sure_it_is_not_a_disclosure(
    monkeypatch: pytest.MonkeyPatch, answer: str, category: str
) -> None:
    texts = ["What's keeping you going at the moment?", answer]
    with_model, rules_alone = found_with_and_without_the_model(monkeypatch, texts, ["therapist", "client"])
    assert rules_alone == {(1, category)}
    assert with_model == set()


def test_a_turn_the_model_is_sure_is_on_the_disclosure_goes_whole_without_a_cue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [
        "How did the appointment go?",
        "Not well. The second transfer didn't take either. That's three embryos now, and we can't afford "
        "another round.",
        "I'm so sorry. How are you two holding up?",
        "I just sat in the car afterwards for an hour. He keeps saying we'll adopt, like that fixes it.",
    ]
    roles = ["therapist", "client"] * 2
    with_model, rules_alone = found_with_and_without_the_model(monkeypatch, texts, roles)
    assert (3, "health") not in rules_alone
    assert {(1, "health"), (2, "health"), (3, "health")} <= with_model
    assert [(p.start, p.end) for p in find_passages(texts, TOPICS, roles) if p.turn == 3] == [(0, len(texts[3]))]


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
