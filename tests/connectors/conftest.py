"""Connector test fixtures: a real SMTP server (aiosmtpd), the support module under a unique name, and a
guard that fails any test trying to reach beyond the loopback interface."""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
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


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _loopback(host: object) -> bool:
    if host in ("localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _literal(host: object) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every connector test runs against local servers only: a connection to anything but loopback, or a
    DNS lookup of a name, is refused and fails the test (a connector may have swallowed the error)."""
    attempts: list[str] = []

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return ConnectionRefusedError(f"tests may not reach {what}")

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise refuse(f"{address[0]}:{address[1]}")
        _connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise refuse(f"{address[0]}:{address[1]}")
        return _connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host) and not _literal(host):
            attempts.append(f"DNS {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {host}")
        return _getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"a connector test tried to leave the machine: {attempts}"


class Inbox:
    """What the SMTP server received: envelopes and parsed messages."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[tuple[str, str]] = []
        self.reject: tuple[int, str] | None = None  # answer RCPT with this instead of 250
        self.reject_only: set[str] = set()  # ...but only for these addresses, when given
        self.reject_mail: tuple[int, str] | None = None  # answer MAIL FROM with this
        self.reject_data: tuple[int, str] | None = None  # answer the end of DATA with this
        self.auth_reply: str | None = None  # answer AUTH with this (e.g. "454 4.7.0 ...")

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self.reject_mail:
            return f"{self.reject_mail[0]} {self.reject_mail[1]}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.reject and (not self.reject_only or address in self.reject_only):
            return f"{self.reject[0]} {self.reject[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject_data:
            return f"{self.reject_data[0]} {self.reject_data[1]}"
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
        if inbox.auth_reply:
            return AuthResult(success=False, handled=False, message=inbox.auth_reply)
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

