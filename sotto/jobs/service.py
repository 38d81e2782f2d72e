"""A durable job queue in the database and the in-process worker threads that drain it.

A job row is added in the same transaction as the change that needs it, so work is
enqueued exactly when that change commits. Tasks are idempotent: a worker killed mid-job
leaves the row locked until ``locked_until`` passes, then another worker runs it again.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sotto import clock
from sotto.db import session_scope
from sotto.jobs.models import Job

if TYPE_CHECKING:
    from sotto.runtime import Runtime

log = logging.getLogger(__name__)

TaskFn = Callable[..., None]
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    fn: Callable[[Runtime], None]


# The job this thread is running, so a long task can keep its lease (see `keep_lease`).
_current: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("sotto_job", default=None)

TASKS: dict[str, TaskFn] = {}
PERIODIC: dict[str, Periodic] = {}


def task(name: str) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn(runtime, **args)`` as the task called ``name``.

    A task opens its own transactions (``runtime.sessions`` to write, ``read_sessions`` to
    read), so slow work such as decoding or sending mail happens outside them.
    """

    def register(fn: TaskFn) -> TaskFn:
        if name in TASKS:
            raise RuntimeError(f"task {name!r} registered twice")
        TASKS[name] = fn
        return fn

    return register


def periodic(name: str, every: timedelta) -> Callable[[Callable[[Runtime], None]], Callable[[Runtime], None]]:
    """Register ``fn(runtime)`` to run every ``every`` on a worker (sweeps, retries)."""

    def register(fn: Callable[[Runtime], None]) -> Callable[[Runtime], None]:
        PERIODIC[name] = Periodic(name, every, fn)
        return fn

    return register


def enqueue(session: Session, name: str, **args: Any) -> Job:
    """Add a job in the caller's transaction; it becomes visible to workers on commit."""
    if name not in TASKS:
        raise KeyError(f"no task named {name!r}")
    job = Job(name=name, args=args)
    session.add(job)
    return job


def _claim(runtime: Runtime, *, exclude: Collection[str] = ()) -> str | None:
    """Take one due job, or None. Safe with several workers on either database."""
    now = clock.now()
    due = or_(
        (Job.status == "queued") & (Job.run_after <= now),
        (Job.status == "running") & (Job.locked_until < now),
    )
    if exclude:
        due = due & Job.name.not_in(list(exclude))
    with session_scope(runtime.sessions) as session:
        job_id = session.scalars(
            select(Job.id).where(due).order_by(Job.run_after).limit(1).with_for_update(skip_locked=True)
        ).first()
        if job_id is None:
            return None
        # SQLite has no row locks: the conditional update is what makes the claim exclusive.
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, due)
            .values(status="running", locked_until=now + LEASE, attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return job_id if taken.rowcount else None  # type: ignore[attr-defined]


def _run(runtime: Runtime, job_id: str) -> None:
    with session_scope(runtime.sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None
        name, args, attempts = job.name, dict(job.args), job.attempts
    token = _current.set((job_id, attempts))
    try:
        TASKS[name](runtime, **args)
    except Exception as exc:
        # Only the kind of error is kept: messages can quote session content.
        log.warning("job %s (%s) failed on attempt %d: %s", job_id, name, attempts, type(exc).__name__)
        with session_scope(runtime.sessions) as session:
            job = session.get(Job, job_id)
            assert job is not None
            job.last_error = type(exc).__name__
            job.locked_until = None
            if attempts >= MAX_ATTEMPTS:
                job.status, job.finished_at = "failed", clock.now()
            else:
                job.status = "queued"
                job.run_after = clock.now() + timedelta(seconds=min(3600, 5 * 4 ** (attempts - 1)))
        return
    finally:
        _current.reset(token)
    with session_scope(runtime.sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.finished_at, job.locked_until = "done", clock.now(), None


def current_attempt() -> int:
    """Which attempt at its job the running task is (1 for the first); 0 outside a job."""
    current = _current.get()
    return current[1] if current else 0


def is_last_attempt() -> bool:
    """Whether a failure now would be final (the job would not be tried again)."""
    return current_attempt() >= MAX_ATTEMPTS


def keep_lease(runtime: Runtime) -> None:
    """Extend the running job's lease, so a long task is not taken for a dead one and run twice."""
    current = _current.get()
    if current is None:
        return
    with session_scope(runtime.sessions) as session:
        session.execute(
            update(Job)
            .where(Job.id == current[0], Job.status == "running")
            .values(locked_until=clock.now() + LEASE)
            .execution_options(synchronize_session=False)
        )


def run_pending(runtime: Runtime, *, limit: int = 1000, exclude: Collection[str] = ()) -> int:
    """Run due jobs in this thread until none is left; returns how many ran.

    ``exclude`` leaves jobs of those names for other workers (e.g. a worker kept free of
    the long ``pipeline.process_session`` jobs).
    """
    count = 0
    while count < limit:
        job_id = _claim(runtime, exclude=exclude)
        if job_id is None:
            break
        _run(runtime, job_id)
        count += 1
    return count


def run_periodic(runtime: Runtime) -> None:
    """Run every periodic task once (the workers do this on their own schedule)."""
    for item in list(PERIODIC.values()):
        try:
            item.fn(runtime)
        except Exception as exc:
            log.warning("periodic task %s failed: %s", item.name, type(exc).__name__)


class ThreadWorkers:
    """The embedded job runner: worker threads inside the web process."""

    def __init__(
        self, runtime: Runtime, *, threads: int, poll_seconds: float = 2.0, exclude: Collection[str] = ()
    ) -> None:
        self.runtime = runtime
        self.exclude = tuple(exclude)
        self.threads = threads
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._last_periodic: dict[str, float] = {}

    def start(self) -> None:
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, args=(i,), name=f"sotto-worker-{i}", daemon=True)
            t.start()
            self._workers.append(t)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._workers:
            t.join(timeout)
        self._workers.clear()

    def _due_periodic(self, index: int) -> None:
        # Only the first thread runs sweeps, so two threads never sweep at once.
        if index != 0:
            return
        now = clock.now().timestamp()
        for item in list(PERIODIC.values()):
            if now - self._last_periodic.get(item.name, 0.0) >= item.every.total_seconds():
                self._last_periodic[item.name] = now
                try:
                    item.fn(self.runtime)
                except Exception as exc:
                    log.warning("periodic task %s failed: %s", item.name, type(exc).__name__)

    def _loop(self, index: int) -> None:
        while not self._stop.is_set():
            try:
                self._due_periodic(index)
                job_id = _claim(self.runtime, exclude=self.exclude)
                if job_id is not None:
                    _run(self.runtime, job_id)
                    continue
            except Exception as exc:  # the database may be briefly unavailable
                log.warning("worker %d: %s", index, type(exc).__name__)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
