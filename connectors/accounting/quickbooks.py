"""QuickBooks Online's Accounting API (v3/company/{realmId}): customer, invoice, payment, query.

Every call carries `Authorization: Bearer`, `Accept: application/json` and `minorversion`; writes
carry `requestid`, QuickBooks' idempotency parameter, so a retried create is not duplicated.
"""

from __future__ import annotations

from typing import Any

import requests

from connectors import httpmap
from connectors.base import ActionContext, PermanentError

DEFAULT_BASE_URL = "https://quickbooks.api.intuit.com"


def _faults(data: Any) -> str | None:
    """Fault.Error[].Message/Detail (the API) or fault.error[].message/detail (the OAuth gateway)."""
    if not isinstance(data, dict):
        return None
    fault = data.get("Fault") or data.get("fault")
    if not isinstance(fault, dict):
        return None
    texts = []
    for error in fault.get("Error") or fault.get("error") or []:
        message = error.get("Message") or error.get("message") or ""
        detail = error.get("Detail") or error.get("detail") or ""
        text = f"{message}: {detail}" if detail and detail != message else str(message or detail)
        code = error.get("code") or error.get("Code")
        texts.append(f"{text} (error {code})" if text and code else text)
    return "; ".join(t for t in texts if t) or str(fault.get("type") or "Fault")


def _message(response: requests.Response) -> str | None:
    return _faults(httpmap.json_or_none(response)) or httpmap.body_text(response)


def quote(value: str) -> str:
    """A string literal for the QuickBooks query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class QuickBooks:
    def __init__(self, ctx: ActionContext) -> None:
        creds = ctx.credentials
        if not creds.get("realm_id"):
            raise PermanentError("the QuickBooks credential needs a realm_id")
        self.ctx = ctx
        base = str(creds.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.base = f"{base}/v3/company/{creds['realm_id']}"

    def call(self, method: str, path: str, *, params: dict[str, str] | None = None,
             body: dict[str, Any] | None = None, request_id: str | None = None) -> dict[str, Any]:
        """The QuickBooks request helper; a 200 carrying a Fault is an error too."""
        creds = self.ctx.credentials
        query = {**(params or {}), "minorversion": str(creds.get("minor_version") or "75")}
        if request_id:
            query["requestid"] = request_id
        headers = {"Authorization": f"Bearer {creds['access_token']}", "Accept": "application/json"}
        try:
            response = self.ctx.http.request(method, f"{self.base}{path}", params=query, json=body,
                                             headers=headers, allow_redirects=False,
                                             timeout=float(creds.get("timeout") or 20))
        except requests.RequestException as exc:
            httpmap.transport_error("QuickBooks", exc)
        httpmap.raise_for("QuickBooks", response, _message, [creds.get("access_token")])
        data = httpmap.json_or_none(response)
        if not isinstance(data, dict):
            raise PermanentError("QuickBooks answered something that is not JSON",
                                 status=response.status_code)
        fault = _faults(data)
        if fault:
            fault = httpmap.scrub(fault, [creds.get("access_token")])
            status = response.status_code
            raise PermanentError(f"QuickBooks answered {status}: {fault}", status=status)
        return data

    @staticmethod
    def _customer(customer: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(customer["Id"]), "name": str(customer.get("DisplayName") or ""),
                "email": str((customer.get("PrimaryEmailAddr") or {}).get("Address") or "")}

    def find_customer(self, *, email: str | None = None, name: str | None = None) -> dict[str, Any] | None:
        field, value = ("PrimaryEmailAddr", email) if email else ("DisplayName", name)
        sql = f"select * from Customer where {field} = {quote(str(value))} maxresults 1"
        answer = self.call("GET", "/query", params={"query": sql})
        found = (answer.get("QueryResponse") or {}).get("Customer") or []
        return self._customer(found[0]) if found else None

    def create_customer(self, name: str, email: str | None, key: str) -> dict[str, Any]:
        body: dict[str, Any] = {"DisplayName": name}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        return self._customer(self.call("POST", "/customer", body=body, request_id=key)["Customer"])

    def create_invoice(self, customer_id: str, invoice: dict[str, Any], key: str) -> dict[str, Any]:
        default_item = self.ctx.credentials.get("sales_account") or "1"
        lines = []
        for line in invoice["lines"]:
            quantity = line.get("quantity", 1)
            lines.append({
                "DetailType": "SalesItemLineDetail", "Description": line["description"],
                "Amount": round(quantity * line["unit_price"], 2),
                "SalesItemLineDetail": {"ItemRef": {"value": str(line.get("account_code") or default_item)},
                                        "Qty": quantity, "UnitPrice": line["unit_price"]},
            })
        body: dict[str, Any] = {"CustomerRef": {"value": customer_id}, "Line": lines,
                                "TxnDate": invoice["date"]}
        if invoice.get("due_date"):
            body["DueDate"] = invoice["due_date"]
        if invoice.get("reference"):
            body["DocNumber"] = invoice["reference"]
        if invoice.get("currency"):
            body["CurrencyRef"] = {"value": invoice["currency"]}
        created = self.call("POST", "/invoice", body=body, request_id=key)["Invoice"]
        return {"id": str(created["Id"]), "number": str(created.get("DocNumber") or created["Id"]),
                "total": float(created.get("TotalAmt") or 0),
                "currency": str((created.get("CurrencyRef") or {}).get("value") or ""),
                "due_date": str(created.get("DueDate") or "")}

    def record_payment(self, payment: dict[str, Any], key: str) -> dict[str, Any]:
        invoice = self.call("GET", f"/invoice/{payment['invoice']}")["Invoice"]
        body: dict[str, Any] = {
            "CustomerRef": {"value": str(invoice["CustomerRef"]["value"])},
            "TotalAmt": payment["amount"], "TxnDate": payment["date"],
            "Line": [{"Amount": payment["amount"],
                      "LinkedTxn": [{"TxnId": str(payment["invoice"]), "TxnType": "Invoice"}]}],
        }
        account = payment.get("account") or self.ctx.credentials.get("payment_account")
        if account:
            body["DepositToAccountRef"] = {"value": str(account)}
        if payment.get("reference"):
            body["PaymentRefNum"] = payment["reference"]
        created = self.call("POST", "/payment", body=body, request_id=key)["Payment"]
        return {"id": str(created["Id"]), "invoice": str(payment["invoice"]),
                "amount": float(created.get("TotalAmt", payment["amount"]))}
