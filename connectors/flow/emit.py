"""flow.emit: announce an event about the run's subject, so that other flows can start on it.

Monthly invoicing and contract-to-cash create invoices; the dunning flow starts on `invoice.issued`.
The flows stay independent: the one that made the invoice says so, whichever flows listen act on it.
The event id is derived from the step's idempotency key, so a retried step posts the event once.
"""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError

# Record events are the record store's own: a flow changes records with crm.* and the store announces it.
STORE_NAMESPACES = ("contact.", "deal.", "task.")


def run_emit(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    event_type = str(params["event"])
    if event_type.startswith(STORE_NAMESPACES):
        raise PermanentError(
            f"{event_type} is announced by the record store when the record changes; "
            "change the record with a crm.* action instead")
    subject = {k: v for k, v in ctx.run.subject.items() if k in ("contact_id", "deal_id") and v is not None}
    if not subject:
        raise PermanentError("flow.emit needs a run about a contact or a deal")
    event_id = f"flow:{ctx.idempotency_key}"
    ctx.records.announce(event_type, subject, dict(params.get("data") or {}), event_id)
    return {"event": event_type, "id": event_id}
