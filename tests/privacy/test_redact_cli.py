"""`sotto redact --jsonl`: the contract the evaluation relies on, run as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOTTO = shutil.which("sotto", path=str(Path(sys.executable).parent)) or "sotto"


def run(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOTTO, "redact", *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow
def test_each_session_comes_back_in_order_with_its_id_and_turns_redacted() -> None:
    sessions = [
        {"id": "s-1", "turns": [{"speaker": "therapist", "text": "Hi, Deshawn. Is your cell still 406-555-0147?"}]},
        {"id": "s-2", "turns": []},
        {"id": "s-3", "turns": [{"speaker": "client", "text": ""}, {"speaker": "client", "text": "I was in prison."}]},
    ]
    proc = run("\n".join(json.dumps(s) for s in sessions) + "\n", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["s-1", "s-2", "s-3"]
    assert out[0]["turns"] == [{"speaker": "therapist", "text": "Hi, [Name 1]. Is your cell still [Contact 1]?"}]
    assert out[1]["turns"] == []
    assert out[2]["turns"] == [
        {"speaker": "client", "text": ""},
        {"speaker": "client", "text": "[removed: sensitive topic]"},
    ]


@pytest.mark.slow
def test_a_bad_line_stops_the_run_with_its_line_number_and_without_its_text() -> None:
    good = json.dumps({"id": "ok", "turns": [{"speaker": "client", "text": "Fine."}]})
    proc = run(good + "\n{not json, Maria Lopez\n" + good + "\n", "--jsonl")
    assert proc.returncode == 2
    assert "line 2: not valid JSON" in proc.stderr
    assert "Maria" not in proc.stderr
    assert [json.loads(line)["id"] for line in proc.stdout.splitlines()] == ["ok"]


@pytest.mark.slow
def test_a_session_without_turns_list_is_refused() -> None:
    proc = run(json.dumps({"id": "x", "turns": "hello"}) + "\n", "--jsonl")
    assert proc.returncode == 2
    assert 'line 1: "turns" must be a list' in proc.stderr
