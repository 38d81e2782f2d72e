"""What an audio file's own bytes say: which accepted format it is, and whether it is as long
as its headers and elements declare.

Nothing here decodes sound; `sotto.recording.audio` does, and uses these checks because
FFmpeg stops quietly at the end of most cut-off files, so a decoder that raises no error
proves little. Each format is checked against what its own header promises:

* WAV: the data chunk must fit in the file. Not caught: a header that leaves the size open
  (0 or 0xFFFFFFFF, as streaming recorders and RF64 files do).
* FLAC: the decoder fails on a partial frame, and the samples decoded must reach STREAMINFO's
  total. Not caught: a cut on a frame boundary when STREAMINFO gives no total (0).
* MP3: the duration must reach the frame count of the Xing/Info or VBRI header (LAME and
  FFmpeg write one), less the encoder's delay and padding that its LAME tag gives, if any,
  and 0.1 s. Without such a header, the last
  frame must be as long as its own header says. Not caught: a headerless file cut exactly
  between two frames; nor, with a header, a cut that loses under 0.1 s at the very end.
* M4A: every top-level box must fit in the file and a moov must be there (a cut mdat, or a
  moov that never arrived); the decoder fails on a partial packet; the duration must reach
  mdhd's. Not caught: a fragmented MP4 cut exactly between fragments, or an mdat whose size
  says "to the end of the file".
* Ogg (Opus, Vorbis): the last page must be complete and carry the end-of-stream flag. A
  recorder that never sets that flag, or bytes appended after the last page, would be
  refused as cut off; common encoders set the flag.
* WebM/Matroska: a Segment of known size must fit in the file, and the decoded duration must
  reach the Info's Duration. A live recording (a browser's MediaRecorder) leaves the Segment's
  size open and declares no Duration: then the Cluster holding the last block must fit, if
  its size is known (Firefox, FFmpeg), and every element after the last block must fit.
  Not caught: a recording whose Clusters' sizes are open too (Chrome) cut exactly between two
  blocks, which is indistinguishable from one that stopped there; nor damage in the middle of
  a live recording, which FFmpeg skips to the next Cluster.

A file of whole recordings joined end to end (a chained Ogg; MP3s each with its own ID3 tag)
is split into its parts by `sotto.recording.audio_parts`, and each part is checked as above.

A file shorter than its own structure says raises `CutOff`; the caller words the refusal.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

HEAD_BYTES = 8192  # enough for every magic number and header read from the head
ACCEPTED = "WAV, FLAC, MP3, M4A, Ogg or WebM"


class CutOff(Exception):
    """The file ends before what its own structure declares."""


# sniff_format tells every accepted format from this many bytes (more only confirm an MP3's
# first frame by the next, and show an M4A's compatible brands).
SNIFF_BYTES = 12

# What the first bytes of each accepted format hold, as (offset, bytes) pairs; anything between.
_MAGIC = (
    ((0, b"RIFF"), (8, b"WAVE")),
    ((0, b"RF64"), (8, b"WAVE")),
    ((0, b"fLaC"),),
    ((0, b"OggS"),),
    ((0, b"\x1a\x45\xdf\xa3"),),
    ((0, b"ID3"),),
    ((4, b"ftyp"),),  # after the box's size, which may be anything
)


def may_begin_audio(head: bytes) -> bool:
    """Whether bytes too few for `sniff_format` to judge (under SNIFF_BYTES) could begin an accepted format."""
    for parts in _MAGIC:
        if all(magic.startswith(head[at : at + len(magic)]) for at, magic in parts):
            return True
    if len(head) >= 4:
        return mpeg_frame(head) is not None
    return head[:1] == b"\xff" and (len(head) < 2 or head[1] & 0xE0 == 0xE0)  # an MPEG frame's sync


def sniff_format(head: bytes) -> str | None:
    """The accepted format that these first bytes announce, by magic number alone, or None."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if _ebml_doctype(head) in (None, "webm", "matroska") else None
    if head[4:8] == b"ftyp" and _has_mp4_audio_brand(head):
        return "m4a"
    if head[:3] == b"ID3":
        return "mp3"
    frame = mpeg_frame(head)
    # One valid header can be chance (about 1 in 17,000 for random bytes); two in a row is not.
    if frame is not None and (len(head) < frame.length + 4 or mpeg_frame(head[frame.length :]) is not None):
        return "mp3"
    return None


