"""Accounting: customers, invoices and payments in Xero or QuickBooks Online (chosen by the credential)."""

from __future__ import annotations

from connectors.accounting.actions import run_create_invoice, run_find_or_create_customer, run_record_payment
from connectors.base import Action, Connector, Delivery, Rate
from connectors.schema import DURATION, obj, secret, string

CREDENTIALS_SCHEMA = obj(
    {
        "provider": {"type": "string", "enum": ["xero", "quickbooks"]},
        "access_token": secret("OAuth 2.0 access token"),
        "tenant_id": string("Xero tenant (organisation) id, sent as Xero-tenant-id"),
        "realm_id": string("QuickBooks company id (realmId)"),
        "base_url": string("API base URL; default https://api.xero.com or "
                           "https://quickbooks.api.intuit.com"),
        "payment_account": string("Xero: code of the bank account payments go to; "
                                  "QuickBooks: id of the deposit account"),
        "sales_account": string("Xero: revenue account code for invoice lines, e.g. 200; "
                                "QuickBooks: id of the item for invoice lines"),
        "minor_version": string("QuickBooks minorversion", default="75"),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 20},
    },
    ("provider", "access_token"),
    top=True,
)

_MONEY = {"type": "number", "minimum": 0}
_LINE = obj(
    {
        "description": string(minLength=1),
        "quantity": {"type": "number", "exclusiveMinimum": 0, "default": 1},
        "unit_price": _MONEY,
        "account_code": string("Xero account code / QuickBooks item id for this line"),
        "tax_type": string("Xero tax type, e.g. OUTPUT2"),
    },
    ("description", "unit_price"),
)

CUSTOMER_PARAMS = obj(
    {"name": string(minLength=1), "email": string(format="email")},
    ("name",),
    top=True,
)
CUSTOMER_OUTPUT = obj(
    {"id": string(), "name": string(), "email": string(), "created": {"type": "boolean"}},
    ("id", "name", "created"),
    top=True,
)

INVOICE_PARAMS = obj(
    {
        "customer": string("Customer id, or an email address to look the customer up by", minLength=1),
        "lines": {"type": "array", "items": _LINE, "minItems": 1},
        "currency": string("ISO 4217 code, e.g. EUR", pattern="^[A-Z]{3}$"),
        "due_in": DURATION,
        "due_date": string("Due date", format="date"),
        "date": string("Invoice date; default: today", format="date"),
        "reference": string("Your reference (Xero Reference / QuickBooks DocNumber)"),
        "status": string("Xero status; default AUTHORISED when every line has an account code (the line's "
                         "or the credential's sales_account), else DRAFT, which Xero accepts uncoded",
                         enum=["DRAFT", "SUBMITTED", "AUTHORISED"]),
    },
    ("customer", "lines"),
    top=True,
)
INVOICE_OUTPUT = obj(
    {"id": string(), "number": string(), "total": {"type": "number"}, "currency": string(),
     "due_date": string()},
    ("id", "number", "total"),
    top=True,
)

PAYMENT_PARAMS = obj(
    {
        "invoice": string("Invoice id", minLength=1),
        "amount": {"type": "number", "exclusiveMinimum": 0},
        "date": string("Payment date; default: today", format="date"),
        "reference": string(),
        "account": string("Bank/deposit account; default: the credential's payment_account"),
    },
    ("invoice", "amount"),
    top=True,
)
PAYMENT_OUTPUT = obj(
    {"id": string(), "invoice": string(), "amount": {"type": "number"}},
    ("id", "invoice", "amount"),
    top=True,
)

# Xero allows 60 calls a minute per tenant (QuickBooks 500 per realm); one action makes up to three
# calls (look up by email, by name, create), so 20 actions a minute stay inside Xero's limit. The budget
# is shared by the three actions of a credential.
_RATE = Rate(20, 60.0)

FIND_OR_CREATE_CUSTOMER = Action(
    key="accounting.find_or_create_customer",
    title="Find or create a customer",
    description="Look the customer up by email (else name) and create it when missing.",
    params_schema=CUSTOMER_PARAMS,
    output_schema=CUSTOMER_OUTPUT,
    example_output={"id": "9b9b4c1a-6f0e-4d1c-9c3e-0c1f2f1f0a11", "name": "Ada Lovelace",
                    "email": "ada@example.com", "created": False},
    # A repeat looks the customer up first and finds the one created by the first attempt.
    delivery=Delivery.IDEMPOTENT,
    run=run_find_or_create_customer,
    rate=_RATE,
)

CREATE_INVOICE = Action(
    key="accounting.create_invoice",
    title="Create an invoice",
    description="Create a sales invoice for a customer.",
    params_schema=INVOICE_PARAMS,
    output_schema=INVOICE_OUTPUT,
    example_output={"id": "243216c5-369e-4056-ac67-05388f86dc81", "number": "INV-0042", "total": 121.0,
                    "currency": "EUR", "due_date": "2026-12-06"},
    # Both providers deduplicate on a key we send: Xero's Idempotency-Key header and QuickBooks'
    # requestid query parameter, both set to the step's idempotency key.
    delivery=Delivery.IDEMPOTENT,
    run=run_create_invoice,
    rate=_RATE,
)

RECORD_PAYMENT = Action(
    key="accounting.record_payment",
    title="Record a payment",
    description="Record a payment against an invoice.",
    params_schema=PAYMENT_PARAMS,
    output_schema=PAYMENT_OUTPUT,
    example_output={"id": "b26fd49a-cbae-470a-a8f8-bcbc119e0379",
                    "invoice": "243216c5-369e-4056-ac67-05388f86dc81", "amount": 121.0},
    # Same idempotency keys as create_invoice (Xero Idempotency-Key, QuickBooks requestid).
    delivery=Delivery.IDEMPOTENT,
    run=run_record_payment,
    rate=_RATE,
)

CONNECTOR = Connector(
    key="accounting",
    title="Accounting (Xero, QuickBooks Online)",
    credentials_schema=CREDENTIALS_SCHEMA,
    actions={a.key: a for a in (FIND_OR_CREATE_CUSTOMER, CREATE_INVOICE, RECORD_PAYMENT)},
)
