"""http.request: call any public HTTP API (private, loopback and link-local targets refused)."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery
from connectors.schema import obj, string
from connectors.web.request import run_request

REQUEST_PARAMS = obj(
    {
        "method": string(enum=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], default="GET"),
        "url": string("http(s) URL", format="uri", pattern="^https?://"),
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "json": {"description": "A JSON body (any JSON value)"},
        "body": string("A raw text body"),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120, "default": 30},
    },
    ("url",),
    top=True,
    **{"not": {"required": ["json", "body"]}},
)

REQUEST_OUTPUT = obj(
    {
        "status": {"type": "integer"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "json": {"description": "The parsed body when the response is JSON"},
        "body": string("The body text when the response is not JSON"),
    },
    ("status", "headers"),
    top=True,
)

REQUEST = Action(
    key="http.request",
    title="HTTP request",
    description="Call an HTTP API; a non-2xx answer fails the step (5xx and 429 are retried).",
    params_schema=REQUEST_PARAMS,
    output_schema=REQUEST_OUTPUT,
    example_output={"status": 200, "headers": {"Content-Type": "application/json"}, "json": {"ok": True}},
    # An arbitrary endpoint may not be idempotent (a POST that creates something): never repeat it
    # silently after a crash.
    delivery=Delivery.AT_MOST_ONCE,
    run=run_request,
    needs_credential=False,
)

CONNECTOR = Connector(
    key="http",
    title="HTTP",
    credentials_schema=obj({}, top=True),
    actions={REQUEST.key: REQUEST},
)
