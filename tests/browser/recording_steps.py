"""What the recorder tests share: the therapist on the Record page (``Recorder``), an
independent record of the audio the browser produced, the server's stored copy, and the
checks that the two agree.

``ChunkLog`` wraps the page's MediaRecorder (an init script, outside the app's code) and
reports every chunk the browser hands to the page: its size at once, and its bytes as soon
as they are read. The stored recording must be exactly those chunks, in order.
"""

from __future__ import annotations

import base64
import collections
import io
import itertools
import math
import re
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import av
from browser.steps import sign_in_through_pages, watch_for_errors
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from sotto.crypto.datakeys import load_data_key
from sotto.crypto.envelope import open_sealed
from sotto.db import session_scope
from sotto.recording.models import Recording, TherapySession
from sotto.recording.service import AUDIO_PREFIX
from sotto.runtime import Runtime
from sotto.storage.encrypted import read_object
from support.app import Person
from support.consenting import ConsentingClient

T = TypeVar("T")
DURATION_TOLERANCE_S = 1.5
UPLOADS = re.compile(r"/recordings/[0-9a-zA-Z_-]+$")
MICROPHONE_LABEL = "Fake Default Audio Input"  # Chromium's fake microphone; the fake screen's sound is "Fake audio"
_SEGMENT, _CLUSTER = 0x18538067, 0x1F43B675

_WATCH_RECORDERS = """
(() => {
  const Original = window.MediaRecorder;
  if (!Original) return;
  const load = String(performance.timeOrigin);
  let made = 0;
  const base64 = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  window.MediaRecorder = class extends Original {
    constructor(stream, options) {
      super(stream, options);
      const recorder = made++;
      const label = stream.getAudioTracks().map((t) => t.label).join(",");
      let seq = 0;
      this.addEventListener("dataavailable", (event) => {
        const n = seq++;
        window.__sottoChunk(load, recorder, n, event.data.size, label);
        event.data.arrayBuffer().then((bytes) => window.__sottoChunkBytes(load, recorder, n, base64(bytes)));
      });
    }
  };
})();
"""


@dataclass
class ProducedStream:
    """What one MediaRecorder produced, chunk by chunk."""

    load: str
    recorder: int
    label: str
    sizes: list[int] = field(default_factory=list)
    contents: dict[int, bytes] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.sizes)

    @property
    def is_microphone(self) -> bool:
        return self.label == MICROPHONE_LABEL

    def complete(self) -> bool:
        """Every chunk's bytes have arrived (a chunk made as its page unloaded may never)."""
        return len(self.contents) == len(self.sizes)

    def data(self) -> bytes:
        assert self.complete(), f"only {len(self.contents)} of {len(self.sizes)} chunks were read"
        return b"".join(self.contents[i] for i in range(len(self.sizes)))

    def first(self, count: int) -> ProducedStream:
        """The stream as it was after its first ``count`` chunks."""
        return ProducedStream(
            self.load,
            self.recorder,
            self.label,
            self.sizes[:count],
            {i: c for i, c in self.contents.items() if i < count},
        )


@dataclass
class ChunkLog:
    """Every chunk the page's recorders produced, across reloads, in the order they were made."""

    streams: list[ProducedStream] = field(default_factory=list)

    @classmethod
    def attach(cls, context: BrowserContext) -> ChunkLog:
        log = cls()
        context.expose_function("__sottoChunk", log._chunk)
        context.expose_function("__sottoChunkBytes", log._bytes)
        context.add_init_script(_WATCH_RECORDERS)
        return log

    def _stream(self, load: str, recorder: int, label: str = "") -> ProducedStream:
        for stream in self.streams:
            if (stream.load, stream.recorder) == (load, recorder):
                return stream
        stream = ProducedStream(load, recorder, label)
        self.streams.append(stream)
        return stream

    def _chunk(self, load: str, recorder: int, seq: int, size: int, label: str) -> None:
        stream = self._stream(load, recorder, label)
        assert seq == len(stream.sizes), f"chunk {seq} of recorder {recorder} reported out of order"
        stream.sizes.append(size)

    def _bytes(self, load: str, recorder: int, seq: int, data: str) -> None:
        content = base64.b64decode(data)
        stream = self._stream(load, recorder)
        assert len(content) == stream.sizes[seq]
        stream.contents[seq] = content

    def chunks(self) -> int:
        return sum(len(s.sizes) for s in self.streams)

    def microphone(self) -> list[ProducedStream]:
        """The microphone's recorders in the order they started: segment k is the k-th."""
        return [s for s in self.streams if s.is_microphone]

    def call(self) -> list[ProducedStream]:
        return [s for s in self.streams if not s.is_microphone]


