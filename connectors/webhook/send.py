"""webhook.send: POST a JSON payload signed with HMAC-SHA256.

`X-Flowright-Timestamp` (Unix seconds) and `X-Flowright-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>." + raw body>` with the credential's signing secret: the timestamp is signed too (Stripe's
scheme, the one Flowright's own `/hooks/<token>` verifies), so a receiver that refuses old timestamps
cannot be fooled by a captured body sent again with a fresh one. `X-Flowright-Delivery` is the step's
idempotency key, the same on every retry, to deduplicate on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests

from connectors import egress, httpmap
from connectors.base import ActionContext, PermanentError


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Flowright-Signature value for `body` sent at `timestamp` (Unix seconds, as sent)."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _message(response: requests.Response) -> str | None:
    data = httpmap.json_or_none(response)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):  # {"error": {"code", "message"}}
        data = data["error"]  # e.g. another Flowright's hook: "the signature does not match..."
        return str(data.get("message") or data.get("code") or "")[:300] or None
    if isinstance(data, dict) and isinstance(data.get("error") or data.get("message"), str):
        return str(data.get("error") or data.get("message"))[:300]
    return httpmap.body_text(response)


def post(ctx: ActionContext, url: str, body: bytes, headers: dict[str, str],
         timeout: float) -> requests.Response:
    """The webhook connector's request helper: egress-checked, redirects re-checked, errors mapped."""
    try:
        allowlist = egress.allowlist_from(ctx.settings)
        response = egress.checked_request(ctx.http, "POST", url, allowlist=allowlist, timeout=timeout,
                                          data=body, headers=headers)
    except requests.RequestException as exc:
        httpmap.transport_error("webhook receiver", exc)
    httpmap.raise_for("webhook receiver", response, _message, [ctx.credentials.get("signing_secret")])
    return response


def run_send(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    secret = ctx.credentials.get("signing_secret")
    if not secret:
        raise PermanentError("webhook.send needs a credential with a signing_secret")
    body = json.dumps(params["payload"], separators=(",", ":"), ensure_ascii=False, default=str).encode()
    timestamp = str(int(ctx.clock().timestamp()))
    headers = {
        **(params.get("headers") or {}),
        "Content-Type": "application/json",
        "User-Agent": "Flowright-Webhook/1",
        "X-Flowright-Signature": signature(str(secret), timestamp, body),
        "X-Flowright-Timestamp": timestamp,
        "X-Flowright-Delivery": ctx.idempotency_key,
    }
    timeout = float(params.get("timeout") or ctx.credentials.get("timeout") or 15)
    response = post(ctx, params["url"], body, headers, timeout)
    return {"status": response.status_code, "delivery_id": ctx.idempotency_key}
