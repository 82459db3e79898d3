"""The run subject's records as actions read them (through `ctx.records`, never the runtime)."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext


def subject_contact(ctx: ActionContext) -> dict[str, Any] | None:
    """The run's contact: the subject's contact, else the contact of the subject's deal."""
    contact_id = ctx.run.subject.get("contact_id")
    if contact_id is None and ctx.run.subject.get("deal_id") is not None:
        deal = ctx.records.get("deal", ctx.run.subject["deal_id"]) or {}
        contact_id = deal.get("contact_id")
    if contact_id is None:
        return None
    return ctx.records.get("contact", contact_id)
