"""A very long turn (a session pasted as one turn, raw speech-recognition output without speaker breaks)
is read in overlapping pieces: nothing at a cut or at the very end is missed, and spaCy's length limit
is never reached. How the time grows with the turn's length is measured by bench/bench_long_turn.py."""

from __future__ import annotations

import random
import re
from itertools import pairwise

import pytest

from sotto.privacy import phi, topics
from sotto.privacy.engine import default_redactor, redact_turns
from sotto.privacy.found import Found, Stretches, merge

#: Speech-recognition style: no capitals, no sentence marks, invented and harmless.
SPEECH = (
    "so i was telling my sister that the job was hard and i felt tired all the time "
    "but then we went to the park and it was nice and we sat by the pond for a while"
)
FILLER = SPEECH.split()
PHONE = "617 555 0199"
EMAIL = "maria.lopez@example.com"


def _filler(words: int) -> str:
    return " ".join(FILLER[k % len(FILLER)] for k in range(words))


def test_pieces_tile_a_long_turn_with_overlap_and_cut_at_spaces() -> None:
    text = _filler(3000)
    cut = phi.pieces(text, size=2000, overlap=400)
    assert len(cut) > 5
    assert cut[0][0] == 0 and cut[0][2] == 0 and cut[-1][1] == len(text) and cut[-1][3] == len(text)
    for (start, end, keep_from, keep_to), following in pairwise(cut):
        assert end - start <= 2000
        assert following[0] < end - 300, "neighbours share a few hundred characters"
        assert keep_to == following[2] and start <= keep_from < keep_to <= end
        assert text[end - 1] == " " and text[following[0] - 1] == " ", "cuts fall between words"
    assert phi.pieces("short turn") == [(0, 10, 0, 10)]


@pytest.mark.parametrize("edge", ["piece end", "share boundary"])
def test_identifier_across_a_cut_and_at_the_very_end_of_a_long_turn_is_removed(
    monkeypatch: pytest.MonkeyPatch, edge: str
) -> None:
    monkeypatch.setattr(phi, "PIECE_CHARS", 2000)
    monkeypatch.setattr(phi, "PIECE_OVERLAP", 400)
    monkeypatch.setattr(topics, "MODEL", None)  # the rules alone: what the pieces change
    for lead in range(300, 600):
        text = f"{_filler(lead)} you can call me on {PHONE} after six {_filler(400)} write to {EMAIL}"
        at = text.index(PHONE)
        cut = phi.pieces(text)
        edges = {piece[1] if edge == "piece end" else piece[3] for piece in cut[:-1]}
        if any(at < e < at + len(PHONE) for e in edges):
            break
    else:
        raise AssertionError(f"no lead-in put the number across a {edge}")
    assert len(cut) >= 2
    (found,) = default_redactor()._phi.find([text])
    assert any(f.start <= at and at + len(PHONE) <= f.end for f in found)
    (redacted,) = redact_turns([("client", text)]).texts
    assert PHONE not in redacted and "617" not in redacted and "0199" not in redacted
    assert EMAIL not in redacted and "example" not in redacted
    assert re.search(r"write to \[Contact \d+\]$", redacted)


def test_turn_longer_than_spacys_limit_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaCy refuses a text past its ``max_length`` (a million characters) with an exception; here the
    limit is lowered so that the test needs no million-character turn."""
    finder = default_redactor()._phi
    monkeypatch.setattr(finder._nlp_engine.get_nlp("en"), "max_length", phi.PIECE_CHARS + 1000)
    text = f"{_filler(2 * phi.PIECE_CHARS // 4)} you can call me on {PHONE}"
    assert len(text) > phi.PIECE_CHARS + 1000
    (found,) = finder.find([text])
    at = text.index(PHONE)
    assert [(f.start, f.end, f.kind) for f in found] == [(at, at + len(PHONE), "CONTACT")]


def test_stretches_answer_as_a_scan_of_every_finding_does() -> None:
    rng = random.Random(7)
    for merged in (True, False):
        for _ in range(200):
            items = []
            for _ in range(rng.randrange(0, 12)):
                start = rng.randrange(0, 60)
                items.append(Found(start, start + rng.randrange(0, 12), "NAME"))
            items = merge(items) if merged else items
            index = Stretches(items)
            for _ in range(20):
                start = rng.randrange(0, 70)
                end = start + rng.randrange(0, 15)
                assert index.hold(start, end) == any(f.start <= start and end <= f.end for f in items)
                assert index.meet(start, end) == any(f.start < end and f.end > start for f in items)
                assert index.meeting(start, end) == [f for f in items if f.start < end and f.end > start]
