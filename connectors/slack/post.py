"""slack.post."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError


def run_post(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("slack.post is not implemented yet")
