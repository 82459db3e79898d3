"""slack.post: an incoming webhook (answers the text `ok`) or chat.postMessage with a bot token
(answers HTTP 200 with `{"ok": false, "error": ...}` on failure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from connectors import httpmap
from connectors.base import ActionContext, PermanentError, RetryableError

# chat.postMessage errors that a later attempt may not meet. Not `fatal_error`: Slack calls it
# catastrophic and says part of the call may have succeeded, so a repeat could post twice.
RETRYABLE_ERRORS = {"ratelimited", "rate_limited", "internal_error", "service_unavailable", "request_timeout"}


def _details(data: dict[str, Any]) -> str:
    """Slack's explanations beside the code: `response_metadata.messages` (invalid_blocks says which
    block) or `errors`."""
    metadata = data.get("response_metadata")
    listed = metadata.get("messages") if isinstance(metadata, dict) else None
    listed = listed if isinstance(listed, list) else data.get("errors")
    if not isinstance(listed, list):
        return ""
    return "; ".join(str(m) for m in listed if m)[:300]


def _message(response: requests.Response) -> str | None:
    data = httpmap.json_or_none(response)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return httpmap.body_text(response, 200)  # webhooks answer a bare code: invalid_payload, no_text...


def call(ctx: ActionContext, url: str, payload: dict[str, Any], token: str | None = None) -> Any:
    """The Slack request helper: JSON POST, errors mapped, `ok: false` bodies raised with Slack's error."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = float(ctx.credentials.get("timeout") or 10)
    try:
        response = ctx.http.post(url, json=payload, headers=headers, timeout=timeout,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        httpmap.transport_error("Slack", exc)
    secrets = [ctx.credentials.get("bot_token"), ctx.credentials.get("webhook_url")]
    httpmap.raise_for("Slack", response, _message, secrets)
    data = httpmap.json_or_none(response)
    if isinstance(data, dict) and data.get("ok") is False:
        error = str(data.get("error") or "unknown_error")
        details = _details(data)
        message = httpmap.scrub(f"Slack answered error: {error}" + (f" ({details})" if details else ""),
                                secrets)
        if error in RETRYABLE_ERRORS:
            raise RetryableError(message, status=response.status_code,
                                 retry_after=httpmap.retry_after(response))
        raise PermanentError(message, status=response.status_code)
    return data if data is not None else response.text


def _payload(params: dict[str, Any]) -> dict[str, Any]:
    keys = ("text", "blocks", "thread_ts", "unfurl_links")
    return {k: params[k] for k in keys if params.get(k) is not None}


def _via_bot(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    channel = params.get("channel") or ctx.credentials.get("default_channel")
    if not channel:
        raise PermanentError("slack.post with a bot token needs a channel")
    base = str(ctx.credentials.get("base_url") or "https://slack.com/api").rstrip("/")
    data = call(ctx, f"{base}/chat.postMessage", {"channel": channel, **_payload(params)},
                token=str(ctx.credentials["bot_token"]))
    if not isinstance(data, dict) or data.get("ok") is not True:  # not a Web API answer: never post twice
        raise PermanentError("Slack accepted the request but did not answer ok; the message may have been "
                             "posted")
    return {"ok": True, "channel": str(data.get("channel") or channel), "ts": str(data.get("ts") or "")}


def _via_webhook(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    call(ctx, str(ctx.credentials["webhook_url"]), _payload(params))
    return {"ok": True}


MODES: dict[str, Callable[[ActionContext, dict[str, Any]], dict[str, Any]]] = {
    "bot_token": _via_bot,
    "webhook_url": _via_webhook,
}


def run_post(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    for credential_field, post in MODES.items():
        if ctx.credentials.get(credential_field):
            return post(ctx, params)
    raise PermanentError("the Slack credential needs a webhook_url or a bot_token")
