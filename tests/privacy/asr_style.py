"""Turn annotated clean transcripts (FORMAT.md) into speech-recognition style, marks kept aligned.

    python tests/privacy/asr_style.py SRC_DIR_OR_FILE... --out DIR [--drop-apostrophes]

Speech-recognition style here means what a plain recogniser gives: lower case, no
punctuation, numbers spelled out ("52" -> "fifty two", "1972" -> "nineteen seventy two",
"22nd" -> "twenty second"), phone numbers and codes read digit by digit ("five oh eight ..."),
e-mail addresses and handles said aloud ("j o h n at example dot com"), titles said in full
("Dr." -> "doctor"). Marks ``[TYPE:...]`` and ``{CATEGORY:...}`` are kept around the
converted text, so the result scores with the same scorer. Ids get an ``-asr`` suffix.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
TITLES = {"dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miss", "st": "saint", "prof": "professor"}
_MARK = re.compile(r"(\[[A-Z]+:|\{[A-Z]+:|\]|\})")


def cardinal(n: int) -> str:
    """English words for 0 <= n < 10**9, without "and" or hyphens."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for size, word in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return cardinal(head) + " " + word + ("" if rest == 0 else " " + cardinal(rest))
    raise ValueError(n)


def ordinal(n: int) -> str:
    words = cardinal(n).split()
    last = words[-1]
    if last in ORDINAL_WORDS:
        words[-1] = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year(n: int) -> str:
    if 2000 <= n < 2010:
        return "two thousand" + ("" if n == 2000 else " " + ONES[n - 2000])
    head, tail = divmod(n, 100)
    if tail == 0:
        return cardinal(head) + " hundred"
    return cardinal(head) + " " + (("oh " + ONES[tail]) if tail < 10 else cardinal(tail))


def digits(text: str, rng: random.Random) -> str:
    zero = rng.choice(["oh", "zero"])
    return " ".join(zero if d == "0" else ONES[int(d)] for d in text if d.isdigit())


def spell_code(token: str, rng: random.Random) -> str:
    """A code read out: letters one by one, digits one by one."""
    out = []
    for part in re.findall(r"[A-Za-z]+|\d+", token):
        out.append(" ".join(part.lower()) if part.isalpha() else digits(part, rng))
    return " ".join(out)


def say_address(address: str, rng: random.Random) -> str:
    """An e-mail address or handle said aloud."""
    out = []
    for piece in re.findall(r"[A-Za-z]+|\d+|[@._\-]", address):
        if piece == "@":
            out.append("at")
        elif piece == ".":
            out.append("dot")
        elif piece == "_":
            out.append("underscore")
        elif piece == "-":
            out.append("dash")
        elif piece.isdigit():
            out.append(cardinal(int(piece)) if len(piece) <= 2 else digits(piece, rng))
        elif len(piece) <= 3 and piece.lower() not in {"com", "org", "net", "edu", "gov"}:
            out.append(" ".join(piece.lower()))
        else:
            out.append(piece.lower())
    return " ".join(out)


def convert_text(text: str, kind: str | None, rng: random.Random, drop_apostrophes: bool) -> str:
    """Convert one stretch of text that lies inside (kind) or outside (None) a PHI mark."""
    if kind in {"CONTACT", "ID"} and not re.search(r"[\dA-Z@._\-]", text):
        return text  # already said aloud (a transcript in speech-recognition style to begin with)
    if kind in {"CONTACT", "ID"}:
        if "@" in text or "_" in text:
            return say_address(text, rng)
        if kind == "CONTACT" and re.fullmatch(r"[\d()+\-. ]+", text):
            return digits(text, rng)
        return spell_code(text, rng)
    text = re.sub(r"\S+@\S+\.\w+", lambda m: say_address(m.group(), rng), text)
    text = re.sub(r"\b(\d{3})[-. ](\d{3})[-. ](\d{4})\b", lambda m: digits(m.group(), rng), text)
    text = re.sub(r"\b(Dr|Mr|Mrs|Ms|St|Prof)\.", lambda m: TITLES[m.group(1).lower()], text)
    text = text.replace("&", " and ").replace("%", " percent")
    text = re.sub(r"\$(\d+)", lambda m: cardinal(int(m.group(1))) + " dollars", text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", lambda m: cardinal(int(m.group(1))) + " " + _minutes(m.group(2)), text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal(int(m.group(1))), text)
    text = re.sub(r"\b(1[89]\d\d|20\d\d)\b", lambda m: year(int(m.group(1))), text)
    text = re.sub(r"\b(\d{3,5}) (?=[A-Z][a-z]+ (Street|St|Road|Lane|Court|Drive|Avenue|Way)\b)", _house, text)
    text = re.sub(r"\b\d+\.\d+\b", lambda m: " point ".join(cardinal(int(p)) for p in m.group().split(".")), text)
    text = re.sub(r"\b\d[\d,]*\b", lambda m: cardinal(int(m.group().replace(",", ""))), text)
    text = text.lower()
    text = re.sub(r"(?<=\w)'(?=\w)", "\x00", text)  # keep apostrophes inside words
    text = re.sub(r"[^\w\s\x00]", " ", text)
    text = text.replace("\x00", "" if drop_apostrophes else "'")
    return re.sub(r"\s+", " ", text)


def _minutes(mm: str) -> str:
    n = int(mm)
    return "o'clock" if n == 0 else ("oh " + ONES[n] if n < 10 else cardinal(n))


def _house(m: re.Match[str]) -> str:
    number = m.group(1)
    if len(number) == 4:
        return year(int(number)) + " "
    return cardinal(int(number)) + " "


def convert_line(line: str, rng: random.Random, drop_apostrophes: bool) -> str:
    """Convert one turn's annotated text, keeping every mark in place."""
    out: list[str] = []
    kinds: list[str] = []
    for piece in _MARK.split(line):
        if not piece:
            continue
        if _MARK.fullmatch(piece):
            if piece.startswith(("[", "{")):
                kinds.append(piece[1:-1])
            else:
                kinds.pop()
            out.append(piece)
            continue
        phi_kind = next((k for k in reversed(kinds) if k in _PHI), None)
        # A possessive right after a mark ("[NAME:Bill]'s") stays attached to it.
        possessive = re.match(r"['’]s\b", piece)
        head = "" if drop_apostrophes or not possessive else "'s"
        rest = piece[2:] if possessive else piece
        out.append(head + convert_text(rest, phi_kind, rng, drop_apostrophes))
    joined = "".join(out)
    joined = re.sub(r"\s+", " ", joined)
    # A mark must not start or end on a space: move the space outside it.
    joined = re.sub(r"([\[{][A-Z]+:) +", r" \1", joined)
    joined = re.sub(r" +([\]}])", r"\1 ", joined)
    return re.sub(r"\s+", " ", joined).strip()


_PHI = {"NAME", "AGE", "DATE", "LOCATION", "ORG", "CONTACT", "ID"}


def convert_file(source: Path, drop_apostrophes: bool = False) -> str:
    """The whole transcript file in speech-recognition style."""
    rng = random.Random(source.name)
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("# id:"):
            lines.append(line.rstrip() + "-asr")
        elif line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            speaker, _, text = line.partition(":")
            lines.append(f"{speaker}: {convert_line(text.strip(), rng, drop_apostrophes)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--drop-apostrophes", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for source in map(Path, args.sources):
        for path in sorted(source.glob("*.txt")) if source.is_dir() else [source]:
            (out / path.name).write_text(convert_file(path, args.drop_apostrophes), encoding="utf-8")


if __name__ == "__main__":
    main()
