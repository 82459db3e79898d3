"""mail.send over STARTTLS and implicit TLS (SSL) to aiosmtpd with a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from connector_support import free_port, make_ctx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.base import PermanentError
from connectors.mail import CONNECTOR

SEND = CONNECTOR.actions["mail.send"]


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    folder: Path = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


class Handler:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.tls.append(session.ssl is not None)
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=data.login == b"mailer" and data.password == b"pw", handled=False)


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request: pytest.FixtureRequest,
               tls_context: ssl.SSLContext) -> Iterator[tuple[str, Handler, int]]:
    from aiosmtpd.controller import Controller

    handler, port = Handler(), free_port()
    if request.param == "starttls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=tls_context,
                                require_starttls=True, authenticator=_auth)
    else:
        # the whole connection is TLS; aiosmtpd only counts STARTTLS as TLS for its AUTH rule
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=tls_context,
                                authenticator=_auth, auth_require_tls=False)
    controller.start()
    try:
        yield request.param, handler, port
    finally:
        controller.stop()


def test_sends_over_tls(tls_server: tuple[str, Handler, int]) -> None:
    security, handler, port = tls_server
    creds = {"host": "127.0.0.1", "port": port, "security": security, "username": "mailer", "password": "pw",
             "from": "hello@acme.test", "verify_tls": False, "timeout": 5}
    SEND.run(make_ctx(creds), {"to": "ada@example.com", "subject": "Over TLS", "body": "secret"})
    assert len(handler.envelopes) == 1
    if security == "starttls":
        assert handler.tls == [True]


def test_an_untrusted_certificate_is_refused(tls_server: tuple[str, Handler, int]) -> None:
    security, handler, port = tls_server
    creds = {"host": "127.0.0.1", "port": port, "security": security, "from": "hello@acme.test", "timeout": 5}
    with pytest.raises(PermanentError, match="certificate"):
        SEND.run(make_ctx(creds), {"to": "ada@example.com", "subject": "x", "body": "x"})
    assert handler.envelopes == []
