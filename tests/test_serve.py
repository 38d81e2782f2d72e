"""`sotto serve` on its embedded defaults: starts, prints where to open it, and the first-admin link."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.smtp import free_loopback_port


@pytest.mark.slow
def test_serve_starts_on_defaults_and_prints_the_setup_link(tmp_path: Path) -> None:
    port = free_loopback_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTTO_")}
    env.update(SOTTO_PORT=str(port), SOTTO_PUBLIC_URL=f"http://127.0.0.1:{port}")
    sotto = Path(sys.executable).parent / "sotto"
    # Run in an empty folder: every default (data, keys, outbox) lands beneath it.
    proc = subprocess.Popen(
        [str(sotto), "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, deadline = "", time.monotonic() + 60
        while "/enrol/" not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                output += proc.stdout.readline()  # type: ignore[union-attr]
        assert f"Open http://127.0.0.1:{port}/" in output
        link = re.search(rf"http://127\.0\.0\.1:{port}(/enrol/[\w-]+)", output)
        assert link, output
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}{link.group(1)}", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "server did not answer"
                time.sleep(0.3)
        assert page.status_code == 200 and "Set up your practice" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 303
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    key_file = tmp_path / "var" / "keys" / "sotto.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var" / "data" / "sotto.db").exists()
    assert not (tmp_path / "var" / "data" / "keys").exists()
