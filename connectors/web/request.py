"""http.request."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError


def run_request(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("http.request is not implemented yet")
