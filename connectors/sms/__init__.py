"""SMS through a Twilio-compatible Messages API, numbers in E.164, quiet hours respected."""

from __future__ import annotations

from connectors.base import Action, Connector, Delivery, Rate
from connectors.schema import LOCAL_TIME, obj, secret, string
from connectors.sms.send import run_send

CREDENTIALS_SCHEMA = obj(
    {
        "account_sid": string("Twilio Account SID (AC...)"),
        "auth_token": secret("Twilio auth token"),
        "api_key_sid": string("API key SID (SK...): used with its secret instead of the auth token"),
        "api_key_secret": secret("API key secret"),
        "from": string("Default sender: an E.164 number, a short code or an alphanumeric sender id"),
        "messaging_service_sid": string("Send through a Messaging Service (MG...) instead of `from`"),
        "base_url": string("API base URL", default="https://api.twilio.com"),
        "default_region": string("Region for numbers written without a country code, e.g. LT",
                                 pattern="^[A-Z]{2}$"),
        "timezone": string("Timezone for quiet hours when the contact has none, e.g. Europe/Vilnius"),
        "quiet_hours": obj({"from": LOCAL_TIME, "to": LOCAL_TIME}, ("from", "to"),
                           description="No SMS between these local times (in the contact's timezone)"),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 15},
    },
    ("account_sid",),
    top=True,
    anyOf=[{"required": ["auth_token"]}, {"required": ["api_key_sid", "api_key_secret"]}],
)

SEND_PARAMS = obj(
    {
        "to": string("Recipient phone number; normalised to E.164", minLength=3),
        "body": string("Message text", minLength=1, maxLength=1600),
        "from": string("Sender; default: the credential's"),
        "status_callback": string("URL Twilio posts delivery status to", format="uri"),
        "ignore_quiet_hours": {"type": "boolean", "default": False},
    },
    ("to", "body"),
    top=True,
)

SEND_OUTPUT = obj(
    {
        "sid": string("The provider's message id"),
        "status": string("queued, sent, ..."),
        "to": string("The number in E.164"),
        "segments": {"type": "integer"},
    },
    ("sid", "status", "to"),
    top=True,
)

SEND = Action(
    key="sms.send",
    title="Send an SMS",
    description="Send a text message through Twilio (or any API speaking its Messages format).",
    params_schema=SEND_PARAMS,
    output_schema=SEND_OUTPUT,
    example_output={"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": "+37060012345",
                    "segments": 1},
    # Twilio's Messages API takes no idempotency key: a lost reply may hide a sent message, and a
    # person must not get the same SMS twice.
    delivery=Delivery.AT_MOST_ONCE,
    run=run_send,
    # A long-code number sends about one segment a second; the budget is per sender.
    rate=Rate(1, 1.0, scope="from"),
)

CONNECTOR = Connector(
    key="sms",
    title="SMS (Twilio)",
    description="Twilio or any provider that speaks Twilio's Messages API.",
    credentials_schema=CREDENTIALS_SCHEMA,
    actions={SEND.key: SEND},
)