def wait_until(what: str, check: Callable[[], T | None], page: Page | None = None, timeout: float = 20.0) -> T:
    """Polls ``check`` until it returns something truthy; Playwright's events run while we wait."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        if page is not None:
            page.wait_for_timeout(100)  # lets exposed-function calls from the page arrive
        else:
            time.sleep(0.1)


def stats(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("window.sottoRecorder.stats"))


def stored_chunks(page: Page) -> int:
    """Chunks the page still keeps in IndexedDB (not yet confirmed by the server)."""
    return int(page.evaluate("window.sottoRecorder.storedChunks()"))


_READ_INDEXEDDB = """
async () => {
  // Read straight from IndexedDB, not through the page's code: every object store, every value.
  const known = (await indexedDB.databases()).map((d) => d.name);
  const found = { counts: {}, bytes: [], keys: [], strings: [] };
  if (!known.includes("sotto-recorder")) return found;
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open("sotto-recorder");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const names = [...db.objectStoreNames], records = {};
  if (names.length) {
    const tx = db.transaction(names, "readonly");
    await Promise.all(names.map((name) => new Promise((resolve, reject) => {
      const req = tx.objectStore(name).getAll();
      req.onsuccess = () => { records[name] = req.result; resolve(); };
      req.onerror = () => reject(req.error);
    })));
  }
  db.close();
  const base64 = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  const walk = async (value, where) => {
    if (value instanceof CryptoKey) {
      const refused = [];
      for (const format of ["raw", "jwk", "pkcs8"]) {
        try { await crypto.subtle.exportKey(format, value); } catch (e) { refused.push(format); }
      }
      found.keys.push({ where, type: value.type, extractable: value.extractable, algorithm: value.algorithm.name,
                        length: value.algorithm.length, usages: [...value.usages], refused });
    } else if (value instanceof Blob) {
      found.bytes.push({ where, data: base64(await value.arrayBuffer()) });
    } else if (value instanceof ArrayBuffer) {
      found.bytes.push({ where, data: base64(value) });
    } else if (ArrayBuffer.isView(value)) {
      found.bytes.push({ where, data: base64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) });
    } else if (typeof value === "string") {
      found.strings.push({ where, value });
      // audio hidden in text
      if (value.length > 200) found.bytes.push({ where, data: base64(new TextEncoder().encode(value)) });
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) await walk(v, where + "." + k);
    }
  };
  for (const name of names) {
    found.counts[name] = records[name].length;
    for (let i = 0; i < records[name].length; i++) await walk(records[name][i], `${name}[${i}]`);
  }
  return found;
}
"""


@dataclass
class StoredKey:
    """A CryptoKey found in the page's IndexedDB, and which export formats the browser refused."""

    where: str
    type: str
    extractable: bool
    algorithm: str
    length: int | None
    usages: list[str]
    refused: list[str]


@dataclass
class BrowserStorage:
    """What the recorder's IndexedDB database holds, read directly by the test."""

    counts: dict[str, int]  # records per object store
    bytes: list[tuple[str, bytes]]  # every binary value (and long string), with where it was found
    keys: list[StoredKey]
    strings: list[tuple[str, str]]  # every text value, with where it was found

    def holds(self, secret: bytes) -> list[str]:
        """Where ``secret`` is found, as bytes or written as hex or base64 (either alphabet)."""
        texts = {
            secret.hex(),
            base64.b64encode(secret).decode().rstrip("="),
            base64.urlsafe_b64encode(secret).decode().rstrip("="),
        }
        found = [where for where, data in self.bytes if secret in data or any(text.encode() in data for text in texts)]
        return found + [
            where for where, value in self.strings if any(text in value or text.upper() in value for text in texts)
        ]


def indexeddb_contents(page: Page) -> BrowserStorage:
    found = page.evaluate(_READ_INDEXEDDB)
    return BrowserStorage(
        counts=dict(found["counts"]),
        bytes=[(b["where"], base64.b64decode(b["data"])) for b in found["bytes"]],
        keys=[StoredKey(**k) for k in found["keys"]],
        strings=[(s["where"], s["value"]) for s in found["strings"]],
    )


_READ_SEALED_CHUNKS = """
async () => {
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open("sotto-recorder");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const rows = await new Promise((resolve, reject) => {
    const req = db.transaction("chunks", "readonly").objectStore("chunks").getAll();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  db.close();
  const base64 = (value) => {
    const bytes = ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
                                            : new Uint8Array(value);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  return rows.map((r) => ({ url: r.url, offset: r.offset, iv: base64(r.iv), sealed: base64(r.sealed) }));
}
"""


@dataclass(frozen=True)
class SealedChunk:
    url: str
    offset: int
    iv: bytes
    sealed: bytes


