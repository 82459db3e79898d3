"""http.request: one request to a public URL, redirects re-checked; answers {status, headers, json|body}."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from connectors import egress, httpmap
from connectors.base import ActionContext

MAX_BODY = 1_000_000  # characters of a non-JSON body kept in the step output


def _message(response: requests.Response) -> str | None:
    data = httpmap.json_or_none(response)
    if isinstance(data, dict):
        for key in ("message", "error_description", "error", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])[:300]
    return httpmap.body_text(response)


SENSITIVE = re.compile(r"auth|token|key|secret|cookie|signature|password", re.IGNORECASE)


def secrets_in(url: str, headers: dict[str, Any]) -> list[str]:
    """Values an endpoint might echo back that must not reach an error: credential-like headers and
    query parameters, and a password in the URL."""
    parts = urlsplit(url)
    found = [str(v) for k, v in headers.items() if SENSITIVE.search(k)]
    found += [v for k, v in parse_qsl(parts.query) if SENSITIVE.search(k)]
    if parts.password:
        found.append(parts.password)
    # "Bearer abc..." is echoed as the bare token too
    return found + [v.split(" ", 1)[1] for v in found if " " in v]


def request(ctx: ActionContext, method: str, url: str, *, timeout: float, provider: str = "HTTP endpoint",
            **kwargs: Any) -> requests.Response:
    """The web connector's request helper: egress-checked, redirects re-checked, errors mapped."""
    try:
        allowlist = egress.allowlist_from(ctx.settings)
        response = egress.checked_request(ctx.http, method, url, allowlist=allowlist, timeout=timeout,
                                          **kwargs)
    except requests.RequestException as exc:
        httpmap.transport_error(provider, exc)
    httpmap.raise_for(provider, response, _message, secrets_in(url, kwargs.get("headers") or {}))
    return response


def run_request(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": dict(params.get("headers") or {})}
    if params.get("query"):
        kwargs["params"] = params["query"]
    if "json" in params:
        kwargs["json"] = params["json"]
    elif params.get("body") is not None:
        kwargs["data"] = str(params["body"]).encode()
    response = request(ctx, params.get("method", "GET").upper(), params["url"],
                       timeout=float(params.get("timeout") or 30), **kwargs)
    out: dict[str, Any] = {"status": response.status_code, "headers": dict(response.headers)}
    content_type = response.headers.get("Content-Type", "")
    data = httpmap.json_or_none(response) if "json" in content_type else None
    if data is not None:
        out["json"] = data
    else:
        out["body"] = response.text[:MAX_BODY]
    return out
