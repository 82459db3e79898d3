"""flow.enroll: start a run of another flow for the same subject."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery
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

CONNECTOR = Connector(
    key="flow",
    title="Flows",
    credentials_schema=obj({}, top=True),
    actions={ENROLL.key: ENROLL},
)