def sealed_chunks(page: Page) -> list[SealedChunk]:
    """The chunks the page keeps, as stored: where each belongs, its IV and its ciphertext."""
    return [
        SealedChunk(c["url"], c["offset"], base64.b64decode(c["iv"]), base64.b64decode(c["sealed"]))
        for c in page.evaluate(_READ_SEALED_CHUNKS)
    ]


def browser_key(runtime: Runtime, session_id: str) -> bytes | None:
    """The session's key for unsent audio, as the server keeps it (unsealed here), or None once destroyed."""
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        sealed = row.browser_key_sealed
    return None if sealed is None else open_sealed(runtime.keystore, sealed, context=f"browser-key:{session_id}")


def ask_for_browser_key(page: Page, session_id: str) -> int:
    """The status the server answers the page's own request for the session's key with (CSRF token
    from the page's forms or recorder)."""
    return int(
        page.evaluate(
            """async (session) => {
      const field = document.querySelector("input[name=csrf_token]"), recorder = document.getElementById("recorder");
      const token = field ? field.value : recorder.dataset.csrf;
      const r = await fetch(`/sessions/${session}/browser-key`, { method: "POST", headers: { "X-CSRF-Token": token } });
      return r.status;
    }""",
            session_id,
        )
    )


def shannon_entropy(data: bytes) -> float:
    """Bits per byte: 8 for uniformly random bytes."""
    counts = collections.Counter(data)
    return -sum(n / len(data) * math.log2(n / len(data)) for n in counts.values())


def byte_chi_square(data: bytes) -> float:
    """How far the bytes' histogram is from uniform: about 255 ± 23 for random bytes of any
    length (255 degrees of freedom), and in the thousands for compressed audio in WebM, whose
    entropy (about 7.97 bits per byte) is close to random but not close enough."""
    expected = len(data) / 256
    counts = collections.Counter(data)
    return sum((counts.get(value, 0) - expected) ** 2 / expected for value in range(256))


def recordings_of(runtime: Runtime, session_id: str) -> list[Recording]:
    with session_scope(runtime.sessions) as session:
        rows = list(
            session.scalars(
                select(Recording)
                .where(Recording.session_id == session_id)
                .order_by(Recording.channel, Recording.segment)
            )
        )
        session.expunge_all()
    return rows


def therapy_session(runtime: Runtime, session_id: str) -> TherapySession:
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        session.expunge(row)
    return row


def stored_audio(runtime: Runtime, recording_id: str) -> bytes:
    """The recording as the server keeps it, decrypted in memory."""
    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, recording_id)
        assert rec is not None and rec.data_key_id is not None, "the recording's key is gone"
        key = load_data_key(session, keystore=runtime.keystore, key_id=rec.data_key_id)
    return b"".join(read_object(runtime.blobs, key, prefix=AUDIO_PREFIX, object_id=recording_id))


def last_whole_element_end(data: bytes) -> int:
    """Where a live WebM recording may be cut: the end of its last whole element.

    Chrome ends each timeslice with the first bytes of the next element, so a recording cut
    off between chunks (a reload) must be closed before them. The open-ended Segment and
    Clusters are entered; every element of known size is skipped whole.
    """

    def vint(at: int, longest: int) -> tuple[int, int, bool] | None:
        if at >= len(data) or data[at] == 0:
            return None
        length = 9 - data[at].bit_length()
        assert length <= longest, f"not EBML at {at}"
        if at + length > len(data):
            return None
        value = int.from_bytes(data[at : at + length], "big") & ((1 << (7 * length)) - 1)
        return length, value, value == (1 << (7 * length)) - 1

    at = cut = 0
    while at <= len(data):
        cut = at
        element_id = vint(at, 4)
        size = vint(at + element_id[0], 8) if element_id else None
        if element_id is None or size is None:
            break
        header = element_id[0] + size[0]
        if size[2]:
            assert int.from_bytes(data[at : at + element_id[0]], "big") in (_SEGMENT, _CLUSTER)
            at += header
        else:
            at += header + size[1]
    return cut


def assert_stored_as_produced(stored: bytes, produced: ProducedStream, *, cut_off: bool = False) -> None:
    """The stored bytes are exactly the produced chunks, in order: nothing lost, nothing twice.

    ``cut_off``: the recording was interrupted between two chunks, so it ends at its last
    whole element, before the partial one its last chunk closes with.
    """
    data = produced.data()
    expected = data[: last_whole_element_end(data)] if cut_off else data
    assert len(stored) == len(expected), (
        f"stored {len(stored)} bytes, expected {len(expected)} of the {len(data)} the browser produced "
        f"in {len(produced.sizes)} chunks"
    )
    assert stored == expected, "the stored bytes differ from what the browser produced"


@dataclass(frozen=True)
class DecodedAudio:
    seconds: float
    packets: int
    largest_gap_ms: float