# --- checks against what each container declares ------------------------------------------


def check_structure(kind: str, source: BinaryIO, head: bytes, size: int) -> tuple[float | None, bool]:
    """(Duration the header declares, if trustworthy; whether the container leaves its length open).

    Open-ended containers are fragmented MP4 and live Matroska, whose Segment size is unknown.

    Raises CutOff when the file is shorter than its own structure says.
    """
    if kind == "wav":
        return _check_wav(source, size), False
    if kind == "flac":
        return _flac_declared_seconds(head), False
    if kind == "mp3":
        return _mp3_declared_seconds(source), False
    if kind == "m4a":
        return None, _check_mp4_boxes(source, size)
    if kind == "ogg":
        _check_ogg_end(source, size)
    elif kind == "webm":
        return _matroska_declared_seconds(head), _check_matroska_segment(head, size)
    return None, False


def _check_wav(source: BinaryIO, size: int) -> float | None:
    """Seconds of PCM the data chunk declares, if the header says; truncated if the file is shorter."""
    offset, pcm_bytes_per_second = 12, 0
    while offset + 8 <= size:
        source.seek(offset)
        chunk_id, chunk_size = struct.unpack("<4sI", read_up_to(source, 8))
        if chunk_id == b"fmt ":
            fmt = read_up_to(source, 16)
            if len(fmt) == 16:
                tag, _, _, byte_rate = struct.unpack("<HHII", fmt[:12])
                pcm_bytes_per_second = byte_rate if tag in (1, 3, 0xFFFE) else 0  # integer, float, extensible
        elif chunk_id == b"data":
            # 0 and 0xFFFFFFFF: a streaming writer (or RF64) left the size open, so nothing to compare.
            if chunk_size in (0, 0xFFFFFFFF):
                return None
            if offset + 8 + chunk_size > size:
                raise CutOff
            return chunk_size / pcm_bytes_per_second if pcm_bytes_per_second else None
        offset += 8 + chunk_size + (chunk_size & 1)
    raise CutOff  # the header ended before the sound began


def _flac_declared_seconds(head: bytes) -> float | None:
    if len(head) < 26 or head[4] & 0x7F != 0:  # STREAMINFO must be the first metadata block
        return None
    packed = int.from_bytes(head[18:26], "big")  # 20 bits rate, 3 channels, 5 depth, 36 total samples
    sample_rate, total_samples = packed >> 44, packed & ((1 << 36) - 1)
    return total_samples / sample_rate if sample_rate and total_samples else None


def _mp3_declared_seconds(source: BinaryIO) -> float | None:
    """Duration from the Xing/Info or VBRI header in the first frame, if the encoder wrote one."""
    source.seek(0)
    offset = id3v2_length(read_up_to(source, 10)) or 0
    source.seek(offset)
    first = read_up_to(source, 256)
    frame = mpeg_frame(first)
    if frame is None:
        return None
    xing = 4 + frame.side_info
    trimmed = 0
    if first[xing : xing + 4] in (b"Xing", b"Info") and len(first) >= xing + 12:
        flags, frames = struct.unpack(">II", first[xing + 4 : xing + 12])
        if not flags & 1:
            return None
        trimmed = _lame_delay_and_padding(first, xing + 12, flags)
    elif first[36:40] == b"VBRI" and len(first) >= 54:
        (frames,) = struct.unpack(">I", first[50:54])
    else:
        return None
    samples = frames * frame.samples - trimmed
    return samples / frame.sample_rate if samples > 0 else None


def _lame_delay_and_padding(first: bytes, at: int, flags: int) -> int:
    """Samples the encoder added (its delay and padding), from the LAME tag after a Xing/Info header.

    The decoder drops them, as FFmpeg's reads the same tag; they are up to ~0.3 s at 8 kHz,
    more than the shortfall allowed, so a whole recording would otherwise seem cut off.
    """
    at += 4 * (flags & 2 != 0) + 100 * (flags & 4 != 0) + 4 * (flags & 8 != 0)  # size, table, quality
    if first[at : at + 4] not in (b"LAME", b"Lavf", b"Lavc") or len(first) < at + 24:
        return 0
    packed = int.from_bytes(first[at + 21 : at + 24], "big")  # 12 bits delay, 12 bits padding
    return (packed >> 12) + (packed & 0xFFF)


