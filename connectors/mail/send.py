"""mail.send: build the message and hand it to the SMTP server."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError


def run_send(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("mail.send is not implemented yet")
