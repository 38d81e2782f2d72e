"""How far two careful annotations of the same transcripts agree, scored as the issue scores a redaction.

    .venv/bin/python bench/bench_annotation_agreement.py [--redactor]

Each pair is the same transcripts annotated twice, by different annotators following the same
convention (../shared/data/FORMAT.md and the shared dev set's marking):

- dev: ../shared/data/dev, and a second annotation of it (tests/privacy/heldout/second-dev) made by
  annotators who saw only the other half of dev as examples (odd files annotated from the even ones
  and the other way round) and never the first annotation;
- inv-2001..2024: the 24 dev-like held-out sessions, annotated when they were written and again
  (tests/privacy/heldout/second) by annotators who saw FORMAT.md and dev but not the first annotation.

For each pair it prints one annotation's passages taken as a redaction, scored against the other by the
shared scorer (``score_redaction.score``: passage recall, each passage counting when 90 % of its words
are removed, and over-removal, the share of unmarked words removed), both ways round. Identifiers are
removed on both sides, so only passages differ. This is the agreement the passage target (recall at
least 0.95 with over-removal at most 0.05) asks of the redactor against one annotator; with
``--redactor`` the redactor's own figures against each annotation are printed beside it, and against what
the two annotations say together: its recall on the passages both annotators mark (a first annotation's
passage of whose words the second marks at least half), and its over-removal among the words neither marks.
On dev the redactor was trained on the first annotation, so its figures there are not a held-out measure.

Both second annotations live under heldout/, so no model is ever trained on them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVACY = ROOT / "tests" / "privacy"
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(SHARED))
from score_redaction import score, words  # noqa: E402
from transcripts import Session, Span, parse  # noqa: E402

PAIRS = {
    "dev": (SHARED / "dev", PRIVACY / "heldout" / "second-dev"),
    "inv-2001..2024": (PRIVACY / "heldout", PRIVACY / "heldout" / "second"),
}


def marks_removed(session: Session) -> dict:
    """The session as a redaction that removes exactly what its annotation marks."""
    turns = []
    for turn in session.turns:
        pieces, last = [], 0
        for start, end in sorted((s.start, s.end) for s in [*turn.topics, *turn.phi]):
            start = max(start, last)
            if end > start:
                pieces += [turn.text[last:start], " [removed] "]
                last = end
        pieces.append(turn.text[last:])
        turns.append({"speaker": turn.speaker, "text": "".join(pieces)})
    return {"id": session.id, "turns": turns}


def marked_words(text: str, spans: list[Span]) -> list[bool]:
    """For each of the scorer's words of the text, whether one of the spans holds it."""
    return [any(start < span.end and end > span.start for span in spans) for _, start, end in words(text)]


def agreed(first: Session, second: Session) -> Session:
    """The first annotation keeping only the passages the second marks too: at least half of their words."""

    def kept(spans: list[Span], other: list[Span], text: str) -> list[Span]:
        theirs = marked_words(text, other)
        out = []
        for span in spans:
            held = [k for k, mark in enumerate(marked_words(text, [span])) if mark]
            if 2 * sum(theirs[k] for k in held) >= len(held):
                out.append(span)
        return out

    pairs = zip(first.turns, second.turns, strict=True)
    return replace(first, turns=[replace(a, topics=kept(a.topics, b.topics, a.text)) for a, b in pairs])


def united(first: Session, second: Session) -> Session:
    """The first annotation with the second's passages added: its unmarked words are those neither marks."""
    pairs = zip(first.turns, second.turns, strict=True)
    return replace(first, turns=[replace(a, topics=[*a.topics, *b.topics]) for a, b in pairs])


def redacted(sessions: list[Session]) -> list[dict]:
    from sotto.privacy.engine import redact_turns

    return [
        {
            "id": s.id,
            "turns": [
                {"speaker": t.speaker, "text": text}
                for t, text in zip(s.turns, redact_turns([(t.speaker, t.text) for t in s.turns]).texts, strict=True)
            ],
        }
        for s in sessions
    ]


def line(label: str, report: dict) -> str:
    return f"{label:<44} {report['topic_spans']:>8} {report['topic_recall']:>8.3f} {report['over_removal']:>6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redactor", action="store_true", help="also score the redactor against each annotation")
    args = parser.parse_args()
    print(f"{'pair: what is scored, against which annotation':<44} {'passages':>8} {'recall':>8} {'over':>6}")
    for name, (first_dir, second_dir) in PAIRS.items():
        names = sorted(p.name for p in second_dir.glob("*.txt"))
        first = [parse(first_dir / n) for n in names]
        second = [parse(second_dir / n) for n in names]
        for a, b in zip(first, second, strict=True):
            if [t.text for t in a.turns] != [t.text for t in b.turns]:
                sys.exit(f"{a.id}: the two annotations are of different texts")
        print(line(f"{name}: second, against first", score(first, [marks_removed(s) for s in second], False)))
        print(line(f"{name}: first, against second", score(second, [marks_removed(s) for s in first], False)))
        if args.redactor:
            outputs = redacted(first)
            print(line(f"{name}: redactor, against first", score(first, outputs, False)))
            print(line(f"{name}: redactor, against second", score(second, outputs, False)))
            both = score([agreed(a, b) for a, b in zip(first, second, strict=True)], outputs, False)
            either = score([united(a, b) for a, b in zip(first, second, strict=True)], outputs, False)
            # Recall on the passages both mark, over-removal among the words neither marks.
            print(line(f"{name}: redactor, against both together", {**both, "over_removal": either["over_removal"]}))


if __name__ == "__main__":
    main()
