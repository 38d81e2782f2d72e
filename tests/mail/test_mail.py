from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
import stat
import threading
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sotto import clock
from sotto.config import Settings
from sotto.crypto.keystore import FileKeyStore
from sotto.db import make_engine, make_session_factory, migrate, session_scope
from sotto.mail.backends import (
    MAIL_BACKENDS,
    MailBackend,
    MailDeliveryError,
    OutboxBackend,
    SmtpBackend,
    backend_from_settings,
)
from sotto.mail.models import OutboxMessage
from sotto.mail.service import (
    MAX_ATTEMPTS,
    Attachment,
    DeliveryReport,
    compose,
    deliver_due,
    purge_failed,
    queue_message,
    retry_delay,
    retry_failed,
    send_now,
)

if TYPE_CHECKING:
    from conftest import LoopbackSmtpServer

SENDER = "Sotto <sotto@practice.example>"
RECIPIENT = "ada.lovelace@client.example"
SUBJECT = "Your consent form from Dr Grace Hopper"
BODY = "Please open the link to read and sign the consent form.\n"
# Binary on purpose: every byte value, so any re-encoding shows.
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"

# aiosmtpd, the test server, logs the SMTP conversation (addresses included) under this
# name; it is not application logging.
TEST_SERVER_LOGGER = "mail.log"


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    migrate(engine)
    yield make_session_factory(engine, write=True)  # as the runtime's workers get
    engine.dispose()


