"""Encrypted ingest versus plain writes of the same bytes, measured side by side in one run.

    .venv/bin/python bench/bench_ingest.py [--megabytes 128] [--chunk-kib 5120] [--rounds 5]

The same recorded audio (a generated WAV, cut into the 5 MiB pieces the file uploader
sends) goes into the blob store three ways:

* plain: each chunk written unencrypted with the same blob store (atomic, fsynced files);
* ingest: through the upload path's service call, as each tus PATCH runs it: the row lock,
  the consent check, a per-recording data key, AES-256-GCM, the blob store, the database
  update and commit. This is compared with plain (target: at least 0.7 of its rate);
* http: the same PATCH requests over HTTP to a live server on loopback (adds sign-in,
  CSRF and transfer), reported for context.

The three take turns chunk by chunk (rotating who goes first), so all meet the disk and
its cache in the same state; the median over the rounds is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from sotto.accounts.models import Role, User  # noqa: E402
from sotto.app import create_app  # noqa: E402
from sotto.clients.models import Client  # noqa: E402
from sotto.db import session_scope  # noqa: E402
from sotto.recording import service  # noqa: E402
from sotto.recording.models import Recording, Source  # noqa: E402
from sotto.runtime import Runtime, build_runtime  # noqa: E402
from sotto.storage.blobs import LocalBlobStore  # noqa: E402
from support.app import create_person, create_practice, make_settings, sign_in  # noqa: E402
from support.audio import unique_wav  # noqa: E402
from support.consenting import consenting_client  # noqa: E402
from support.smtp import LoopbackSmtpServer, free_loopback_port  # noqa: E402
from support.tus import Tus  # noqa: E402


class Ways:
    """The three ways, each able to take the next chunk; each keeps its own elapsed time."""

    def __init__(
        self, runtime: Runtime, web: httpx.Client, folder: Path, therapist_id: str, client_id: str, total: int
    ) -> None:
        self.runtime, self.web = runtime, web
        self.plain_store = LocalBlobStore(folder)
        self.plain_name = os.urandom(8).hex()
        with session_scope(runtime.sessions) as session:
            therapist, client = session.get(User, therapist_id), session.get(Client, client_id)
            assert therapist is not None and client is not None
            therapy_session = service.start_session(
                session, keystore=runtime.keystore, therapist=therapist, client=client
            )
            self.recording_id = service.open_recording(
                session,
                keystore=runtime.keystore,
                therapy_session=therapy_session,
                source=Source.UPLOAD,
                media_type="audio/wav",
                declared_length=total,
            ).id
        self.tus = Tus(web)  # type: ignore[arg-type]  # the same calls work on any httpx client
        session_id = self.tus.start_session(client_id).json()["session"]
        self.url = self.tus.create(session_id, source="upload", length=total, filetype="audio/wav").headers["Location"]
        self.elapsed = {"plain": 0.0, "ingest": 0.0, "http": 0.0}

    def run(self, way: str, index: int, offset: int, chunk: bytes) -> None:
        start = time.perf_counter()
        if way == "plain":
            self.plain_store.put(f"plain/{self.plain_name}/{index:08d}", chunk)
        elif way == "ingest":  # one transaction per chunk, as one PATCH request has
            with session_scope(self.runtime.sessions) as session:
                rec = session.get(Recording, self.recording_id)
                assert rec is not None
                service.append_chunk(
                    session,
                    keystore=self.runtime.keystore,
                    store=self.runtime.blobs,
                    recording=rec,
                    offset=offset,
                    data=chunk,
                )
        else:
            r = self.tus.patch(self.url, offset, chunk)
            assert r.status_code == 204, r.text
        self.elapsed[way] += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=128)
    parser.add_argument("--chunk-kib", type=int, default=5120)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sotto-bench-"))
    smtp = LoopbackSmtpServer()
    smtp.start()
    port = free_loopback_port()
    try:
        settings = make_settings(
            work,
            f"sqlite:///{work / 'data' / 'sotto.db'}",
            smtp.port,
            public_url=f"http://127.0.0.1:{port}",
            max_recording_mb=4096,
            max_chunk_mb=max(16, args.chunk_kib // 1024 + 1),
        )
        runtime = build_runtime(settings)
        practice = create_practice(runtime)
        therapist = create_person(runtime, practice, Role.THERAPIST, "bench@example.test", "Dr. Bench")
        client_id = consenting_client(runtime, therapist.user).client.id
        audio = unique_wav(seconds=args.megabytes * 1024 * 1024 / 32000)
        size = args.chunk_kib * 1024
        chunks = [audio[i : i + size] for i in range(0, len(audio), size)]

        server = uvicorn.Server(
            uvicorn.Config(create_app(runtime, run_workers=False), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        times: dict[str, list[float]] = {"plain": [], "ingest": [], "http": []}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=300) as web:
            sign_in(web, therapist)  # type: ignore[arg-type]
            for round_number in range(args.rounds):
                ways = Ways(runtime, web, work / "plain", therapist.id, client_id, len(audio))
                # Chunk by chunk, rotating the order, so every way meets the disk in the same state.
                offset = 0
                for index, chunk in enumerate(chunks):
                    order = ["plain", "ingest", "http"]
                    shift = (index + round_number) % 3
                    for way in order[shift:] + order[:shift]:
                        ways.run(way, index, offset, chunk)
                    offset += len(chunk)
                for way, seconds in ways.elapsed.items():
                    times[way].append(seconds)
        server.should_exit = True
        thread.join(30)
        runtime.close()
    finally:
        smtp.stop()
        shutil.rmtree(work, ignore_errors=True)

    megabytes = len(audio) / 1e6
    rate = {way: megabytes / statistics.median(values) for way, values in times.items()}
    ratios = sorted(plain / ingest for plain, ingest in zip(times["plain"], times["ingest"], strict=True))
    print(f"data: {megabytes:.1f} MB in {len(chunks)} chunks of {args.chunk_kib} KiB, {args.rounds} rounds (median)")
    print(f"plain writes, unencrypted (same blob store): {rate['plain']:8.1f} MB/s")
    print(f"encrypted ingest (upload path, service):     {rate['ingest']:8.1f} MB/s")
    print(f"encrypted ingest over HTTP (live server):    {rate['http']:8.1f} MB/s")
    ratio = statistics.median(ratios)
    print(
        f"ratio ingest / plain: {ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}); "
        f"target >= 0.70: {'met' if ratio >= 0.7 else 'NOT met'}; http / plain: {rate['http'] / rate['plain']:.2f}"
    )


if __name__ == "__main__":
    main()
