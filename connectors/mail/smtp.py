"""The SMTP helper of the mail connector: connect (STARTTLS, SSL or plain), authenticate, send, and
map SMTP failures to retryable (4xx, network) or permanent (5xx, refused) errors."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any

from connectors.errors import PermanentError, RetryableError

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:  # a self-signed relay inside the operator's own network
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _plain(host: str, port: int, timeout: float, verify: bool) -> smtplib.SMTP:
    return smtplib.SMTP(host, port, timeout=timeout)


def _ssl(host: str, port: int, timeout: float, verify: bool) -> smtplib.SMTP:
    return smtplib.SMTP_SSL(host, port, timeout=timeout, context=_context(verify))


def _starttls(host: str, port: int, timeout: float, verify: bool) -> smtplib.SMTP:
    client = smtplib.SMTP(host, port, timeout=timeout)
    client.ehlo()
    client.starttls(context=_context(verify))
    client.ehlo()
    return client


CONNECTORS: dict[str, Callable[[str, int, float, bool], smtplib.SMTP]] = {
    "starttls": _starttls, "ssl": _ssl, "none": _plain,
}


def _reply(code: int, text: bytes | str) -> str:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {detail}".strip()


def deliver(credentials: Mapping[str, Any], msg: EmailMessage, to: list[str]) -> dict[str, str]:
    """Send `msg` to the envelope recipients `to` through the credential's SMTP server; returns the
    recipients the server refused while accepting others ({address: "code text"})."""
    security = credentials.get("security") or "starttls"
    host = credentials["host"]
    port = int(credentials.get("port") or DEFAULT_PORTS[security])
    timeout = float(credentials.get("timeout") or 30)
    sender = msg["Return-Path"] or msg["From"]
    try:
        client = CONNECTORS[security](host, port, timeout, credentials.get("verify_tls", True) is not False)
        try:
            if credentials.get("username"):
                client.login(credentials["username"], credentials.get("password") or "")
            refused = client.send_message(msg, from_addr=None if sender is None else str(sender), to_addrs=to)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPAuthenticationError as exc:  # 454 is a temporary failure, 535 a wrong password
        error = RetryableError if 400 <= exc.smtp_code < 500 else PermanentError
        raise error(f"SMTP server refused the login: {_reply(exc.smtp_code, exc.smtp_error)}",
                    status=exc.smtp_code) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{rcpt}: {_reply(c, t)}" for rcpt, (c, t) in exc.recipients.items())
        error = RetryableError if all(400 <= c < 500 for c in codes) else PermanentError
        raise error(f"SMTP server refused the recipient ({detail})", status=codes[0]) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentError(f"SMTP server lacks a needed extension ({security}): {exc}") from None
    except smtplib.SMTPResponseException as exc:
        error = RetryableError if 400 <= exc.smtp_code < 500 else PermanentError
        raise error(f"SMTP server answered {_reply(exc.smtp_code, exc.smtp_error)}",
                    status=exc.smtp_code) from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(f"SMTP server certificate was not accepted ({exc.verify_message})") from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPServerDisconnected):  # dropped mid-session: a retry may get through
            raise RetryableError(f"SMTP server {host}:{port} closed the connection") from None
        # smtplib's own refusals, e.g. "No suitable authentication method found": settings, not the network
        raise PermanentError(f"SMTP session with {host}:{port} failed: {exc}") from None
    except (TimeoutError, OSError) as exc:  # after SMTPException, which is an OSError too
        kind = type(exc).__name__
        raise RetryableError(f"SMTP server {host}:{port} could not be reached ({kind})") from None
    return {rcpt: _reply(code, text) for rcpt, (code, text) in refused.items()}
