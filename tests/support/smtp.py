"""A real SMTP server on loopback (aiosmtpd) for tests that send mail.

Loaded as a pytest plugin by the top-level conftest.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CollectingHandler:
    """Keeps every accepted message; can turn away the next few with a temporary failure."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.rejections_left = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.rejections_left > 0:
            self.rejections_left -= 1
            return "451 try again later"
        self.envelopes.append(envelope)
        # Line endings as a mail client shows them; ``envelopes`` keep the bytes as received.
        received = envelope.content.replace(b"\r\n", b"\n")
        message = BytesParser(policy=policy.default).parsebytes(received)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class LoopbackSmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started again on the same port.

    ``handler`` replaces the collecting handler (then ``messages`` stays empty);
    ``smtp_parameters`` go to aiosmtpd's Controller (``ssl_context``, ``tls_context``,
    ``require_starttls``, ``authenticator``, ...).
    """

    host = "127.0.0.1"

    def __init__(self, handler: Any = None, **smtp_parameters: Any) -> None:
        self.port = free_loopback_port()
        self.handler = CollectingHandler()
        self._smtp_handler = handler or self.handler
        self._parameters = smtp_parameters
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    @property
    def envelopes(self) -> list[Any]:
        return self.handler.envelopes

    def reject_next(self, count: int = 1) -> None:
        """Answer the next ``count`` messages with '451 try again later'."""
        self.handler.rejections_left = count

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self._smtp_handler, hostname=self.host, port=self.port, **self._parameters)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., LoopbackSmtpServer]]:
    """Starts loopback SMTP servers with the given aiosmtpd parameters; stops them afterwards."""
    servers: list[LoopbackSmtpServer] = []

    def start(handler: Any = None, **smtp_parameters: Any) -> LoopbackSmtpServer:
        server = LoopbackSmtpServer(handler, **smtp_parameters)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(start_smtp_server: Callable[..., LoopbackSmtpServer]) -> LoopbackSmtpServer:
    """A plain SMTP server on loopback: ``.port``, ``.messages`` (parsed), ``.stop()``, ``.start()``."""
    return start_smtp_server()
