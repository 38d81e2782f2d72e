"""Everything a request or a job needs at run time, built once from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sotto.config import Settings
from sotto.crypto.keystore import KEY_STORES, KeyStore
from sotto.db import make_engine, make_session_factory, migrate
from sotto.jobs.service import ThreadWorkers
from sotto.mail.backends import MailBackend, backend_from_settings
from sotto.privacy.sentence_model import use_model_dir
from sotto.storage.blobs import BLOB_STORES, BlobStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    # Transactions that may write (jobs, commands, form posts); on SQLite they queue for the
    # write lock. ``read_sessions`` serve page views, which rarely write.
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    keystore: KeyStore
    mailer: MailBackend
    blobs: BlobStore
    workers: ThreadWorkers | None = field(default=None)

    def jobs_enqueued(self) -> None:
        """Tell the workers that new jobs were committed, so they need not wait for their poll."""
        if self.workers is not None:
            self.workers.wake()

    def start_workers(self) -> None:
        if self.workers is None:
            from sotto.pipeline.tasks import PROCESS_SESSION

            self.workers = ThreadWorkers(
                self,
                threads=self.settings.worker_threads,
                exclude=() if self.settings.worker_processing else (PROCESS_SESSION,),
            )
            self.workers.start()

    def close(self) -> None:
        if self.workers is not None:
            self.workers.stop()
            self.workers = None
        self.engine.dispose()


def build_runtime(settings: Settings, *, mailer: MailBackend | None = None) -> Runtime:
    """Create the data directory and key file if needed, migrate the database, wire the parts."""
    # Task modules register their jobs on import.
    import sotto.tasks  # noqa: F401

    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    use_model_dir(settings.sentence_model_dir)
    keystore = KEY_STORES["file"](settings.key_file)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine, write=True),
        read_sessions=make_session_factory(engine),
        keystore=keystore,
        mailer=mailer or backend_from_settings(settings),
        blobs=BLOB_STORES[settings.blobs](settings.data_dir / "blobs"),
    )
