"""Signed tracking tokens and the events they become (pure functions; no Flask).

Tokens are itsdangerous URL-safe signatures keyed by the instance secret, one salt per purpose,
so an open token cannot be replayed as an unsubscribe. They do not expire: an unsubscribe link in
an old mail must keep working. The builder's tracking blueprint serves the URLs built here.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

KINDS = {"open": "o", "click": "c", "unsubscribe": "u"}
EVENT_TYPES = {"open": "email.opened", "click": "email.clicked", "unsubscribe": "contact.unsubscribed"}


class BadToken(ValueError):
    """A token that was tampered with, truncated or signed with another key."""


def _serializer(secret_key: str, kind: str) -> URLSafeSerializer:
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    return URLSafeSerializer(secret_key, salt=f"flowright.mail.{kind}")


def make_token(secret_key: str, kind: str, data: Mapping[str, Any]) -> str:
    """A signed, URL-safe token carrying `data` (a small JSON-able dict)."""
    return str(_serializer(secret_key, kind).dumps(dict(data)))


def read_token(secret_key: str, kind: str, token: str) -> dict[str, Any]:
    """The data of a token made by `make_token` for the same kind and key, else BadToken."""
    try:
        data = _serializer(secret_key, kind).loads(token)
    except BadData:
        raise BadToken(f"invalid {kind} token") from None
    if not isinstance(data, dict):
        raise BadToken(f"invalid {kind} token")
    return data


def tracking_url(public_url: str, secret_key: str, kind: str, data: Mapping[str, Any]) -> str:
    """The builder URL for a token: /t/o/<token>.gif, /t/c/<token>, /t/u/<token>."""
    suffix = ".gif" if kind == "open" else ""
    return f"{public_url.rstrip('/')}/t/{KINDS[kind]}/{make_token(secret_key, kind, data)}{suffix}"


def event_for(kind: str, data: Mapping[str, Any], *, at: datetime | None = None,
              extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The DESIGN §4 event for a followed link. Token data keys: c (contact id), e (email),
    m (Message-ID), r (run id), n (node), u (click target)."""
    subject: dict[str, Any]
    if data.get("c") is not None:
        subject = {"contact_id": data["c"]}
    else:
        subject = {"contact": {"email": data.get("e")}}
    payload: dict[str, Any] = {
        "email": data.get("e"),
        "message_id": data.get("m"),
        "run_id": data.get("r"),
        "node": data.get("n"),
    }
    if kind == "click":
        payload["url"] = data.get("u")
    payload = {k: v for k, v in payload.items() if v is not None}
    payload.update(extra or {})
    if kind == "unsubscribe":  # one unsubscribe per mail, however often the link is followed
        digest = hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()[:32]
        event_id = f"unsubscribe:{digest}"
    else:  # every open and click is its own event
        event_id = f"{kind}:{uuid.uuid4().hex}"
    return {
        "id": event_id,
        "type": EVENT_TYPES[kind],
        "subject": subject,
        "data": payload,
        "at": (at or datetime.now(UTC)).isoformat(),
    }
