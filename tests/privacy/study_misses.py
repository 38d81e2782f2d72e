"""Study aid (not a test): print missed identifiers/passages and false removals of the redactor.

    .venv/bin/python tests/privacy/study_misses.py DIR [--asr] [--over] [--only-topic|--only-phi]

Prints transcript excerpts to the terminal, so run it only on invented or development data.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from asr_style import convert_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
sys.path.insert(0, str(SHARED))
from score_redaction import removed_flags, words  # type: ignore[import-not-found]  # noqa: E402
from transcripts import load  # type: ignore[import-not-found]  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--asr", action="store_true")
    ap.add_argument("--over", action="store_true", help="also print removed unmarked words, by turn")
    ap.add_argument("--only-topic", action="store_true")
    ap.add_argument("--only-phi", action="store_true")
    ap.add_argument("--cmd", help="redaction command (default: this venv's sotto redact --jsonl)")
    args = ap.parse_args()
    dirs = args.dirs
    if args.asr:
        tmp = Path(tempfile.mkdtemp())
        for d in dirs:
            for f in sorted(Path(d).glob("*.txt")):
                (tmp / f.name).write_text(convert_file(f), encoding="utf-8")
        dirs = [str(tmp)]
    sessions = load(dirs)
    lines = [
        json.dumps({"id": s.id, "turns": [{"speaker": t.speaker, "text": t.text} for t in s.turns]}) for s in sessions
    ]
    cmd = args.cmd.split() if args.cmd else [str(Path(sys.executable).parent / "sotto"), "redact", "--jsonl"]
    proc = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    outs = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    for s, o in zip(sessions, outs, strict=True):
        for i, (turn, red) in enumerate(zip(s.turns, o["turns"], strict=True)):
            ws = words(turn.text)
            gone = removed_flags(turn.text, red["text"])
            marked = [False] * len(ws)

            def idx(sp, ws=ws, marked=marked):
                r = [k for k, (_, a, b) in enumerate(ws) if a < sp.end and b > sp.start]
                for k in r:
                    marked[k] = True
                return r

            for sp in turn.phi:
                ix = idx(sp)
                if not args.only_topic and not all(gone[k] for k in ix):
                    context = turn.text[max(0, sp.start - 50) : sp.end + 30]
                    print(f"PHI  {s.id} t{i + 1} {sp.kind}: {turn.text[sp.start : sp.end]!r}  || {context!r}")
            for sp in turn.topics:
                ix = idx(sp)
                if not args.only_phi and sum(gone[k] for k in ix) < 0.9 * len(ix):
                    kept = " ".join(ws[k][0] for k in ix if not gone[k])
                    print(f"TOP  {s.id} t{i + 1} {sp.kind}: {turn.text[sp.start : sp.end]!r}\n       kept: {kept}")
            if args.over:
                extra = [ws[k][0] for k in range(len(ws)) if gone[k] and not marked[k]]
                if extra:
                    print(f"OVER {s.id} t{i + 1} ({len(extra)}): {' '.join(extra)}")


if __name__ == "__main__":
    main()
