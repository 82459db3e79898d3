"""Xero's Accounting API (api.xro/2.0): Contacts, Invoices, Payments.

Every call carries `Authorization: Bearer`, `Xero-tenant-id` and `Accept: application/json`; writes
carry `Idempotency-Key`, so a retried create returns the first result instead of a duplicate.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import requests

from connectors import httpmap
from connectors.base import ActionContext, PermanentError

DEFAULT_BASE_URL = "https://api.xero.com"
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def _validation_errors(node: Any) -> list[str]:
    """Every ValidationErrors[].Message under `node` (Xero nests them in line items and payments too)."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += _validation_errors(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "ValidationErrors" and isinstance(value, list):
                found += [str(v["Message"]) for v in value if isinstance(v, dict) and v.get("Message")]
            elif isinstance(value, (list, dict)):
                found += _validation_errors(value)
    return found


def _message(response: requests.Response) -> str | None:
    """Xero's errors: ValidationException with Elements[].ValidationErrors[].Message, else Message,
    else the problem+json Title/Detail of 401/403."""
    problem = response.headers.get("X-Rate-Limit-Problem")
    if response.status_code == 429 and problem:  # minute, day, concurrent or appminute
        return f"rate limit reached ({problem} limit)"
    data = httpmap.json_or_none(response)
    if not isinstance(data, dict):
        return httpmap.body_text(response)
    found = _validation_errors(data.get("Elements") or [])
    if found:
        return "; ".join(dict.fromkeys(found))
    parts = [str(data[k]) for k in ("Message", "Title", "Detail") if data.get(k)]
    return ": ".join(parts) or None


def _date(value: Any) -> str | None:
    """Xero dates come as '/Date(1518685950940+0000)/' or '2026-12-06T00:00:00'."""
    if not value:
        return None
    match = _MS_DATE.fullmatch(str(value))
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date().isoformat()
    return str(value)[:10]


class Xero:
    def __init__(self, ctx: ActionContext) -> None:
        creds = ctx.credentials
        if not creds.get("tenant_id"):
            raise PermanentError("the Xero credential needs a tenant_id")
        self.ctx = ctx
        self.base = str(creds.get("base_url") or DEFAULT_BASE_URL).rstrip("/") + "/api.xro/2.0"

    def call(self, method: str, path: str, *, params: dict[str, str] | None = None,
             body: dict[str, Any] | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        """The Xero request helper."""
        creds = self.ctx.credentials
        headers = {"Authorization": f"Bearer {creds['access_token']}",
                   "Xero-tenant-id": str(creds["tenant_id"]), "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self.ctx.http.request(method, f"{self.base}{path}", params=params, json=body,
                                             headers=headers, allow_redirects=False,
                                             timeout=float(creds.get("timeout") or 20))
        except requests.RequestException as exc:
            httpmap.transport_error("Xero", exc)
        httpmap.raise_for("Xero", response, _message, [creds.get("access_token")])
        data = httpmap.json_or_none(response)
        if not isinstance(data, dict):
            raise PermanentError("Xero answered something that is not JSON", status=response.status_code)
        errors = _validation_errors([v for k, v in data.items() if k != "Elements"])
        if errors:  # summarizeErrors=false answers 200 with HasErrors items
            detail = httpmap.scrub("; ".join(dict.fromkeys(errors)), [creds.get("access_token")])
            raise PermanentError(f"Xero refused: {detail}", status=response.status_code)
        return data

    @staticmethod
    def _customer(contact: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(contact["ContactID"]), "name": str(contact.get("Name") or ""),
                "email": str(contact.get("EmailAddress") or "")}

    def find_customer(self, *, email: str | None = None, name: str | None = None) -> dict[str, Any] | None:
        field, value = ("EmailAddress", email) if email else ("Name", name)
        quoted = str(value).replace('"', '\\"')
        found = self.call("GET", "/Contacts", params={"where": f'{field}=="{quoted}"'}).get("Contacts") or []
        return self._customer(found[0]) if found else None

    def create_customer(self, name: str, email: str | None, key: str) -> dict[str, Any]:
        contact = {"Name": name, **({"EmailAddress": email} if email else {})}
        data = self.call("POST", "/Contacts", body={"Contacts": [contact]}, idempotency_key=key)
        return self._customer(data["Contacts"][0])

    def create_invoice(self, customer_id: str, invoice: dict[str, Any], key: str) -> dict[str, Any]:
        account = self.ctx.credentials.get("sales_account")
        lines = []
        for line in invoice["lines"]:
            item = {"Description": line["description"], "Quantity": line.get("quantity", 1),
                    "UnitAmount": line["unit_price"]}
            if line.get("account_code") or account:
                item["AccountCode"] = line.get("account_code") or account
            if line.get("tax_type"):
                item["TaxType"] = line["tax_type"]
            lines.append(item)
        # Xero refuses to approve an invoice with a line that has no account code: without one, a draft
        # that someone codes and approves in Xero; with one on every line, approved at once.
        coded = all(item.get("AccountCode") for item in lines)
        status = invoice.get("status") or ("AUTHORISED" if coded else "DRAFT")
        body: dict[str, Any] = {"Type": "ACCREC", "Contact": {"ContactID": customer_id}, "LineItems": lines,
                                "Date": invoice["date"], "Status": status}
        optional = {"DueDate": invoice.get("due_date"), "Reference": invoice.get("reference"),
                    "CurrencyCode": invoice.get("currency")}
        body.update({k: v for k, v in optional.items() if v})
        answer = self.call("POST", "/Invoices", body={"Invoices": [body]}, idempotency_key=key)
        created = answer["Invoices"][0]
        return {"id": str(created["InvoiceID"]), "number": str(created.get("InvoiceNumber") or ""),
                "total": float(created.get("Total") or 0), "currency": str(created.get("CurrencyCode") or ""),
                "due_date": _date(created.get("DueDateString") or created.get("DueDate")) or ""}

    def record_payment(self, payment: dict[str, Any], key: str) -> dict[str, Any]:
        account = payment.get("account") or self.ctx.credentials.get("payment_account")
        if not account:
            raise PermanentError("a Xero payment needs a bank account code (account, or payment_account)")
        body = {"Invoice": {"InvoiceID": payment["invoice"]}, "Account": {"Code": account},
                "Date": payment["date"], "Amount": payment["amount"]}
        if payment.get("reference"):
            body["Reference"] = payment["reference"]
        created = self.call("PUT", "/Payments", body={"Payments": [body]}, idempotency_key=key)["Payments"][0]
        return {"id": str(created["PaymentID"]), "invoice": str(payment["invoice"]),
                "amount": float(created.get("Amount", payment["amount"]))}
