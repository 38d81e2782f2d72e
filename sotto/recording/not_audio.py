"""What a file that is not an accepted recording seems to be, by its first bytes, for a plain refusal."""

from __future__ import annotations

from sotto.recording.audio_formats import MP4_IMAGE_BRANDS

_NOT_AUDIO = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an older Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG photo"),
    (b"GIF8", "a GIF image"),
)


def describe_non_audio(head: bytes) -> str | None:
    """What a file that is not an accepted recording seems to be (\"a PDF document\"), if its head tells."""
    for magic, what in _NOT_AUDIO:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp" and head[8:12] in MP4_IMAGE_BRANDS:
        return "a HEIC or AVIF photo"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    text = _as_text(head)
    if text is None:
        return None
    if "<html" in text[:2000].lower() or text.lstrip().lower().startswith("<!doctype html"):
        return "a web page"
    return "a text file"


def _as_text(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut by the end of the head
            return None
        text = head[: exc.start].decode("utf-8-sig")
    return text if all(char.isprintable() or char in "\t\n\r\f" for char in text) else None
