"""Recordings joined end to end: where each part begins, and a view of one part's bytes.

Two kinds of file are several whole recordings one after the other, each with its own headers:

* a chained Ogg (RFC 3533, section 4, `cat a.ogg b.ogg`): each link is a logical stream from
  its beginning-of-stream page to its end-of-stream page. FFmpeg follows a chain only while
  the codec and its channels stay the same;
* MP3 files joined byte for byte, each beginning with its own ID3v2 tag, as some recorders
  and "join" tools write them. FFmpeg's decoder takes the second tag for a damaged frame.

So each part is decoded on its own, from a view of its bytes: nothing is copied and nothing
written to disk. A boundary is taken only where the bytes on both sides of it prove one: a
whole end-of-stream page right before a beginning-of-stream page; an ID3v2 tag followed by an
MPEG audio frame, after the audio of the part before. A part cut off, or damage between two
parts, is then judged as in any single recording.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import Any, BinaryIO

from sotto.recording.audio_formats import (
    OGG_BOS,
    OGG_EOS,
    CutOff,
    id3v2_length,
    mpeg_frame,
    ogg_page_ending_at,
    read_up_to,
)

_SCAN_BYTES = 1 << 20  # read at a time while looking for the next part
# A recorder or a join tool makes a few parts; a file of thousands would cost thousands of
# decoders held at once. The parts past this many stay with the last, as FFmpeg reads them.
MAX_PARTS = 100


def recording_parts(kind: str, source: BinaryIO, size: int) -> list[BinaryIO]:
    """Each part of a recording of the sniffed `kind`, in order, as a file of its own: for most
    files, just `source`. The parts read from `source`, which must stay open while they are used.

    Raises CutOff when a link of a chained Ogg ends before its end-of-stream page.
    """
    if kind == "ogg":
        later = _ogg_link_starts(source, size)
    elif kind == "mp3":
        later = _tagged_mp3_starts(source, size)
    else:
        return [source]
    starts = [0, *itertools.islice(later, MAX_PARTS - 1)]
    if len(starts) == 1:
        return [source]
    ends = [*starts[1:], size]
    return [io.BufferedReader(_PartReader(source, start, end)) for start, end in zip(starts, ends, strict=True)]


class _PartReader(io.RawIOBase):
    """A read-only, seekable view of bytes [start, end) of a seekable source, as a file of its own."""

    def __init__(self, source: BinaryIO, start: int, end: int) -> None:
        super().__init__()
        self._source, self._start, self._end = source, start, end
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._end - self._start}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._end - self._start - self._pos))
        if not count:
            return 0
        self._source.seek(self._start + self._pos)  # the source is shared: never trust where it was left
        data = self._source.read(count) or b""
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _ogg_link_starts(source: BinaryIO, size: int) -> Iterator[int]:
    """Where each link after the first begins: a whole beginning-of-stream page right after a
    whole end-of-stream page.

    Beginning-of-stream pages may only follow one another (streams grouped in one link) or an
    end-of-stream page (RFC 3533, section 4); after anything else, the link before was cut off
    (FFmpeg would go on to the next link without a word), and CutOff is raised. Only the first
    MAX_PARTS beginning-of-stream pages are looked at.
    """
    looked_at = 0
    for at in _occurrences(source, size, b"OggS", start=1):
        source.seek(at)
        header = read_up_to(source, 27)
        if len(header) < 27 or header[4] != 0 or not header[5] & OGG_BOS:
            continue
        lacing = read_up_to(source, header[26])
        if len(lacing) < header[26] or at + 27 + len(lacing) + sum(lacing) > size:
            continue  # not a whole page: the demuxer will find the file cut off
        looked_at += 1
        if looked_at > MAX_PARTS:
            return
        # The page before, found from its end: a page cut short would claim bytes of the next link.
        before = ogg_page_ending_at(source, at)
        if before is None or not before & (OGG_BOS | OGG_EOS):
            raise CutOff
        if before & OGG_EOS and not before & OGG_BOS:
            yield at


def _tagged_mp3_starts(source: BinaryIO, size: int) -> Iterator[int]:
    """Where each MP3 after the first begins: an ID3v2 tag, after the previous part's audio,
    followed by an MPEG audio frame."""
    audio_from = _after_tags(source, 0, size)
    for at in _occurrences(source, size, b"ID3", start=1):
        if at <= audio_from:
            continue  # within the tags before the audio: several tags may follow each other
        frame_at = _after_tags(source, at, size)
        source.seek(frame_at)
        frame = mpeg_frame(read_up_to(source, 4))
        if frame_at > at and frame is not None and frame_at + frame.length <= size:
            yield at
            audio_from = frame_at


def _after_tags(source: BinaryIO, at: int, size: int) -> int:
    """Where the ID3v2 tags that begin at `at`, one after another, end (`at` if there are none)."""
    while at < size:
        source.seek(at)
        length = id3v2_length(read_up_to(source, 10))
        if length is None:
            break
        at += length
    return at


def _occurrences(source: BinaryIO, size: int, pattern: bytes, *, start: int) -> Iterator[int]:
    """Every offset from `start` at which `pattern` occurs, reading a block at a time.

    The caller may move the source between two offsets: each block is sought afresh.
    """
    at = start
    while at < size:
        source.seek(at)
        block = read_up_to(source, min(_SCAN_BYTES, size - at))
        found = block.find(pattern)
        while found >= 0:
            yield at + found
            found = block.find(pattern, found + 1)
        if at + len(block) >= size or not block:
            return
        at += len(block) - len(pattern) + 1  # a pattern across two blocks is found in the next