def _check_mp4_boxes(source: BinaryIO, size: int) -> bool:
    """Every top-level box fits in the file and a moov is there; returns whether it is fragmented.

    Fragments' sizes are all known, but nothing says how many there should be."""
    offset, has_moov, fragmented = 0, False, False
    while offset < size:
        source.seek(offset)
        header = read_up_to(source, 16)
        if len(header) < 8:
            raise CutOff
        box_size, box_type = struct.unpack(">I4s", header[:8])
        if box_size == 1:
            if len(header) < 16:
                raise CutOff
            (box_size,) = struct.unpack(">Q", header[8:16])
        elif box_size == 0:  # "to the end of the file": nothing to compare with
            return fragmented
        if box_size < 8:
            return fragmented  # not a box: let the demuxer judge
        if offset + box_size > size:
            raise CutOff
        has_moov |= box_type == b"moov"
        fragmented |= box_type == b"moof"
        offset += box_size
    if not has_moov:  # written last by most recorders, so the first thing a cut loses
        raise CutOff
    return fragmented


_OGG_MAX_PAGE = 27 + 255 + 255 * 255
OGG_BOS, OGG_EOS = 0x02, 0x04  # header_type flags: beginning and end of a logical stream


def _check_ogg_end(source: BinaryIO, size: int) -> None:
    """The file ends with a whole page that carries the end-of-stream flag."""
    flags = ogg_page_ending_at(source, size)
    if flags is None or not flags & OGG_EOS:
        raise CutOff


def ogg_page_ending_at(source: BinaryIO, end: int) -> int | None:
    """The header_type flags of the whole Ogg page that ends exactly at `end`, or None if none does."""
    start = max(0, end - _OGG_MAX_PAGE)
    source.seek(start)
    tail = read_up_to(source, end - start)
    at = tail.rfind(b"OggS")
    while at >= 0:
        if at + 27 <= len(tail):
            segments = tail[at + 26]
            lacing = tail[at + 27 : at + 27 + segments]
            if len(lacing) == segments and at + 27 + segments + sum(lacing) == len(tail):
                return tail[at + 5]
        at = tail.rfind(b"OggS", 0, at)
    return None


_EBML_HEADER, _DOCTYPE, _SEGMENT = 0x1A45DFA3, 0x4282, 0x18538067
_INFO, _TIMECODE_SCALE, _DURATION, _CLUSTER = 0x1549A966, 0x2AD7B1, 0x4489, 0x1F43B675
_SIMPLE_BLOCK, _BLOCK, _TIMECODE = 0xA3, 0xA1, 0xE7
_CLUSTER_SEARCH_BYTES = 1 << 20  # clusters hold seconds of sound: far less than this
_MAX_TAIL_ELEMENTS = 10_000


def _matroska_segment(head: bytes) -> tuple[int, int | None] | None:
    """(Where the Segment's children start, its size or None when left open), if the head shows it."""
    header = _ebml_element(head, 0)
    if header is None or header[0] != _EBML_HEADER or header[2] is None:
        return None
    segment = _ebml_element(head, header[1] + header[2])
    if segment is None or segment[0] != _SEGMENT:
        return None
    return segment[1], segment[2]


def _check_matroska_segment(head: bytes, size: int) -> bool:
    """A Segment of known size fits in the file; returns whether its size is left open (live)."""
    segment = _matroska_segment(head)
    if segment is None or segment[1] is None:
        return True
    if segment[0] + segment[1] > size:
        raise CutOff
    return False


def _matroska_declared_seconds(head: bytes) -> float | None:
    """The Duration in the Segment's Info, when the head holds it (live recordings have none)."""
    segment = _matroska_segment(head)
    for element_id, data_at, data_size in _ebml_children(head, segment[0] if segment else len(head), len(head)):
        if element_id == _CLUSTER:
            return None  # the sound has begun, with no Info before it
        if element_id == _INFO:
            scale, duration = 1_000_000, None
            for child_id, value_at, value_size in _ebml_children(head, data_at, data_at + data_size):
                value = head[value_at : value_at + value_size]
                if child_id == _TIMECODE_SCALE:
                    scale = int.from_bytes(value, "big")
                elif child_id == _DURATION and len(value) in (4, 8):
                    (duration,) = struct.unpack(">f" if len(value) == 4 else ">d", value)
            return duration * scale / 1e9 if duration else None
    return None


