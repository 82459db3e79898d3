"""Mail over SMTP (STARTTLS, SSL or plain, with auth), with open/click tracking and unsubscribe links."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery
from connectors.mail.send import run_send
from connectors.schema import obj, secret, string

CREDENTIALS_SCHEMA = obj(
    {
        "host": string("SMTP server host name"),
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 587},
        "security": {"type": "string", "enum": ["starttls", "ssl", "none"], "default": "starttls"},
        "username": string("SMTP user name; leave empty for no authentication"),
        "password": secret("SMTP password"),
        "from": string("Default sender, e.g. 'Acme <hello@acme.test>'"),
        "reply_to": string("Default Reply-To address"),
        "verify_tls": {"type": "boolean", "default": True,
                       "description": "Check the TLS certificate (off only for a self-signed relay)"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30},
    },
    ("host", "from"),
    top=True,
)

SEND_PARAMS = obj(
    {
        "to": string("Recipient address", format="email"),
        "subject": string("Subject line", minLength=1),
        "body": string("Plain-text body"),
        "html": string("HTML body (optional); links are rewritten for click tracking"),
        "from": string("Sender; default: the credential's"),
        "reply_to": string("Reply-To; default: the credential's"),
        "cc": {"type": "array", "items": string(format="email")},
        "bcc": {"type": "array", "items": string(format="email")},
        "track_opens": {"type": "boolean", "default": True},
        "track_clicks": {"type": "boolean", "default": True},
        "unsubscribe_link": {"type": "boolean", "default": True,
                             "description": "Add an unsubscribe link and the List-Unsubscribe headers"},
        "category": {"enum": ["marketing", "service"], "default": "marketing",
                     "title": "Category",
                     "description": "marketing (default): refused for unsubscribed contacts, with an "
                                    "unsubscribe link. service: mail the contact needs whatever they "
                                    "subscribed to (invoices, receipts, payment reminders, account "
                                    "notices); it goes to unsubscribed contacts too and carries no "
                                    "unsubscribe link. Bounced addresses are refused either way."},
    },
    ("to", "subject", "body"),
    top=True,
)

SEND_OUTPUT = obj(
    {
        "message_id": string("The Message-ID header sent"),
        "to": string(),
        "accepted": {"type": "boolean"},
        "refused": {"type": "array", "items": {"type": "string"},
                    "description": "Recipients the server refused while accepting the others"},
    },
    ("message_id", "to", "accepted"),
    top=True,
)

SEND = Action(
    key="mail.send",
    title="Send an email",
    description="Send a text (and optional HTML) email over SMTP with open/click tracking and an "
    "unsubscribe link; refuses bounced contacts, and unsubscribed ones unless the mail is a service mail.",
    params_schema=SEND_PARAMS,
    output_schema=SEND_OUTPUT,
    example_output={"message_id": "<run-1.ask.1@flowright>", "to": "ada@example.com", "accepted": True},
    # SMTP has no idempotency key: a server that accepted the DATA may have delivered the mail even
    # if we never saw its reply. A repeat could mail a person twice, so never repeat silently.
    delivery=Delivery.AT_MOST_ONCE,
    run=run_send,
)

CONNECTOR = Connector(
    key="mail",
    title="Email (SMTP)",
    description="Any SMTP server: your own, Postmark, SES, Mailgun, Gmail...",
    credentials_schema=CREDENTIALS_SCHEMA,
    actions={SEND.key: SEND},
)
