"""mail.send against a scripted SMTP server that answers what aiosmtpd will not: a busy or blocking
greeting, no STARTTLS, only an AUTH mechanism smtplib lacks, a connection dropped before the greeting."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from connector_support import make_ctx

from connectors.base import PermanentError, RetryableError
from connectors.mail import CONNECTOR

SEND = CONNECTOR.actions["mail.send"]
MAIL = {"to": "ada@example.com", "subject": "Hi", "body": "x"}
EHLO = "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME"


@contextmanager
def scripted_smtp(greeting: str | None, ehlo: str = EHLO) -> Iterator[int]:
    """One SMTP server on 127.0.0.1: `greeting` (None: close at once), `ehlo` for EHLO, 221 for QUIT,
    250 for anything else."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                if greeting is None:
                    continue
                conn.sendall(f"{greeting}\r\n".encode())
                for line in conn.makefile("rb"):
                    verb = line.decode(errors="replace").split(" ", 1)[0].strip().upper()
                    reply = {"EHLO": ehlo, "QUIT": "221 Bye"}.get(verb, "250 OK")
                    conn.sendall(f"{reply}\r\n".encode())
                    if verb == "QUIT" or greeting.startswith(("4", "5")):
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()


def creds(port: int, **more: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "none", "from": "hello@acme.test", "timeout": 5,
            **more}


@pytest.mark.parametrize(("greeting", "error"), [
    ("421 4.3.2 Service not available, closing transmission channel", RetryableError),
    ("554 5.7.1 Your address is on a block list", PermanentError),
])
def test_greeting_refusals(greeting: str, error: type[Exception]) -> None:
    with scripted_smtp(greeting) as port, pytest.raises(error) as info:
        SEND.run(make_ctx(creds(port)), MAIL)
    assert info.value.status == int(greeting[:3]) and greeting[4:] in str(info.value)


def test_a_connection_dropped_before_the_greeting_is_retryable() -> None:
    with scripted_smtp(None) as port, pytest.raises(RetryableError):
        SEND.run(make_ctx(creds(port)), MAIL)


def test_starttls_required_but_not_offered_is_permanent() -> None:
    with scripted_smtp("220 mx.example.test ESMTP") as port, pytest.raises(PermanentError, match="STARTTLS"):
        SEND.run(make_ctx(creds(port, security="starttls")), MAIL)


def test_no_authentication_mechanism_in_common_is_permanent() -> None:
    """A server offering only XOAUTH2 to smtplib (PLAIN, LOGIN, CRAM-MD5): settings, not the network."""
    ehlo = "250-mx.example.test\r\n250-AUTH XOAUTH2\r\n250 8BITMIME"
    expected = pytest.raises(PermanentError, match="No suitable authentication method")
    with scripted_smtp("220 mx.example.test ESMTP", ehlo) as port, expected as info:
        SEND.run(make_ctx(creds(port, username="mailer", password="s3cret-pass")), MAIL)
    assert "s3cret-pass" not in str(info.value)
