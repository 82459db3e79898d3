"""Slack: an incoming webhook, or chat.postMessage with a bot token."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery, Rate
from connectors.schema import obj, secret, string
from connectors.slack.post import run_post

CREDENTIALS_SCHEMA = obj(
    {
        "webhook_url": secret("Incoming webhook URL (https://hooks.slack.com/services/...)"),
        "bot_token": secret("Bot token (xoxb-...) for chat.postMessage"),
        "base_url": string("Web API base URL", default="https://slack.com/api"),
        "default_channel": string("Channel used when the action names none (bot token only)"),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 10},
    },
    top=True,
    anyOf=[{"required": ["webhook_url"]}, {"required": ["bot_token"]}],
)

POST_PARAMS = obj(
    {
        "text": string("Message text (mrkdwn); the notification fallback when blocks are given",
                       minLength=1),
        "channel": string("Channel id or #name; needed with a bot token, ignored by an incoming webhook"),
        "blocks": {"type": "array", "items": {"type": "object"}, "description": "Block Kit blocks"},
        "thread_ts": string("Reply in this thread"),
        "unfurl_links": {"type": "boolean"},
    },
    ("text",),
    top=True,
)

POST_OUTPUT = obj(
    {
        "ok": {"type": "boolean"},
        "channel": string(),
        "ts": string("Message timestamp (bot token only)"),
    },
    ("ok",),
    top=True,
)

POST = Action(
    key="slack.post",
    title="Post to Slack",
    description="Post a message to a Slack channel.",
    params_schema=POST_PARAMS,
    output_schema=POST_OUTPUT,
    example_output={"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"},
    # Neither incoming webhooks nor chat.postMessage deduplicate: a repeat posts twice.
    delivery=Delivery.AT_MOST_ONCE,
    run=run_post,
    rate=Rate(1, 1.0, scope="channel"),  # Slack allows about one message a second per channel
)

CONNECTOR = Connector(
    key="slack",
    title="Slack",
    credentials_schema=CREDENTIALS_SCHEMA,
    actions={POST.key: POST},
)