def _ebml_children(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(ID, offset of the data, data size) of consecutive elements of known size from pos to end."""
    end = min(end, len(buf))
    while pos < end:
        element = _ebml_element(buf, pos)
        if element is None:
            return
        element_id, data_at, data_size = element
        if data_size is None:
            return
        yield element_id, data_at, data_size
        pos = data_at + data_size


def _matroska_block_end(source: BinaryIO, block_data_at: int, payload_size: int) -> int | None:
    """Where the block whose data FFmpeg placed at `block_data_at` ends, if that can be proved."""
    start = max(0, block_data_at - 9)
    source.seek(start)
    near = read_up_to(source, block_data_at - start + 8)
    at = block_data_at - start
    track = _ebml_vint(near, at)
    if track is None or at + track[1] + 3 > len(near) or near[at + track[1] + 2] & 0x06:
        return None  # laced blocks hold several packets: the end cannot be computed from one
    block_size = track[1] + 3 + payload_size  # track number, timecode, flags, frame
    # FFmpeg reports the position of the block's data; check a block element really ends there.
    for k in range(2, min(at, 9) + 1):
        element = _ebml_element(near, at - k)
        if element is not None and element[0] in (_SIMPLE_BLOCK, _BLOCK) and element[1:] == (at, block_size):
            return block_data_at + block_size
    return None


def _check_enclosing_cluster(source: BinaryIO, size: int, block_data_at: int) -> None:
    """The Cluster holding the last block fits in the file, if it has a known size (Firefox, FFmpeg)."""
    start = max(0, block_data_at - _CLUSTER_SEARCH_BYTES)
    source.seek(start)
    window = read_up_to(source, block_data_at - start)
    at = window.rfind(_CLUSTER.to_bytes(4, "big"))
    cluster = _ebml_element(window, at) if at >= 0 else None
    if cluster is None or cluster[2] is None:
        return  # not found, or of open size (Chrome): the elements after the block decide
    first = _ebml_element(window, cluster[1])
    if first is None or first[0] != _TIMECODE:  # every Cluster starts with one: not chance bytes
        return
    if start + cluster[1] + cluster[2] > size:
        raise CutOff


def _check_matroska_tail(source: BinaryIO, size: int, offset: int) -> None:
    """Every element from `offset` (the end of the last audio block) to the end of the file fits in it.

    FFmpeg drops a partial last block without a word, and live recordings leave the Segment's
    and Clusters' sizes open, so the bytes after the last block are the only evidence.
    """
    for _ in range(_MAX_TAIL_ELEMENTS):
        if offset >= size:
            return
        source.seek(offset)
        header = read_up_to(source, 12)
        element = _ebml_element(header, 0)
        if element is None:
            if size - offset < 12:
                raise CutOff  # not even a whole element header left
            return  # bytes that are not EBML: nothing more can be said
        _, data_start, data_size = element
        if data_size is None:  # a master element of open size: its children follow
            offset += data_start
            continue
        if offset + data_start + data_size > size:
            raise CutOff
        offset += data_start + data_size


def check_live_matroska_end(
    source: BinaryIO, size: int, head: bytes, last_block_at: int | None, last_block_size: int
) -> None:
    """A live WebM (Segment of open size) ends on a whole element after its last audio block.

    `last_block_at` is where the decoder placed the last block's data (None: no block at all,
    so every element after the headers must fit), and `last_block_size` its payload's size.
    """
    if last_block_at is None:
        segment = _matroska_segment(head)
        tail_at = segment[0] if segment else None
    else:
        _check_enclosing_cluster(source, size, last_block_at)
        tail_at = _matroska_block_end(source, last_block_at, last_block_size)
    if tail_at is not None:
        _check_matroska_tail(source, size, tail_at)


# --- byte formats -------------------------------------------------------------------------


def read_up_to(source: BinaryIO, count: int) -> bytes:
    """Up to `count` bytes, fewer only at the end of the file (raw readers may return less)."""
    parts = []
    while count > 0:
        part = source.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def id3v2_length(header: bytes) -> int | None:
    """The whole length (header, body, footer) of the ID3v2 tag that these 10 bytes begin, if they begin one.

    The test is FFmpeg's: "ID3", a version and revision that are not 0xFF, and a size whose
    bytes all leave their top bit clear, as an ID3v2 size ("syncsafe") must.
    """
    if len(header) < 10 or header[:3] != b"ID3" or 0xFF in header[3:5] or any(b & 0x80 for b in header[6:10]):
        return None
    size = header[6] << 21 | header[7] << 14 | header[8] << 7 | header[9]
    return 10 + size + (10 if header[5] & 0x10 else 0)  # the flag announces a footer


@dataclass(frozen=True)
class MpegFrame:
    length: int  # bytes, header included
    samples: int
    sample_rate: int
    side_info: int  # bytes between the header and where a Xing/Info tag would start


_MPEG1_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


def mpeg_frame(header: bytes) -> MpegFrame | None:
    """The MPEG audio layer III frame that these bytes begin with, if their header is valid."""
    if len(header) < 4:
        return None
    b1, b2, b3, b4 = header[:4]
    version = (b2 >> 3) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    layer = (b2 >> 1) & 3  # 1: layer III
    bitrate_index, rate_index, emphasis = b3 >> 4, (b3 >> 2) & 3, b4 & 3
    if b1 != 0xFF or b2 & 0xE0 != 0xE0 or version == 1 or layer != 1:
        return None
    if bitrate_index in (0, 15) or rate_index == 3 or emphasis == 2:  # free format, bad, reserved
        return None
    mpeg1 = version == 3
    sample_rate = (44100, 48000, 32000)[rate_index] >> (0 if mpeg1 else 1 if version == 2 else 2)
    kbps = (_MPEG1_KBPS if mpeg1 else _MPEG2_KBPS)[bitrate_index]
    length = (144 if mpeg1 else 72) * kbps * 1000 // sample_rate + ((b3 >> 1) & 1)
    mono = b4 >> 6 == 3
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return MpegFrame(length=length, samples=1152 if mpeg1 else 576, sample_rate=sample_rate, side_info=side_info)


_MP4_AV_BRANDS = {
    b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso4", b"iso5", b"iso6",
    b"dash", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"qt  ", b"MSNV", b"avc1", b"f4a ",
}  # fmt: skip
MP4_IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"}


def _has_mp4_audio_brand(head: bytes) -> bool:
    """An ISO media file whose brands allow sound (not a HEIC or AVIF photo)."""
    major = head[8:12]
    if major in MP4_IMAGE_BRANDS:
        return False
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    compatible = {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    return major in _MP4_AV_BRANDS or bool(compatible & _MP4_AV_BRANDS)


def _ebml_vint(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(value without its length marker, length in bytes) of the EBML variable-size integer at pos."""
    if pos < 0 or pos >= len(buf) or buf[pos] == 0:
        return None
    length = 9 - buf[pos].bit_length()
    if pos + length > len(buf):
        return None
    return int.from_bytes(buf[pos : pos + length], "big") & ((1 << (7 * length)) - 1), length


def _ebml_element(buf: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(ID, offset of the data, data size or None when left open) of the element at pos."""
    id_part = _ebml_vint(buf, pos)
    if id_part is None or id_part[1] > 4:
        return None
    element_id = int.from_bytes(buf[pos : pos + id_part[1]], "big")
    size_part = _ebml_vint(buf, pos + id_part[1])
    if size_part is None:
        return None
    value, length = size_part
    data_size = None if value == (1 << (7 * length)) - 1 else value
    return element_id, pos + id_part[1] + length, data_size


def _ebml_doctype(head: bytes) -> str | None:
    """The DocType inside the EBML header ("webm", "matroska"), or None if the head lacks it."""
    header = _ebml_element(head, 0)
    if header is None or header[2] is None:
        return None
    for element_id, data_at, data_size in _ebml_children(head, header[1], header[1] + header[2]):
        if element_id == _DOCTYPE:
            return head[data_at : data_at + data_size].rstrip(b"\0").decode("ascii", "replace")
    return None
