"""Signing in through the real pages, when the database is slow to commit.

A browser follows a redirect the moment it arrives. If the response left before the
request's transaction committed, the next page would not find the new session and would
send the therapist back to the sign-in page. A slow commit makes that race certain
instead of occasional.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from browser.steps import sign_in_through_pages
from playwright.sync_api import Page
from sqlalchemy import event

from sotto.runtime import Runtime
from support.app import Person

pytestmark = pytest.mark.browser

COMMIT_DELAY_SECONDS = 0.4


@pytest.fixture
def slow_commits(runtime: Runtime) -> Iterator[None]:
    """Requests' commits take a while; the background workers' do not (they are not under test)."""

    def wait_before_commit(connection: object) -> None:
        if not threading.current_thread().name.startswith("sotto-worker"):
            time.sleep(COMMIT_DELAY_SECONDS)

    event.listen(runtime.engine, "commit", wait_before_commit)
    yield
    event.remove(runtime.engine, "commit", wait_before_commit)


def test_each_page_sees_what_the_previous_request_committed(
    slow_commits: None, therapist: Person, therapist_page: Page
) -> None:
    # Password → code page → home: each step reads the session the step before wrote.
    sign_in_through_pages(therapist_page, therapist)
