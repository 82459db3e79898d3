"""flow.enroll: start a run of another flow for the same subject; flow.emit: announce an event about it."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery
from connectors.flow.emit import run_emit
from connectors.flow.enroll import run_enroll
from connectors.schema import obj, string

ENROLL = Action(
    key="flow.enroll",
    title="Enroll in another flow",
    description="Start the given flow for the run's subject (the flow is checked when publishing).",
    params_schema=obj({"flow": string("Key of the flow", pattern="^[a-z0-9][a-z0-9_-]*$")}, ("flow",),
                      top=True),
    output_schema=obj({"flow": string(), "run_id": {"type": ["string", "integer", "null"]},
                       "enrolled": {"type": "boolean"}}, ("flow", "enrolled"), top=True),
    example_output={"flow": "onboarding", "run_id": "r-42", "enrolled": True},
    # The target's reenroll setting decides about duplicates, but "always" would start a second run:
    # do not repeat silently.
    delivery=Delivery.AT_MOST_ONCE,
    run=run_enroll,
    local=True,
    needs_credential=False,
)

EMIT = Action(
    key="flow.emit",
    title="Announce an event",
    description="Emit an event about the run's subject (e.g. invoice.issued with the invoice's number, "
                "amount and due date) so that the flows listening for it start; posted once per step.",
    params_schema=obj({"event": string("Event type (namespace.name); record events are the store's own",
                                       pattern="^[a-z][a-z0-9_]*(\\.[a-z0-9_][a-z0-9_\\-]*)+$"),
                       "data": {"type": "object", "description": "The event's data"}}, ("event",), top=True),
    output_schema=obj({"event": string(), "id": string()}, ("event", "id"), top=True),
    example_output={"event": "invoice.issued", "id": "flow:r-42:announce:1"},
    delivery=Delivery.IDEMPOTENT,  # the event id comes from the idempotency key: ingestion dedupes it
    run=run_emit,
    local=True,
    needs_credential=False,
)

CONNECTOR = Connector(
    key="flow",
    title="Flows",
    credentials_schema=obj({}, top=True),
    actions={ENROLL.key: ENROLL, EMIT.key: EMIT},
)
