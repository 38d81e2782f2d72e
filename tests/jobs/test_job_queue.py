"""The durable job queue: enqueued with the transaction, retried, resumed after a crash, run once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sotto import clock
from sotto.db import session_scope
from sotto.jobs.models import Job
from sotto.jobs.service import MAX_ATTEMPTS, ThreadWorkers, enqueue, run_pending, task
from sotto.runtime import Runtime

RAN: Counter[str] = Counter()
FAIL_TIMES: dict[str, int] = {}
_lock = threading.Lock()


@task("test.count")
def count_task(runtime: Runtime, *, key: str) -> None:
    with _lock:
        RAN[key] += 1
    if FAIL_TIMES.get(key, 0) > 0:
        FAIL_TIMES[key] -= 1
        raise RuntimeError(f"content that must not be logged {key}")


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    RAN.clear()
    FAIL_TIMES.clear()


def job_row(runtime: Runtime) -> Job:
    with session_scope(runtime.sessions) as session:
        return session.scalars(select(Job)).one()


def test_job_from_a_rolled_back_transaction_never_runs(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), session_scope(runtime.sessions) as session:
        enqueue(session, "test.count", key="rolled-back")
        raise RuntimeError("the change failed")
    assert run_pending(runtime) == 0 and RAN["rolled-back"] == 0


def test_failed_job_is_retried_later_and_keeps_only_the_error_kind(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    FAIL_TIMES["retry"] = 1
    with session_scope(runtime.sessions) as session:
        enqueue(session, "test.count", key="retry")
    run_pending(runtime)
    job = job_row(runtime)
    assert job.status == "queued" and job.last_error == "RuntimeError" and job.run_after > clock.now()
    assert "must not be logged" not in caplog.text
    assert run_pending(runtime) == 0  # not due yet
    clock.advance(timedelta(minutes=2))
    run_pending(runtime)
    assert job_row(runtime).status == "done" and RAN["retry"] == 2


def test_job_gives_up_after_the_last_attempt(runtime: Runtime) -> None:
    FAIL_TIMES["hopeless"] = 100
    with session_scope(runtime.sessions) as session:
        enqueue(session, "test.count", key="hopeless")
    for _ in range(MAX_ATTEMPTS):
        run_pending(runtime)
        clock.advance(timedelta(hours=2))
    assert job_row(runtime).status == "failed" and RAN["hopeless"] == MAX_ATTEMPTS


def test_job_of_a_killed_worker_runs_again_when_its_lease_ends(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        job = enqueue(session, "test.count", key="orphan")
        session.flush()
        # As a worker leaves it when killed mid-job.
        job.status, job.locked_until, job.attempts = "running", clock.now() + timedelta(minutes=10), 1
    assert run_pending(runtime) == 0
    clock.advance(timedelta(minutes=11))
    assert run_pending(runtime) == 1
    assert job_row(runtime).status == "done" and RAN["orphan"] == 1


def test_two_workers_run_each_job_exactly_once(runtime: Runtime) -> None:
    keys = [f"once-{i}" for i in range(30)]
    with session_scope(runtime.sessions) as session:
        for key in keys:
            enqueue(session, "test.count", key=key)
    workers = ThreadWorkers(runtime, threads=2, poll_seconds=0.05)
    workers.start()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with session_scope(runtime.sessions) as session:
                statuses: list[Any] = list(session.scalars(select(Job.status)))
            if all(s == "done" for s in statuses):
                break
            time.sleep(0.1)
    finally:
        workers.stop()
    assert all(RAN[key] == 1 for key in keys), {k: RAN[k] for k in keys if RAN[k] != 1}