def decode_webm(data: bytes) -> DecodedAudio:
    """Decodes the whole recording and checks its packets' timestamps: they must rise with no
    repeat (a duplicated chunk) and leave no hole over 100 ms (a lost chunk)."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        assert stream.time_base is not None
        unit_ms = float(stream.time_base) * 1000
        timings = [(p.pts, p.duration or 0) for p in container.demux(stream) if p.pts is not None and p.size]
    assert timings, "no audio packets"
    largest_gap = 0.0
    for (pts, duration), (next_pts, _) in itertools.pairwise(timings):
        assert next_pts > pts, f"timestamp repeats or goes back: {pts} then {next_pts}"
        gap = (next_pts - pts - duration) * unit_ms
        assert gap <= 100, f"a hole of {gap:.0f} ms after {pts * unit_ms:.0f} ms"
        largest_gap = max(largest_gap, gap)
    with av.open(io.BytesIO(data), mode="r") as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
        rate = container.streams.audio[0].rate
    return DecodedAudio(samples / rate, len(timings), largest_gap)


def speech_wav(path: Path) -> Path:
    """A few seconds of synthesized speech (espeak-ng), or a tone where it is not installed.

    Chromium plays it in a loop as the fake microphone."""
    try:
        subprocess.run(
            [
                "espeak-ng",
                "-w",
                str(path),
                "-s",
                "150",
                "I have been sleeping better since we last spoke. The walks in the morning help, "
                "and work has been quieter this week.",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return path
    except (FileNotFoundError, subprocess.CalledProcessError):
        return tone_wav(path, seconds=6.0)


def tone_wav(path: Path, *, seconds: float, rate: int = 48_000) -> Path:
    import struct

    frames = b"".join(
        struct.pack("<h", int(9000 * math.sin(2 * math.pi * 330 * i / rate))) for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


class Recorder:
    """The therapist signed in on the Record page, with the browser's chunks logged."""

    def __init__(self, context: BrowserContext, therapist: Person, client: ConsentingClient) -> None:
        self.context = context
        self.chunks = ChunkLog.attach(context)
        self.page = context.new_page()
        self.problems = watch_for_errors(self.page)
        self.page.on("dialog", lambda dialog: dialog.accept())  # confirm() and "leave this page?"
        sign_in_through_pages(self.page, therapist)
        self.page.goto(f"/clients/{client.client.id}/record")
        expect(self.page.locator("#upload-state")).to_have_text("Ready.")
        self.state = self.page.locator("#upload-state")
        self.started = 0.0

    def start(self) -> None:
        self.page.get_by_role("button", name=re.compile("^(Start|Continue) recording$")).click()
        self.page.wait_for_function("() => window.sottoRecorder.stats.phase === 'recording'")
        self.started = time.monotonic()

    def wait_saved(self) -> None:
        """Until the server has confirmed audio and nothing is waiting to be sent."""
        expect(self.state).to_have_text(re.compile(r"^Saved up to \d+:\d\d$"), timeout=15_000)
        wait_until(
            "every chunk confirmed", lambda: all(u["waiting"] == 0 for u in stats(self.page)["uploads"]), self.page
        )

    def record_until(self, seconds: float) -> None:
        self.page.wait_for_function(
            f"() => window.sottoRecorder.stats.elapsedMs >= {seconds * 1000}", timeout=(seconds + 10) * 1000
        )

    def stop(self) -> tuple[str, float]:
        """Presses Stop, which sends the rest and goes on to the session's page; returns the
        session's id and the seconds recorded since the last start."""
        session_id = stats(self.page)["session"]
        self.page.get_by_role("button", name="Stop", exact=True).click()
        recorded = time.monotonic() - self.started
        expect(self.page).to_have_url(re.compile(rf"/sessions/{session_id}$"), timeout=20_000)
        expect(self.page.locator("#session-status")).to_have_text("recorded")
        return session_id, recorded

    def script_problems(self) -> list[str]:
        """Console errors other than the network failures the tests cause on purpose."""
        return [p for p in self.problems if "Failed to load resource" not in p]


def session_recorded(runtime: Runtime, page: Page, session_id: str) -> None:
    """The server's own check of the stored audio (a background job) found it whole: the
    session's page still says "recorded" once the check has run."""

    def checked() -> bool:
        row = therapy_session(runtime, session_id)
        assert row.status in ("recording", "recorded"), f"the server refused the recording: {row.problem}"
        recs = recordings_of(runtime, session_id)
        return row.status == "recorded" and all(r.duration_seconds is not None for r in recs if r.received_bytes)

    wait_until("the audio check", checked, timeout=30)
    page.goto(f"/sessions/{session_id}")
    expect(page.locator("#session-status")).to_have_text("recorded")
