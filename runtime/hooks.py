"""Per-flow webhook URLs (`POST /hooks/<token>`, DESIGN §4 `webhook` trigger).

The URL token is looked up by its SHA-256; token and optional signing secret are kept Fernet-encrypted
so the editor can show the URL again (the secret only once, when made). A signed hook needs
`X-Flowright-Timestamp` (Unix seconds) and `X-Flowright-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>." + raw body>`: the timestamp must be within `WINDOW` seconds of now and a signature is
accepted once (kept in Redis for twice the window), so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime import operations
from runtime.errors import EventsInvalid
from runtime.models import Flow as FlowRow
from runtime.models import FlowHook, TriggerIndex
from runtime.services import Services

WINDOW = 300
SIGNATURE_HEADER = "X-Flowright-Signature"
TIMESTAMP_HEADER = "X-Flowright-Timestamp"
DELIVERY_HEADER = "X-Flowright-Delivery"
SEEN_PREFIX = "flowright:hook-seen:"
HEADERS = (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER)


class HookRefused(Exception):
    """A delivery refused; `status` and `code` for the HTTP answer, the message says why (no secret)."""

    def __init__(self, status: int, code: str, message: str,
                 details: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []  # (JSON pointer into the body, message)


@dataclass(frozen=True)
class Target:
    flow_key: str
    secret: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Flowright-Signature value for a delivery at `timestamp` (what senders compute)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _url(services: Services, token: str) -> str:
    return f"{str(services.settings.get('public_url') or '').rstrip('/')}/hooks/{token}"


def _flow_exists(session: Session, key: str) -> None:
    if session.execute(select(FlowRow.id).where(FlowRow.key == key)).first() is None:
        raise LookupError(f"there is no flow {key!r}")


def listening(session: Session, key: str) -> bool:
    """Whether the published version has a webhook trigger (else deliveries start nothing)."""
    query = select(TriggerIndex.id).where(TriggerIndex.flow_key == key, TriggerIndex.kind == "webhook")
    return session.execute(query).first() is not None


def create(services: Services, key: str, signed: bool) -> dict[str, Any]:
    """Make (or replace) the flow's webhook URL; the answer holds the signing secret, shown this once."""
    token = secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(32) if signed else None
    with Session(services.engine) as session:
        _flow_exists(session, key)
        row = session.execute(select(FlowHook).where(FlowHook.flow_key == key)).scalars().first()
        row = row or FlowHook(flow_key=key, token_hash="", token_ciphertext="")
        row.token_hash, row.token_ciphertext = _hash(token), services.encrypt({"token": token})
        row.secret_ciphertext = services.encrypt({"secret": secret}) if secret else None
        row.created_at = services.now()
        session.add(row)
        session.commit()
        live = listening(session, key)
    out: dict[str, Any] = {"flow": key, "url": _url(services, token), "signed": signed, "listening": live}
    if secret:
        out["secret"] = secret
    return out


def describe(services: Services, key: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        _flow_exists(session, key)
        row = session.execute(select(FlowHook).where(FlowHook.flow_key == key)).scalars().first()
        if row is None:
            raise LookupError(f"flow {key!r} has no webhook URL yet")
        token = services.decrypt(row.token_ciphertext)["token"]
        return {"flow": key, "url": _url(services, token), "signed": row.secret_ciphertext is not None,
                "listening": listening(session, key)}


def delete(services: Services, key: str) -> None:
    with Session(services.engine) as session:
        row = session.execute(select(FlowHook).where(FlowHook.flow_key == key)).scalars().first()
        if row is None:
            raise LookupError(f"flow {key!r} has no webhook URL")
        session.delete(row)
        session.commit()


def find(services: Services, token: str) -> Target:
    if not token or len(token) > 200:
        raise HookRefused(404, "not_found", "there is no webhook at this address")
    with Session(services.engine) as session:
        row = session.execute(select(FlowHook).where(FlowHook.token_hash == _hash(token))).scalars().first()
        if row is None:
            raise HookRefused(404, "not_found", "there is no webhook at this address")
        secret = services.decrypt(row.secret_ciphertext)["secret"] if row.secret_ciphertext else None
        return Target(row.flow_key, secret)


def verify(services: Services, secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check the signature and the timestamp window, then refuse a signature seen before."""
    stamp, given = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    if not stamp or not given:
        raise HookRefused(401, "signature_required",
                          f"this webhook needs the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers")
    try:
        moment = int(stamp)
    except ValueError:
        raise HookRefused(400, "bad_timestamp", f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    if not hmac.compare_digest(sign(secret, stamp, body), given):
        raise HookRefused(401, "bad_signature", "the signature does not match the body and timestamp")
    if abs(services.now().timestamp() - moment) > WINDOW:
        raise HookRefused(401, "stale_timestamp", f"the timestamp is more than {WINDOW} seconds from now")
    if not services.redis.set(SEEN_PREFIX + given[-64:], 1, nx=True, ex=2 * WINDOW):
        raise HookRefused(409, "replayed", "this delivery was received already")


def _subject(data: Mapping[str, Any]) -> Any:
    """The run's subject: `subject` in the body (ingestion checks it), else a contact by the body's
    top-level email/phone."""
    if data.get("subject") is not None:
        return data["subject"]
    contact = {k: data[k] for k in ("email", "phone") if isinstance(data.get(k), str) and data[k]}
    return {"contact": contact} if contact else {}


def _body_pointer(pointer: str, data: Mapping[str, Any]) -> str:
    """A pointer into the event as one into the delivery's body: the event's data is the body, and a
    subject made of the top-level email/phone points at them."""
    if pointer.startswith("/data"):
        return pointer[len("/data"):]
    if data.get("subject") is None and pointer.startswith("/subject/contact/"):
        return pointer[len("/subject/contact"):]
    return pointer


def receive(services: Services, token: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Turn a delivery into a `webhook.<flow key>` event (the drain starts the run); returns its id."""
    target = find(services, token)
    if target.secret is not None:
        verify(services, target.secret, headers, body)
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise HookRefused(400, "bad_json", "the body must be JSON (and not nested too deeply)") from None
    if not isinstance(data, Mapping):
        data = {"body": data}
    delivery = headers.get(DELIVERY_HEADER, "")[:80]
    event: dict[str, Any] = {
        "type": f"webhook.{target.flow_key}", "data": dict(data), "subject": _subject(data)
    }
    if delivery:
        event["id"] = f"hook:{target.flow_key}:{delivery}"[:120]
    try:
        [accepted] = operations.post_events(services, [event])
    except EventsInvalid as exc:  # a subject that cannot be resolved, data too deep...
        details = [(_body_pointer(p, data), m) for p, m in exc.pointers(indexed=False)]
        message = exc.problems[0][1].message
        raise HookRefused(422, "invalid_event", message, details) from None
    return {"id": accepted.id, "new": accepted.new}

