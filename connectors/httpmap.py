"""Shared error mapping for HTTP connectors: status codes to RetryableError / PermanentError.

Each connector keeps its own request helper (auth, base URL, how to read the provider's error
message) and calls these. Messages never include URLs, headers or bodies we sent: a Slack webhook
URL is itself a secret, so a transport failure names only the provider and the exception type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import requests

from connectors.errors import ConnectorError, PermanentError, RetryableError

MessageReader = Callable[[requests.Response], str | None]
# 4xx answers that say "not now" rather than "never": Request Timeout, Too Early, Too Many Requests
RETRYABLE_4XX = frozenset({408, 425, 429})


def scrub(text: str, secrets: Iterable[Any]) -> str:
    """`text` with every secret value replaced, in case a provider echoes one back, whole or cut short
    (QuickBooks answers "Token expired: AB1157..." with the token's first characters)."""
    for secret in secrets:
        if not isinstance(secret, str) or len(secret) < 4:
            continue
        text = text.replace(secret, "***")
        if len(secret) >= 12:  # a truncated echo: the first 8 characters and whatever follows them
            text = re.sub(re.escape(secret[:8]) + r"[^\s,;\"'<>]*", "***", text)
    return text


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def _html_text(text: str) -> str:
    """What an HTML answer says: its title if it has one, else its text without tags (and without
    scripts and styles). A body with no markup at all is kept as is: Slack's incoming webhooks answer
    `invalid_payload` or `channel_is_archived` labelled text/html."""
    title = _TITLE.search(text)
    if title:
        return title.group(1)
    return _TAG.sub(" ", _HIDDEN.sub(" ", text))


def body_text(response: requests.Response, limit: int = 300) -> str | None:
    """The body as a short plain text for an error message: an HTML page (a proxy's 502, a login page)
    gives its title, HTML without a title and XML their text without tags, so no markup reaches a
    message."""
    text = response.text.strip()
    if not text:
        return None
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type or text[:15].lower().startswith(("<!doctype html", "<html")):
        text = _html_text(text)
    elif "xml" in content_type or text.startswith("<"):
        text = _TAG.sub(" ", text)
    return " ".join(text.split())[:limit] or None


_CHALLENGE = re.compile(r'(error_description|error)="([^"]*)"')


def _challenge(response: requests.Response) -> str | None:
    """An OAuth bearer challenge (RFC 6750) of a 401 with no body: `WWW-Authenticate: Bearer
    error="invalid_token", error_description="The access token expired"`."""
    found = dict(_CHALLENGE.findall(response.headers.get("WWW-Authenticate", "")))
    return found.get("error_description") or found.get("error") or None


def error_for(provider: str, response: requests.Response, read_message: MessageReader,
              secrets: Iterable[Any] = ()) -> ConnectorError:
    """The error for a non-2xx answer: 408, 425, 429 and 5xx retryable (with Retry-After), other 4xx
    permanent, and so is a redirect (provider calls do not follow them: the base URL is wrong)."""
    try:
        detail = read_message(response)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        detail = None
    status = response.status_code
    detail = detail or _challenge(response)
    suffix = f": {detail}" if detail else (f" {response.reason}" if response.reason else "")
    if 300 <= status < 400 and response.headers.get("Location"):
        suffix += " (a redirect, not followed: check the base URL)"
    message = scrub(f"{provider} answered {status}{suffix}", secrets)
    if status in RETRYABLE_4XX or status >= 500:
        return RetryableError(message, status=status, retry_after=retry_after(response))
    return PermanentError(message, status=status)


def raise_for(provider: str, response: requests.Response, read_message: MessageReader,
              secrets: Iterable[Any] = ()) -> None:
    """Raise `error_for(...)` unless the answer is 2xx; `secrets` are scrubbed from the message."""
    if not 200 <= response.status_code < 300:
        raise error_for(provider, response, read_message, secrets)


def transport_error(provider: str, exc: requests.RequestException) -> NoReturn:
    """Timeouts and connection failures are retryable; the text names no URL (it may be secret)."""
    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
    raise RetryableError(f"{provider} {kind} ({type(exc).__name__})") from None
