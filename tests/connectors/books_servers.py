"""Local servers that answer like Xero's and QuickBooks Online's accounting APIs (state in memory,
requests checked the way the providers check them, their real error bodies)."""

from __future__ import annotations

import re
from typing import Any

from connector_support import Reply, Seen

XERO_TOKEN, XERO_TENANT = "xero-access-SECRET", "tenant-1"
QBO_TOKEN, QBO_REALM = "qbo-access-SECRET", "9130355"


def _xero_validation(*messages: str) -> Reply:
    return Reply(400, {"ErrorNumber": 10, "Type": "ValidationException",
                       "Message": "A validation exception occurred",
                       "Elements": [{"ValidationErrors": [{"Message": m} for m in messages]}]})


class XeroServer:
    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = [
            {"ContactID": "c-ada", "Name": "Ada Lovelace", "EmailAddress": "ada@example.com"}]
        self.invoices: dict[str, dict[str, Any]] = {}
        self.payments: list[dict[str, Any]] = []
        self.replies_by_key: dict[str, Reply] = {}

    def __call__(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {XERO_TOKEN}":
            return Reply(401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                               "Detail": "AuthenticationUnsuccessful", "Instance": "a1b2", "Extensions": {}})
        tenant = seen.headers.get("xero-tenant-id")
        if tenant == "tenant-busy":
            return Reply(429, "", {"Retry-After": "42", "X-Rate-Limit-Problem": "minute"})
        if tenant == "tenant-down":
            return Reply(503, "The service is temporarily unavailable")
        if tenant != XERO_TENANT:
            return Reply(403, {"Type": None, "Title": "Forbidden", "Status": 403,
                               "Detail": "AuthorizationUnsuccessful", "Instance": "c3d4", "Extensions": {}})
        if seen.headers.get("accept") != "application/json":
            return Reply(406, "<Response>xml</Response>")
        if seen.method in ("POST", "PUT") and seen.headers.get("content-type") != "application/json":
            return Reply(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException",
                               "Message": "Invalid Json data"})
        key = seen.headers.get("idempotency-key")
        if key and key in self.replies_by_key:
            return self.replies_by_key[key]
        route = {("GET", "/api.xro/2.0/Contacts"): self.get_contacts,
                 ("POST", "/api.xro/2.0/Contacts"): self.post_contacts,
                 ("POST", "/api.xro/2.0/Invoices"): self.post_invoices,
                 ("PUT", "/api.xro/2.0/Payments"): self.put_payments}.get((seen.method, seen.path))
        if route is None:
            return Reply(404, "The resource you're looking for cannot be found")
        reply = route(seen)
        if key and seen.method in ("POST", "PUT") and reply.status == 200:
            self.replies_by_key[key] = reply
        return reply

    def get_contacts(self, seen: Seen) -> Reply:
        match = re.fullmatch(r'(\w+)=="(.*)"', seen.query.get("where", [""])[0])
        found = [c for c in self.contacts if match and c.get(match.group(1)) == match.group(2)]
        return Reply(200, {"Status": "OK", "Contacts": found})

    def post_contacts(self, seen: Seen) -> Reply:
        contact = seen.json()["Contacts"][0]
        if "@" not in contact.get("EmailAddress", "@"):
            return _xero_validation("Email address must be valid.")
        if any(c["Name"] == contact["Name"] for c in self.contacts):
            return _xero_validation("The contact name Ada Lovelace is already assigned to another contact.")
        contact = {"ContactID": f"c-{len(self.contacts)}", **contact, "ContactStatus": "ACTIVE"}
        self.contacts.append(contact)
        return Reply(200, {"Status": "OK", "Contacts": [contact]})

    def post_invoices(self, seen: Seen) -> Reply:
        inv = seen.json()["Invoices"][0]
        errors = []
        if inv.get("Type") != "ACCREC":
            errors.append("Invoice Type must be specified.")
        if not any(c["ContactID"] == inv.get("Contact", {}).get("ContactID") for c in self.contacts):
            errors.append("The Contact must contain at least 1 of the following elements to identify "
                          "the contact: Name, ContactID, ContactNumber")
        if inv.get("Status") == "AUTHORISED" and not inv.get("DueDate"):
            errors.append("Due Date is required.")
        if inv.get("Status") in ("SUBMITTED", "AUTHORISED"):
            errors += ["Account code '' is not a valid code for this document."
                       for line in inv.get("LineItems", []) if not line.get("AccountCode")]
        if errors:
            return _xero_validation(*errors)
        total = sum(line["Quantity"] * line["UnitAmount"] for line in inv["LineItems"])
        number = f"INV-{len(self.invoices) + 1:04d}"
        created = {**inv, "InvoiceID": f"inv-{len(self.invoices) + 1}", "InvoiceNumber": number,
                   "Total": total, "AmountDue": total, "CurrencyCode": inv.get("CurrencyCode", "NZD"),
                   "DueDate": "/Date(1796428800000+0000)/", "DueDateString": f"{inv.get('DueDate')}T00:00:00"}
        self.invoices[created["InvoiceID"]] = created
        return Reply(200, {"Status": "OK", "Invoices": [created]})

    def put_payments(self, seen: Seen) -> Reply:
        pay = seen.json()["Payments"][0]
        invoice = self.invoices.get(pay["Invoice"]["InvoiceID"])
        if invoice is None:
            return _xero_validation("Invoice could not be found")
        if invoice.get("Status") != "AUTHORISED":
            return _xero_validation("Invoice not of valid status for creation of a payment.")
        if pay["Account"].get("Code") != "090":
            code = pay["Account"].get("Code")
            return _xero_validation(f"Account code '{code}' is not a valid code for this document.")
        if pay["Amount"] > invoice["AmountDue"]:
            return _xero_validation("Payment amount exceeds the amount outstanding on this document")
        invoice["AmountDue"] -= pay["Amount"]
        created = {**pay, "PaymentID": f"pay-{len(self.payments) + 1}", "Status": "AUTHORISED"}
        self.payments.append(created)
        return Reply(200, {"Status": "OK", "Payments": [created]})


