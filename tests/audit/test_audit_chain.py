"""The hash-chained audit log: intact chains verify, and every kind of tampering is reported.

Cutting the tail and setting ``audit_head`` back to match needs no key, so only the anchor
kept with the keys can tell; those tests let the server's sweep anchor the log first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from sotto.audit import service as audit
from sotto.audit.models import AuditEvent, AuditHead
from sotto.audit.service import ChainReport, verify_chain
from sotto.cli import app
from sotto.config import get_settings, load_settings
from sotto.crypto.keystore import FileKeyStore
from sotto.db import session_scope
from sotto.jobs.service import run_periodic
from sotto.runtime import Runtime, build_runtime
from support.auditing import EVENTS, record_events


def verify(runtime: Runtime, **kwargs: int) -> ChainReport:
    with session_scope(runtime.sessions) as session:
        return verify_chain(session, keystore=runtime.keystore, **kwargs)


@pytest.fixture
def chain(runtime: Runtime) -> Runtime:
    record_events(runtime)
    return runtime


def test_intact_chain_verifies(chain: Runtime) -> None:
    report = verify(chain)
    assert (report.entries, report.ok, report.first_broken_seq, report.problem) == (EVENTS, True, None, None)


def test_intact_chain_with_no_anchor_yet_verifies_with_a_notice_not_a_break(chain: Runtime) -> None:
    report = verify(chain)
    assert report.ok and report.anchored_seq is None
    assert "no anchor" in (report.notice or "")


def test_empty_log_verifies(runtime: Runtime) -> None:
    assert verify(runtime) == ChainReport(entries=0, ok=True)


def test_intact_chain_verifies_across_batches(chain: Runtime) -> None:
    assert verify(chain, batch=4).ok


def test_entries_are_numbered_without_gaps_and_linked(chain: Runtime) -> None:
    with session_scope(chain.sessions) as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        head = session.get(AuditHead, 1)
    assert [e.seq for e in events] == list(range(1, EVENTS + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert head is not None and (head.seq, head.hash) == (EVENTS, events[-1].hash)


def test_edited_details_report_that_entry(chain: Runtime) -> None:
    with chain.engine.begin() as conn:
        conn.execute(
            update(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 3).values(details={"template_version": 99})
        )
    report = verify(chain)
    assert not report.ok
    assert report.first_broken_seq == 3 and report.entries == 2
    assert "altered" in (report.problem or "")


@pytest.mark.parametrize(
    "assignment", ["actor = 'user:someone-else'", "action = 'consent.viewed'", "subject = NULL", "practice_id = NULL"]
)
def test_edited_column_by_plain_sql_reports_that_entry(chain: Runtime, assignment: str) -> None:
    with chain.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_events SET {assignment} WHERE seq = 4"))  # noqa: S608 - fixed strings
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == 4


def test_edited_time_reports_that_entry(chain: Runtime) -> None:
    with session_scope(chain.sessions) as session:
        event = session.get(AuditEvent, 2)
        assert event is not None
        event.at = event.at.replace(microsecond=(event.at.microsecond + 1) % 1_000_000)
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == 2


def test_deleted_middle_entry_is_reported_missing(chain: Runtime) -> None:
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 3))
    report = verify(chain)
    assert not report.ok
    assert report.first_broken_seq == 3 and report.entries == 2
    assert "missing" in (report.problem or "")


def test_deleted_first_entry_is_reported_missing(chain: Runtime) -> None:
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 1))
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == 1


def test_deleted_last_entry_is_detected_as_the_log_ending_early(chain: Runtime) -> None:
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == EVENTS))
    report = verify(chain)
    assert not report.ok
    assert report.first_broken_seq == EVENTS and report.entries == EVENTS - 1
    assert "ends early" in (report.problem or "")


def cut_tail_and_set_the_head_back(runtime: Runtime, *, keep: int) -> None:
    """What someone with write access to the database alone can do: no key is needed."""
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :keep"), {"keep": keep})
        conn.execute(
            text("UPDATE audit_head SET seq = :keep, hash = (SELECT hash FROM audit_events WHERE seq = :keep)"),
            {"keep": keep},
        )


def test_tail_cut_with_the_head_set_back_is_detected_once_the_sweep_has_anchored_it(chain: Runtime) -> None:
    run_periodic(chain)  # the server's sweeps, the audit log's among them
    cut_tail_and_set_the_head_back(chain, keep=EVENTS - 2)
    report = verify(chain)
    assert not report.ok
    assert report.first_broken_seq == EVENTS - 1 and report.entries == EVENTS - 2
    assert "ends early" in (report.problem or "") and f"entry {EVENTS}" in (report.problem or "")


def test_tail_cut_with_the_head_set_back_and_then_grown_again_is_detected(chain: Runtime) -> None:
    run_periodic(chain)
    cut_tail_and_set_the_head_back(chain, keep=EVENTS - 2)
    record_events(chain, 3)  # the server goes on appending over the gap
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == EVENTS
    assert f"entry {EVENTS} does not match the anchor" in (report.problem or "")


def test_whole_log_and_head_deleted_is_detected_once_anchored(chain: Runtime) -> None:
    run_periodic(chain)
    with chain.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
        conn.execute(text("DELETE FROM audit_head"))
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == 1 and report.entries == 0


def test_deleted_head_row_is_detected(chain: Runtime) -> None:
    with chain.engine.begin() as conn:
        conn.execute(delete(AuditHead.__table__))
    assert not verify(chain).ok


def _rebuild(runtime: Runtime, digest: object) -> None:
    """Recompute every entry's links and hash, and the head, as an attacker with database access would."""
    with session_scope(runtime.sessions) as session:
        prev = audit.GENESIS
        for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            body = json.dumps(
                [
                    prev,
                    ev.seq,
                    ev.at.isoformat(timespec="microseconds"),
                    ev.practice_id,
                    ev.actor,
                    ev.action,
                    ev.subject,
                    ev.details,
                ],
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=True,
            )
            ev.prev_hash, ev.hash = prev, digest(body.encode())  # type: ignore[operator]
            prev = ev.hash
        head = session.get(AuditHead, 1)
        assert head is not None
        head.hash = prev