@pytest.fixture
def keystore(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys" / "k.json")


def free_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def plain_smtp(port: int) -> SmtpBackend:
    return SmtpBackend("127.0.0.1", port, "none", "", "", timeout=5, local_hostname="sotto.test")


def consent_message(*, with_pdf: bool = False) -> EmailMessage:
    attachments = [Attachment("consent.pdf", "application/pdf", PDF)] if with_pdf else []
    return compose(sender=SENDER, to=RECIPIENT, subject=SUBJECT, text=BODY, attachments=attachments)


def outbox_rows(session_factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with session_scope(session_factory) as session:
        return list(session.scalars(select(OutboxMessage)))


def application_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if record.name != TEST_SERVER_LOGGER
    )


# --- composing ---------------------------------------------------------------------------


def test_compose_sets_date_message_id_and_auto_submitted() -> None:
    message = compose(sender=SENDER, to=RECIPIENT, subject=SUBJECT, text=BODY, html="<p>Please sign.</p>")

    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@practice.example>")
    assert message["Date"]
    assert message.get_body(("plain",)).get_content() == BODY
    assert message.get_body(("html",)).get_content().strip() == "<p>Please sign.</p>"


def test_compose_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        compose(sender=SENDER, to=RECIPIENT, subject="Hello\r\nBcc: eve@evil.example", text=BODY)


def test_compose_refuses_a_malformed_content_type() -> None:
    with pytest.raises(ValueError, match="content type"):
        compose(sender=SENDER, to=RECIPIENT, subject=SUBJECT, text=BODY, attachments=[Attachment("a", "pdf", b"")])


# --- SMTP backend ------------------------------------------------------------------------


def test_smtp_backend_delivers_subject_body_and_pdf_byte_exact(smtp_server: LoopbackSmtpServer) -> None:
    plain_smtp(smtp_server.port).send(consent_message(with_pdf=True))

    [received] = smtp_server.messages
    assert received["Subject"] == SUBJECT
    assert received.get_body(("plain",)).get_content() == BODY
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "consent.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    assert smtp_server.envelopes[0].rcpt_tos == [RECIPIENT]


def test_smtp_backend_reports_refused_connection_by_kind_only() -> None:
    with pytest.raises(MailDeliveryError) as caught:
        plain_smtp(free_loopback_port()).send(consent_message())

    assert caught.value.reason == "ConnectionRefusedError"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert RECIPIENT not in str(caught.value)


def test_smtp_backend_reports_rejected_recipient_without_the_address(
    start_smtp_server: Callable[..., LoopbackSmtpServer],
) -> None:
    class RefusingHandler:
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            return f"550 no such user {address}"

    server = start_smtp_server(handler=RefusingHandler())

    with pytest.raises(MailDeliveryError) as caught:
        plain_smtp(server.port).send(consent_message())

    assert caught.value.reason == "SMTPRecipientsRefused"
    assert RECIPIENT not in repr(caught.value)


def test_starttls_is_not_silently_skipped_when_the_server_lacks_it(smtp_server: LoopbackSmtpServer) -> None:
    backend = SmtpBackend("127.0.0.1", smtp_server.port, "starttls", "", "", timeout=5)

    with pytest.raises(MailDeliveryError, match="SMTPNotSupportedError"):
        backend.send(consent_message())
    assert smtp_server.messages == []


@pytest.fixture
def loopback_certificate(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting only that server) for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sotto test relay")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / "relay.crt", tmp_path / "relay.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(cadata=cert_pem.decode())
    return server_context, client_context


def test_starttls_with_login_delivers(
    start_smtp_server: Callable[..., LoopbackSmtpServer],
    loopback_certificate: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = loopback_certificate
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=auth_data.password == b"relay-secret", handled=False)

    server = start_smtp_server(
        tls_context=server_context, require_starttls=True, authenticator=authenticator, auth_required=True
    )
    backend = SmtpBackend(
        "127.0.0.1", server.port, "starttls", "sotto", "relay-secret", timeout=5, ssl_context=client_context
    )

    backend.send(consent_message())

    assert logins == [(b"sotto", b"relay-secret")]
    assert [m["Subject"] for m in server.messages] == [SUBJECT]

    wrong = SmtpBackend("127.0.0.1", server.port, "starttls", "sotto", "guess", timeout=5, ssl_context=client_context)
    with pytest.raises(MailDeliveryError, match="SMTPAuthenticationError 535"):
        wrong.send(consent_message())


def test_implicit_tls_delivers(
    start_smtp_server: Callable[..., LoopbackSmtpServer],
    loopback_certificate: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = loopback_certificate
    server = start_smtp_server(ssl_context=server_context)

    SmtpBackend("127.0.0.1", server.port, "tls", "", "", timeout=5, ssl_context=client_context).send(consent_message())

    assert [m["Subject"] for m in server.messages] == [SUBJECT]


def test_tls_refuses_a_certificate_it_does_not_trust(
    start_smtp_server: Callable[..., LoopbackSmtpServer],
    loopback_certificate: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, _ = loopback_certificate
    server = start_smtp_server(ssl_context=server_context)

    with pytest.raises(MailDeliveryError, match="SSLCertVerificationError"):
        SmtpBackend("127.0.0.1", server.port, "tls", "", "", timeout=5).send(consent_message())
    assert server.messages == []


# --- outbox backend ----------------------------------------------------------------------


def test_outbox_backend_writes_private_eml_and_logs_only_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "outbox"
    caplog.set_level(logging.DEBUG)

    OutboxBackend(folder).send(consent_message(with_pdf=True))

    [written] = list(folder.iterdir())
    assert written.suffix == ".eml"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    parsed = BytesParser(policy=policy.default).parsebytes(written.read_bytes())
    assert parsed["To"] == RECIPIENT
    assert parsed["Subject"] == SUBJECT
    assert next(iter(parsed.iter_attachments())).get_content() == PDF

    logged = [record.getMessage() for record in caplog.records]
    assert logged == [f"mail written to {written}"]
    for text in logged:
        assert RECIPIENT not in text and "ada" not in text.lower()
        assert SUBJECT not in text and "Hopper" not in text


def test_outbox_backend_names_files_uniquely_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    backend = OutboxBackend(tmp_path / "outbox")

    for _ in range(5):
        backend.send(consent_message())

    names = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(names) == 5
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)


def test_outbox_backend_reports_an_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")

    with pytest.raises(MailDeliveryError, match="Error"):
        OutboxBackend(blocker / "outbox").send(consent_message())


# --- the outbox table --------------------------------------------------------------------


def test_queued_message_is_delivered_then_deleted(
    session_factory: sessionmaker[Session],
    keystore: FileKeyStore,
    smtp_server: LoopbackSmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with session_scope(session_factory) as session:
        queue_message(session, keystore=keystore, message=consent_message(with_pdf=True))

    report = deliver_due(session_factory, keystore=keystore, backend=plain_smtp(smtp_server.port))

    assert report == DeliveryReport(sent=1)
    [received] = smtp_server.messages
    assert received["Subject"] == SUBJECT
    assert next(iter(received.iter_attachments())).get_content() == PDF
    assert outbox_rows(session_factory) == []
    logged = application_log_text(caplog)
    assert RECIPIENT not in logged and SUBJECT not in logged


def test_queued_message_is_stored_encrypted(
    session_factory: sessionmaker[Session], keystore: FileKeyStore, tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        outbox_id = queue_message(session, keystore=keystore, message=consent_message())

    [row] = outbox_rows(session_factory)
    assert row.id == outbox_id
    assert row.status == "pending" and row.attempts == 0
    for secret in (RECIPIENT, SUBJECT, BODY.strip(), "Hopper"):
        assert secret.encode() not in row.message_sealed
    # Nor anywhere in the database files, journal included.
    for db_file in tmp_path.glob("t.db*"):
        assert RECIPIENT.encode() not in db_file.read_bytes()


def test_uncommitted_queue_sends_nothing(
    session_factory: sessionmaker[Session], keystore: FileKeyStore, smtp_server: LoopbackSmtpServer
) -> None:
    with pytest.raises(RuntimeError), session_scope(session_factory) as session:
        queue_message(session, keystore=keystore, message=consent_message())
        raise RuntimeError("the action failed after queueing its mail")

    assert deliver_due(session_factory, keystore=keystore, backend=plain_smtp(smtp_server.port)) == DeliveryReport()
    assert smtp_server.messages == []


def test_failed_delivery_backs_off_then_delivers_exactly_once(
    session_factory: sessionmaker[Session], keystore: FileKeyStore, smtp_server: LoopbackSmtpServer
) -> None:
    backend = plain_smtp(smtp_server.port)
    smtp_server.stop()
    with session_scope(session_factory) as session:
        queue_message(session, keystore=keystore, message=consent_message())

    for attempt, delay in enumerate([dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)], 1):
        moment = clock.now()
        assert deliver_due(session_factory, keystore=keystore, backend=backend, now=moment) == DeliveryReport(retried=1)
        [row] = outbox_rows(session_factory)
        assert row.attempts == attempt
        assert row.last_error == "ConnectionRefusedError"
        assert row.next_attempt_at == moment + delay
        # Not due again before its time.
        assert deliver_due(session_factory, keystore=keystore, backend=backend) == DeliveryReport()
        clock.advance(delay + dt.timedelta(seconds=1))

    smtp_server.start()
    assert deliver_due(session_factory, keystore=keystore, backend=backend) == DeliveryReport(sent=1)
    clock.advance(dt.timedelta(hours=2))
    assert deliver_due(session_factory, keystore=keystore, backend=backend) == DeliveryReport()

    assert [m["Subject"] for m in smtp_server.messages] == [SUBJECT]
    assert outbox_rows(session_factory) == []


def test_retry_delay_doubles_up_to_an_hour() -> None:
    minutes = [retry_delay(n) / dt.timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_eighth_failure_leaves_message_failed_for_an_admin(
    session_factory: sessionmaker[Session], keystore: FileKeyStore, smtp_server: LoopbackSmtpServer
) -> None:
    backend = plain_smtp(smtp_server.port)
    smtp_server.stop()
    with session_scope(session_factory) as session:
        queue_message(session, keystore=keystore, message=consent_message())

    reports = []
    for _ in range(MAX_ATTEMPTS + 1):
        reports.append(deliver_due(session_factory, keystore=keystore, backend=backend))
        clock.advance(dt.timedelta(hours=1, seconds=1))

    assert MAX_ATTEMPTS == 8
    assert reports == [DeliveryReport(retried=1)] * 7 + [DeliveryReport(failed=1), DeliveryReport()]
    [row] = outbox_rows(session_factory)
    assert (row.status, row.attempts, row.last_error) == ("failed", 8, "ConnectionRefusedError")

    smtp_server.start()
    with session_scope(session_factory) as session:
        assert retry_failed(session) == 1
    assert deliver_due(session_factory, keystore=keystore, backend=backend) == DeliveryReport(sent=1)
    assert len(smtp_server.messages) == 1


def test_purge_failed_deletes_only_failed_messages(
    session_factory: sessionmaker[Session], keystore: FileKeyStore
) -> None:
    with session_scope(session_factory) as session:
        failed_id = queue_message(session, keystore=keystore, message=consent_message())
        pending_id = queue_message(session, keystore=keystore, message=consent_message())
    with session_scope(session_factory) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == failed_id).values(status="failed"))

    with session_scope(session_factory) as session:
        assert purge_failed(session, created_before=clock.now() - dt.timedelta(days=7)) == 0
        assert purge_failed(session) == 1

    assert [row.id for row in outbox_rows(session_factory)] == [pending_id]


def test_message_moved_to_another_row_does_not_decrypt_and_fails(
    session_factory: sessionmaker[Session], keystore: FileKeyStore, smtp_server: LoopbackSmtpServer
) -> None:
    with session_scope(session_factory) as session:
        first = queue_message(session, keystore=keystore, message=consent_message())
        second = queue_message(session, keystore=keystore, message=consent_message())
    with session_scope(session_factory) as session:
        a, b = session.get(OutboxMessage, first), session.get(OutboxMessage, second)
        assert a is not None and b is not None
        a.message_sealed, b.message_sealed = b.message_sealed, a.message_sealed

    report = deliver_due(session_factory, keystore=keystore, backend=plain_smtp(smtp_server.port))

    assert report == DeliveryReport(failed=2)
    assert {(row.status, row.last_error) for row in outbox_rows(session_factory)} == {("failed", "DecryptionError")}
    assert smtp_server.messages == []


def test_two_workers_deliver_each_message_once(
    session_factory: sessionmaker[Session], keystore: FileKeyStore, smtp_server: LoopbackSmtpServer
) -> None:
    with session_scope(session_factory) as session:
        for _ in range(20):
            queue_message(session, keystore=keystore, message=consent_message())
    backend = plain_smtp(smtp_server.port)
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def worker() -> None:
        start.wait()
        reports.append(deliver_due(session_factory, keystore=keystore, backend=backend))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(report.sent for report in reports) == 20
    message_ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(message_ids) == len(set(message_ids)) == 20
    assert outbox_rows(session_factory) == []


# --- immediate delivery ------------------------------------------------------------------


def test_send_now_retries_after_a_temporary_rejection(smtp_server: LoopbackSmtpServer) -> None:
    smtp_server.reject_next(1)
    waits: list[float] = []

    send_now(plain_smtp(smtp_server.port), consent_message(with_pdf=True), sleep=waits.append)

    assert waits == [2.0]
    [received] = smtp_server.messages
    assert next(iter(received.iter_attachments())).get_content() == PDF


def test_send_now_gives_up_after_the_last_attempt() -> None:
    waits: list[float] = []

    with pytest.raises(MailDeliveryError, match="ConnectionRefusedError"):
        send_now(plain_smtp(free_loopback_port()), consent_message(), attempts=3, sleep=waits.append)

    assert waits == [2.0, 4.0]


# --- choosing a backend ------------------------------------------------------------------


def settings_for(mail: str, tmp_path: Path, smtp_port: int = 2525) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        mail=mail,  # type: ignore[arg-type]
        mail_from=SENDER,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        data_dir=tmp_path / "data",
        key_file=tmp_path / "keys" / "sotto.key",
        outbox_dir=tmp_path / "outbox",
    )


@pytest.mark.parametrize(("name", "expected"), [("outbox", OutboxBackend), ("smtp", SmtpBackend)])
def test_backend_from_settings_picks_the_configured_backend(name: str, expected: type, tmp_path: Path) -> None:
    backend = backend_from_settings(settings_for(name, tmp_path))

    assert type(backend) is expected


@pytest.mark.parametrize("name", sorted(MAIL_BACKENDS))
def test_every_registered_backend_delivers_a_message(
    name: str, tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    backend = MAIL_BACKENDS[name](settings_for(name, tmp_path, smtp_port=smtp_server.port))
    assert isinstance(backend, MailBackend)

    backend.send(consent_message())

    delivered = smtp_server.messages + [
        BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in (tmp_path / "outbox").glob("*.eml")
    ]
    assert [m["Subject"] for m in delivered] == [SUBJECT]