def _qbo_fault(message: str, detail: str, code: str, status: int = 400) -> Reply:
    return Reply(status, {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code,
                                                "element": ""}], "type": "ValidationFault"},
                          "time": "2026-11-23T02:00:00.000-08:00"})


class QuickBooksServer:
    def __init__(self) -> None:
        self.customers: list[dict[str, Any]] = [
            {"Id": "58", "DisplayName": "Ada Lovelace", "PrimaryEmailAddr": {"Address": "ada@example.com"}}]
        self.invoices: dict[str, dict[str, Any]] = {}
        self.payments: list[dict[str, Any]] = []
        self.replies_by_request: dict[str, Reply] = {}
        self.vendor_names = {"Paper Co"}  # display names are unique across customers, vendors, employees

    def __call__(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {QBO_TOKEN}":
            return Reply(401, {"warnings": None, "intuitObject": None, "fault": {"error": [
                {"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                 "detail": "Token expired: AB11...", "code": "3200"}], "type": "AUTHENTICATION"},
                "report": None, "queryResponse": None, "time": 1763892000000})
        prefix = f"/v3/company/{QBO_REALM}"
        if not seen.path.startswith(prefix) or "minorversion" not in seen.query:
            return Reply(404, "")
        if seen.headers.get("accept") != "application/json":
            return Reply(200, "<IntuitResponse/>", {"Content-Type": "application/xml"})
        if seen.method == "POST" and seen.headers.get("content-type") != "application/json":
            return _qbo_fault("ContentType: Unsupported Media Type", "Content type not supported. Use "
                              "application/json or application/xml", "20001", status=415)
        request_id = seen.query.get("requestid", [None])[0]
        if request_id and request_id in self.replies_by_request:
            return self.replies_by_request[request_id]
        path = seen.path[len(prefix):]
        if seen.method == "GET" and path.startswith("/invoice/"):
            invoice = self.invoices.get(path.rsplit("/", 1)[1])
            if invoice is None:
                return _qbo_fault("Object Not Found", "Object Not Found : Something you're trying to use has "
                                  "been made inactive. Check the fields with accounts, customers, items, "
                                  "vendors or employees.", "610")
            return Reply(200, {"Invoice": invoice, "time": "now"})
        route = {("GET", "/query"): self.query, ("POST", "/customer"): self.post_customer,
                 ("POST", "/invoice"): self.post_invoice, ("POST", "/payment"): self.post_payment}.get(
                     (seen.method, path))
        if route is None:
            return Reply(404, "")
        reply = route(seen)
        if request_id and reply.status == 200:
            self.replies_by_request[request_id] = reply
        return reply

    def query(self, seen: Seen) -> Reply:
        sql = seen.query["query"][0]
        match = re.fullmatch(r"select \* from Customer where (\w+) = '((?:[^'\\]|\\.)*)' maxresults 1", sql)
        if not match:
            return _qbo_fault("QueryParserError: Encountered an error", f"Bad query {sql}", "4000")
        field, value = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))

        def val(c: dict[str, Any]) -> Any:
            if field == "PrimaryEmailAddr":
                return c.get("PrimaryEmailAddr", {}).get("Address")
            return c.get(field)

        found = [c for c in self.customers if val(c) == value]
        if not found:
            return Reply(200, {"QueryResponse": {}, "time": "now"})
        return Reply(200, {"QueryResponse": {"Customer": found[:1], "startPosition": 1, "maxResults": 1},
                           "time": "now"})

    def post_customer(self, seen: Seen) -> Reply:
        body = seen.json()
        names = {c["DisplayName"] for c in self.customers} | self.vendor_names
        if body.get("DisplayName") in names:
            return _qbo_fault("Duplicate Name Exists Error", "The name supplied already exists. : Another "
                              "customer, vendor or employee is already using this name.", "6240")
        customer = {"Id": str(60 + len(self.customers)), **body, "Active": True, "SyncToken": "0"}
        self.customers.append(customer)
        return Reply(200, {"Customer": customer, "time": "now"})

    def post_invoice(self, seen: Seen) -> Reply:
        body = seen.json()
        if not any(c["Id"] == body.get("CustomerRef", {}).get("value") for c in self.customers):
            return _qbo_fault("Invalid Reference Id", "Invalid Reference Id : Customer assigned to this "
                              "transaction has been deleted.", "2500")
        for line in body["Line"]:
            detail = line.get("SalesItemLineDetail") or {}
            if line.get("DetailType") != "SalesItemLineDetail" or "ItemRef" not in detail:
                return _qbo_fault("Required param missing, need to supply the required value for the API",
                                  "Required parameter Line.SalesItemLineDetail.ItemRef is missing", "2020")
            if abs(line["Amount"] - detail["Qty"] * detail["UnitPrice"]) > 0.005:
                return _qbo_fault("Amount is not equal to UnitPrice * Qty", "Amount is not equal to "
                                  "UnitPrice * Qty. Supplied value:" + str(line["Amount"]), "6070")
        total = round(sum(line["Amount"] for line in body["Line"]), 2)
        invoice_id = str(130 + len(self.invoices))
        invoice = {**body, "Id": invoice_id, "DocNumber": body.get("DocNumber", "1037"), "TotalAmt": total,
                   "Balance": total, "CurrencyRef": body.get("CurrencyRef", {"value": "USD", "name": "USD"})}
        self.invoices[invoice_id] = invoice
        return Reply(200, {"Invoice": invoice, "time": "now"})

    def post_payment(self, seen: Seen) -> Reply:
        body = seen.json()
        linked = body["Line"][0]["LinkedTxn"][0]
        invoice = self.invoices.get(linked["TxnId"])
        if invoice is None or linked["TxnType"] != "Invoice":
            return _qbo_fault("Invalid Reference Id", "Invalid Reference Id : Txn not found", "2500")
        if body["CustomerRef"]["value"] != invoice["CustomerRef"]["value"]:
            return _qbo_fault("Business Validation Error", "The customer of the payment is not the "
                              "customer of the invoice", "6000")
        invoice["Balance"] = round(invoice["Balance"] - body["TotalAmt"], 2)
        payment = {**body, "Id": str(200 + len(self.payments)), "UnappliedAmt": 0}
        self.payments.append(payment)
        return Reply(200, {"Payment": payment, "time": "now"})

