"""The audit log's anchor outside the database: when it moves, and that an edited one is caught.

The tests that a cut tail is caught by it are with the other tampering tests, in
``test_audit_chain.py``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import event, text

from sotto.audit import service as audit
from sotto.audit.anchor import ANCHOR_NAME, Anchor, AnchorError, advance_anchor, stored_anchor
from sotto.audit.models import AuditEvent
from sotto.audit.service import ChainReport, verify_and_anchor, verify_chain
from sotto.audit.tasks import anchor_audit_log
from sotto.crypto.keystore import FileKeyStore
from sotto.db import session_scope
from sotto.jobs.service import run_periodic
from sotto.runtime import Runtime
from support.auditing import EVENTS, record_events


def verify(runtime: Runtime) -> ChainReport:
    with session_scope(runtime.read_sessions) as session:
        return verify_chain(session, keystore=runtime.keystore)


def entry(runtime: Runtime, seq: int) -> Anchor:
    with session_scope(runtime.read_sessions) as session:
        event = session.get(AuditEvent, seq)
        assert event is not None
        return Anchor(seq=event.seq, hash=event.hash, at=event.at)


def anchor_file(runtime: Runtime) -> Path:
    key_file = runtime.settings.key_file
    return key_file.with_name(f"{key_file.name}.{ANCHOR_NAME}.anchor")


@pytest.fixture
def anchored(runtime: Runtime) -> Runtime:
    """A log of EVENTS entries, anchored by the server's sweep."""
    record_events(runtime, EVENTS)
    run_periodic(runtime)
    return runtime


# --- a fresh install, and where the anchor moves ------------------------------------------


def test_fresh_install_verifies_ok_and_the_sweep_writes_no_anchor(runtime: Runtime) -> None:
    run_periodic(runtime)
    assert verify(runtime) == ChainReport(entries=0, ok=True)
    assert stored_anchor(runtime.keystore) is None
    assert not anchor_file(runtime).exists()


def test_sweep_anchors_the_newest_entry_in_a_file_beside_the_key_file(anchored: Runtime) -> None:
    assert stored_anchor(anchored.keystore) == entry(anchored, EVENTS)
    assert anchor_file(anchored).stat().st_mode & 0o777 == 0o600
    report = verify(anchored)
    assert report == ChainReport(entries=EVENTS, ok=True, anchored_seq=EVENTS)


def test_sweep_moves_the_anchor_forward_as_the_log_grows(anchored: Runtime) -> None:
    record_events(anchored, 2)
    run_periodic(anchored)
    assert stored_anchor(anchored.keystore) == entry(anchored, EVENTS + 2)
    assert verify(anchored).ok


def test_appending_never_writes_the_anchor(anchored: Runtime) -> None:
    before = anchor_file(anchored).read_bytes()
    record_events(anchored, 3)
    assert anchor_file(anchored).read_bytes() == before


def test_rolled_back_append_does_not_move_the_anchor(anchored: Runtime) -> None:
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), session_scope(anchored.sessions) as session:
        audit.record(session, keystore=anchored.keystore, action="consent.withdrawn", actor="system")
        # The sweep runs while the append is still open: it cannot see the new entry.
        anchor_audit_log(anchored)
        assert stored_anchor(anchored.keystore) == entry(anchored, EVENTS)
        raise Abandoned
    anchor_audit_log(anchored)
    assert stored_anchor(anchored.keystore) == entry(anchored, EVENTS)
    assert verify(anchored) == ChainReport(entries=EVENTS, ok=True, anchored_seq=EVENTS)