def _forge_entry_two(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            update(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 2).values(actor="user:someone-else")
        )


def test_chain_rebuilt_with_plain_sha256_does_not_verify(chain: Runtime) -> None:
    _forge_entry_two(chain)
    _rebuild(chain, lambda body: hashlib.sha256(body).hexdigest())
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == 1


def test_chain_rebuilt_under_another_key_does_not_verify(chain: Runtime, tmp_path: Path) -> None:
    other_key = FileKeyStore(tmp_path / "attacker" / "sotto.key").mac_key("audit")
    _forge_entry_two(chain)
    _rebuild(chain, lambda body: hmac.new(other_key, body, hashlib.sha256).hexdigest())
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == 1


def test_chain_rebuilt_with_the_real_key_verifies(chain: Runtime) -> None:
    """The control for the two tests above: the rebuild itself matches the service's hashing."""
    key = chain.keystore.mac_key("audit")
    _rebuild(chain, lambda body: hmac.new(key, body, hashlib.sha256).hexdigest())
    assert verify(chain).ok


def test_appended_forged_entry_does_not_verify(chain: Runtime) -> None:
    with session_scope(chain.sessions) as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        last = session.get(AuditEvent, EVENTS)
        assert last is not None
        forged_hash = hashlib.sha256(b"forged").hexdigest()
        session.add(
            AuditEvent(
                seq=EVENTS + 1,
                at=last.at,
                practice_id=None,
                actor="system",
                action="consent.withdrawn",
                subject=None,
                details={},
                prev_hash=head.hash,
                hash=forged_hash,
            )
        )
        head.seq, head.hash = EVENTS + 1, forged_hash
    report = verify(chain)
    assert not report.ok and report.first_broken_seq == EVENTS + 1


# -- the `sotto audit verify` command -------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A SQLite Sotto in tmp_path that the CLI reaches through SOTTO_* variables."""
    for name in list(os.environ):
        if name.upper().startswith("SOTTO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTTO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOTTO_KEY_FILE", str(tmp_path / "keys" / "sotto.key"))
    monkeypatch.setenv("SOTTO_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    runtime = build_runtime(load_settings())
    yield runtime
    runtime.close()
    get_settings.cache_clear()


def test_audit_verify_command_exits_0_on_an_intact_log(cli_runtime: Runtime) -> None:
    record_events(cli_runtime)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"intact: {EVENTS} entries" in result.output


def test_audit_verify_command_exits_1_with_the_broken_entry(cli_runtime: Runtime) -> None:
    record_events(cli_runtime)
    with cli_runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'user:someone-else' WHERE seq = 3"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 3" in result.output


def test_audit_verify_command_reports_a_missing_entry(cli_runtime: Runtime) -> None:
    record_events(cli_runtime)
    with cli_runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 5" in result.output and "missing" in result.output


def test_audit_verify_command_anchors_the_log_so_a_later_cut_with_the_head_set_back_fails(
    cli_runtime: Runtime,
) -> None:
    record_events(cli_runtime)
    first = runner.invoke(app, ["audit", "verify"])
    assert first.exit_code == 0, first.output
    cut_tail_and_set_the_head_back(cli_runtime, keep=EVENTS - 1)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert f"BROKEN at entry {EVENTS}" in result.output and "ends early" in result.output


def test_audit_verify_command_notes_that_the_log_had_no_anchor_until_then(cli_runtime: Runtime) -> None:
    record_events(cli_runtime)
    first = runner.invoke(app, ["audit", "verify"])
    assert first.exit_code == 0, first.output
    assert f"anchored outside the database up to entry {EVENTS}" in first.output
    assert "note: no anchor was kept with the keys until now" in first.output
    again = runner.invoke(app, ["audit", "verify"])
    assert again.exit_code == 0 and "note:" not in again.output


def test_audit_verify_command_notices_a_truncated_log(cli_runtime: Runtime) -> None:
    record_events(cli_runtime)
    with cli_runtime.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM audit_events WHERE seq = {EVENTS}"))  # noqa: S608 - a constant
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "ends early" in result.output
