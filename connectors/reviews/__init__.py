"""Review requests: Trustpilot email invitations, or a Google review link sent by mail."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery
from connectors.mail import CREDENTIALS_SCHEMA as SMTP_SCHEMA
from connectors.reviews.request import run_request
from connectors.schema import obj, secret, string

_SMTP = {key: value for key, value in SMTP_SCHEMA.items() if key != "$schema"}
_SMTP["description"] = "SMTP settings used to mail the Google review link"

CREDENTIALS_SCHEMA = obj(
    {
        "trustpilot_api_key": string("Trustpilot API key"),
        "trustpilot_api_secret": secret("Trustpilot API secret"),
        "trustpilot_access_token": secret("OAuth access token for the Invitations API"),
        "business_unit_id": string("Trustpilot business unit id"),
        "business_user_id": string("Trustpilot business user (Admin or Manager) to send on behalf of; "
                                   "sent as x-business-user-id, needed with an API key and secret"),
        "trustpilot_base_url": string("Invitations API base URL",
                                      default="https://invitations-api.trustpilot.com"),
        "trustpilot_auth_url": string("OAuth base URL", default="https://api.trustpilot.com"),
        "sender_email": string("Trustpilot invitation sender address", format="email"),
        "sender_name": string("Trustpilot invitation sender name"),
        "reply_to": string("Trustpilot invitation Reply-To", format="email"),
        "template_id": string("Trustpilot invitation template id"),
        "redirect_uri": string("Trustpilot: where the customer lands after the review", format="uri"),
        "location_id": string("Trustpilot location id, for businesses with several locations"),
        "google_review_url": string("Your Google review link (https://g.page/r/.../review)", format="uri"),
        "smtp": _SMTP,
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 15},
    },
    top=True,
)

REQUEST_PARAMS = obj(
    {
        "provider": {"type": "string", "enum": ["trustpilot", "google"]},
        "to": string("Customer's email address", format="email"),
        "name": string("Customer's name", minLength=1),
        "reference": string("Order or deal reference, sent back with the review"),
        "locale": string("Invitation language, e.g. en-US", default="en-US"),
        "subject": string("Mail subject (google)"),
        "body": string("Mail text (google); {link} is replaced by the review link"),
        "send_after": string("Trustpilot: send the invitation at this time", format="date-time"),
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1},
                 "description": "Trustpilot: tags put on the review this invitation brings"},
    },
    ("provider", "to", "name"),
    top=True,
)

REQUEST_OUTPUT = obj(
    {
        "provider": {"type": "string", "enum": ["trustpilot", "google"]},
        "to": string(),
        "reference": string(),
        "message_id": string("Message-ID of the mail (google)"),
    },
    ("provider", "to"),
    top=True,
)

REQUEST = Action(
    key="reviews.request",
    title="Ask for a review",
    description="Invite a customer to review you on Trustpilot, or mail them your Google review link. "
    "Reviews come back as review.received events.",
    params_schema=REQUEST_PARAMS,
    output_schema=REQUEST_OUTPUT,
    example_output={"provider": "trustpilot", "to": "ada@example.com", "reference": "ORDER-1001"},
    # Trustpilot's invitation endpoint takes no idempotency key and a mail cannot be recalled:
    # a person must not be asked twice.
    delivery=Delivery.AT_MOST_ONCE,
    run=run_request,
)

CONNECTOR = Connector(
    key="reviews",
    title="Review sites",
    description="Trustpilot invitations and Google review links.",
    credentials_schema=CREDENTIALS_SCHEMA,
    actions={REQUEST.key: REQUEST},
)
