"""Connector test fixtures: a real SMTP server (aiosmtpd) and the support module under a unique name."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest


def _load(name: str, filename: str) -> Any:
    """Helper modules of these tests under names of their own (the suite imports in importlib mode)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


support = _load("connector_support", "support.py")
_load("connector_books", "books_servers.py")


class Inbox:
    """What the SMTP server received: envelopes and parsed messages."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[tuple[str, str]] = []
        self.reject: tuple[int, str] | None = None  # answer RCPT with this instead of 250

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.reject:
            return f"{self.reject[0]} {self.reject[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1 with AUTH (user 'mailer', password 's3cret-pass') over plain SMTP."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    inbox = Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer"
              and auth_data.password == b"s3cret-pass")
        if ok:
            inbox.logins.append((auth_data.login.decode(), mechanism))
        return AuthResult(success=ok, handled=False)

    port = support.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()

