"""Mail backends: where a composed message goes when it is sent.

A backend sends one message or raises ``MailDeliveryError``. Backends register in
``MAIL_BACKENDS`` under the name used by ``SOTTO_MAIL``; ``backend_from_settings`` picks one.
Nothing here logs or reports a recipient, a subject or any content: an error carries only
the kind of failure, because application logs must never hold addresses or names.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from sotto import clock
from sotto.config import Settings
from sotto.files import write_private_file

logger = logging.getLogger(__name__)

SmtpSecurity = Literal["starttls", "tls", "none"]


class MailDeliveryError(RuntimeError):
    """A message could not be delivered; ``reason`` names the kind of failure, never its content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver the message, or raise MailDeliveryError."""
        ...


class OutboxBackend:
    """Writes each message as an .eml file into a private folder (the embedded default).

    The folder is created with mode 0700 and each file with mode 0600. A file appears
    complete or not at all: it is written under a temporary name and then renamed.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        try:
            path = self._write(message.as_bytes())
        except OSError as exc:
            raise MailDeliveryError(type(exc).__name__) from None
        logger.info("mail written to %s", path)

    def _write(self, raw: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
        final = self.directory / f"{stamp}-{secrets.token_hex(6)}.eml"
        write_private_file(final, raw)
        return final


class SmtpBackend:
    """Sends through an SMTP relay over STARTTLS, implicit TLS, or plain SMTP (a relay on this host).

    TLS certificates are verified against the system's trust store unless an
    ``ssl_context`` is given (for a practice's private CA). A server that does not offer
    STARTTLS when it is required is a delivery failure, never a silent downgrade.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: SmtpSecurity,
        username: str,
        password: str,
        timeout: float,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._ssl_context = ssl_context

    def send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self._password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # ``from None``: smtplib errors can carry addresses (SMTPRecipientsRefused) and
            # server replies; a chained traceback would put them in the logs.
            raise MailDeliveryError(_reason(exc)) from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=self._context())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()


def _reason(exc: BaseException) -> str:
    """The exception's class, plus the SMTP reply code when there is one (codes hold no content)."""
    code = getattr(exc, "smtp_code", None)
    name = type(exc).__name__
    return f"{name} {code}" if isinstance(code, int) else name


def _outbox_from_settings(settings: Settings) -> MailBackend:
    return OutboxBackend(settings.outbox_dir)


def _smtp_from_settings(settings: Settings) -> MailBackend:
    return SmtpBackend(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        timeout=settings.smtp_timeout_seconds,
    )


MAIL_BACKENDS: dict[str, Callable[[Settings], MailBackend]] = {
    "outbox": _outbox_from_settings,
    "smtp": _smtp_from_settings,
}


def backend_from_settings(settings: Settings) -> MailBackend:
    """The backend named by ``settings.mail``; an unknown name is an error, not a fallback."""
    try:
        factory = MAIL_BACKENDS[settings.mail]
    except KeyError:
        raise ValueError(f"no mail backend named {settings.mail!r}") from None
    return factory(settings)
