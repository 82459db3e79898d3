"""flow.enroll: hand the subject to the record store's enroll primitive."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError


def run_enroll(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    subject = {k: v for k, v in ctx.run.subject.items() if k in ("contact_id", "deal_id") and v is not None}
    if not subject:
        raise PermanentError("flow.enroll needs a run about a contact or a deal")
    result = dict(ctx.records.enroll(params["flow"], subject) or {})
    return {
        "flow": params["flow"],
        "run_id": result.get("run_id", result.get("id")),
        "enrolled": bool(result.get("enrolled", True)),
    }