def test_an_append_committed_while_the_sweep_verifies_is_no_false_alarm(anchored: Runtime) -> None:
    """The append lands between the sweep's walk and its read of ``audit_head``."""
    appended: list[bool] = []

    def append_before_the_head_is_read(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM audit_head" in statement and not appended:
            appended.append(True)
            record_events(anchored, 1)

    event.listen(anchored.engine, "before_cursor_execute", append_before_the_head_is_read)
    try:
        report = verify_and_anchor(anchored.read_sessions, keystore=anchored.keystore)
    finally:
        event.remove(anchored.engine, "before_cursor_execute", append_before_the_head_is_read)
    assert appended
    assert report == ChainReport(entries=EVENTS, ok=True, anchored_seq=EVENTS)
    assert verify_and_anchor(anchored.read_sessions, keystore=anchored.keystore).anchored_seq == EVENTS + 1


def test_anchor_never_moves_backwards(anchored: Runtime) -> None:
    record_events(anchored, 2)
    newer, older = entry(anchored, EVENTS + 2), entry(anchored, EVENTS + 1)
    assert advance_anchor(anchored.keystore, to=newer) == newer
    assert advance_anchor(anchored.keystore, to=older) == newer
    assert stored_anchor(anchored.keystore) == newer


def test_sweep_leaves_the_anchor_where_it_was_when_the_log_was_cut(anchored: Runtime) -> None:
    before = anchor_file(anchored).read_bytes()
    keep = {"keep": EVENTS - 2}
    with anchored.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :keep"), keep)
        conn.execute(
            text("UPDATE audit_head SET seq = :keep, hash = (SELECT hash FROM audit_events WHERE seq = :keep)"), keep
        )
    run_periodic(anchored)
    assert anchor_file(anchored).read_bytes() == before
    assert not verify(anchored).ok


def test_broken_chain_is_not_anchored(runtime: Runtime) -> None:
    record_events(runtime, EVENTS)
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'user:someone-else' WHERE seq = 3"))
    report = verify_and_anchor(runtime.read_sessions, keystore=runtime.keystore)
    assert not report.ok and report.first_broken_seq == 3
    assert stored_anchor(runtime.keystore) is None


def test_sweep_logs_a_broken_log_by_entry_number_only(anchored: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    with anchored.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'user:someone-else' WHERE seq = 3"))
    with caplog.at_level(logging.ERROR, logger="sotto.audit"):
        anchor_audit_log(anchored)
    [message] = [r.getMessage() for r in caplog.records if r.name.startswith("sotto.audit")]
    assert "BROKEN at entry 3" in message and "someone-else" not in message


def test_first_anchor_of_a_log_with_entries_is_logged_as_a_warning(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    record_events(runtime, EVENTS)
    with caplog.at_level(logging.WARNING, logger="sotto.audit"):
        report = verify_and_anchor(runtime.read_sessions, keystore=runtime.keystore)
    assert report.ok and report.anchored_seq == EVENTS
    assert "no anchor was kept with the keys until now" in (report.notice or "")
    assert any("until now" in r.getMessage() for r in caplog.records)


# --- an anchor that was edited, replaced or damaged ---------------------------------------


def edit_anchor(runtime: Runtime, **changes: object) -> None:
    path = anchor_file(runtime)
    record = json.loads(path.read_bytes())
    record.update(changes)
    path.write_text(json.dumps(record))


def test_anchor_with_an_edited_number_is_detected(anchored: Runtime) -> None:
    edit_anchor(anchored, seq=EVENTS - 3)  # an entry that exists, so only the seal can tell
    report = verify(anchored)
    assert not report.ok and "does not verify" in (report.problem or "")


def test_anchor_with_an_edited_hash_is_detected(anchored: Runtime) -> None:
    edit_anchor(anchored, hash=entry(anchored, EVENTS).hash[::-1])
    assert not verify(anchored).ok


def test_anchor_moved_back_to_an_earlier_entry_with_its_hash_is_detected(anchored: Runtime) -> None:
    earlier = entry(anchored, 2)
    edit_anchor(anchored, seq=earlier.seq, hash=earlier.hash, at=earlier.at.isoformat(timespec="microseconds"))
    assert not verify(anchored).ok


def test_anchor_sealed_under_another_key_is_detected(anchored: Runtime, tmp_path: Path) -> None:
    """An anchor sealed with a key of the attacker's own, for the entry the log now ends at."""
    attacker = FileKeyStore(tmp_path / "attacker" / "sotto.key")
    advance_anchor(attacker, to=entry(anchored, EVENTS))
    sealed = attacker.read_anchor(ANCHOR_NAME)
    assert sealed is not None
    anchor_file(anchored).write_bytes(sealed)
    assert not verify(anchored).ok


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"format": 1}'])
def test_damaged_anchor_is_reported_not_trusted(anchored: Runtime, content: bytes) -> None:
    anchor_file(anchored).write_bytes(content)
    report = verify(anchored)
    assert not report.ok and "damaged or was edited" in (report.problem or "")
    with pytest.raises(AnchorError):
        stored_anchor(anchored.keystore)


def test_sweep_does_not_overwrite_an_edited_anchor(anchored: Runtime) -> None:
    edit_anchor(anchored, seq=EVENTS - 3)
    edited = anchor_file(anchored).read_bytes()
    record_events(anchored, 2)
    run_periodic(anchored)
    assert anchor_file(anchored).read_bytes() == edited
    with pytest.raises(AnchorError):
        advance_anchor(anchored.keystore, to=entry(anchored, EVENTS + 2))


def test_deleted_anchor_file_is_a_notice_and_the_sweep_writes_a_new_one(anchored: Runtime) -> None:
    """Nothing tells a deleted anchor from one never written (see sotto.audit.anchor)."""
    anchor_file(anchored).unlink()
    report = verify(anchored)
    assert report.ok and report.anchored_seq is None and report.notice
    run_periodic(anchored)
    assert stored_anchor(anchored.keystore) == entry(anchored, EVENTS)
