"""webhook.send: POST a JSON payload signed with HMAC-SHA256."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery
from connectors.schema import obj, secret, string
from connectors.webhook.send import run_send

CREDENTIALS_SCHEMA = obj(
    {
        "signing_secret": secret("Shared secret for the X-Flowright-Signature HMAC"),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 15},
    },
    ("signing_secret",),
    top=True,
)

SEND_PARAMS = obj(
    {
        "url": string("Receiver URL", format="uri", pattern="^https?://"),
        "payload": {"description": "The JSON body (any JSON value)"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
    },
    ("url", "payload"),
    top=True,
)

SEND_OUTPUT = obj(
    {"status": {"type": "integer"}, "delivery_id": string("The X-Flowright-Delivery header sent")},
    ("status", "delivery_id"),
    top=True,
)

SEND = Action(
    key="webhook.send",
    title="Send a webhook",
    description="POST JSON to a URL with X-Flowright-Signature: sha256=<HMAC of the body>.",
    params_schema=SEND_PARAMS,
    output_schema=SEND_OUTPUT,
    example_output={"status": 200, "delivery_id": "run-1:notify:1"},
    # Webhooks are at-least-once by convention (Stripe, GitHub): every attempt carries the same
    # X-Flowright-Delivery id (the step's idempotency key) and receivers deduplicate on it.
    delivery=Delivery.IDEMPOTENT,
    run=run_send,
)

CONNECTOR = Connector(
    key="webhook",
    title="Outgoing webhook",
    credentials_schema=CREDENTIALS_SCHEMA,
    actions={SEND.key: SEND},
)
