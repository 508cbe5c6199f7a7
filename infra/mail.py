"""A real SMTP server for tests and chaos runs (aiosmtpd), on 127.0.0.1: it keeps every message it
accepts, and can refuse mail for a while the way a mail server in trouble does (a 451, "try again
later"), so that a sender's retries are exercised against the real protocol."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from infra.stack.config import HOST, free_ports


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "")

    def header(self, name: str) -> str:
        return str(self.message[name] or "")


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.refusing():
            self.sink.refused += 1
            return "451 4.3.0 Mail server busy, try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.sink.lock:
            self.sink.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


class MailSink:
    """Use as `with MailSink() as sink:`; point EMAIL_HOST/EMAIL_PORT at `sink.host`/`sink.port`."""

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.host = HOST
        self.port = port or free_ports(1)[0]
        self.received: list[ReceivedMail] = []
        self.refused = 0
        self.lock = threading.Lock()
        self._refusing_until = 0.0
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()

    def refuse_for(self, seconds: float) -> None:
        """Answer every message with 451 for `seconds` from now."""
        self._refusing_until = time.monotonic() + seconds

    def refusing(self) -> bool:
        return time.monotonic() < self._refusing_until

    def messages(self) -> list[ReceivedMail]:
        with self.lock:
            return list(self.received)

    def environment(self) -> dict[str, str]:
        """The settings that send a service's mail here."""
        return {"EMAIL_HOST": self.host, "EMAIL_PORT": str(self.port)}
