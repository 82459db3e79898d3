"""accounting.* against local servers answering like Xero and QuickBooks Online."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from connector_books import QBO_REALM, QBO_TOKEN, XERO_TENANT, XERO_TOKEN, QuickBooksServer, XeroServer
from connector_support import LocalServer, Reply, Seen, checked, local_server, make_ctx

from connectors.accounting import CONNECTOR
from connectors.base import PermanentError, RetryableError

A = checked(CONNECTOR.actions)
CUSTOMER, INVOICE, PAYMENT = (A[f"accounting.{name}"] for name in (
    "find_or_create_customer", "create_invoice", "record_payment"))
LINES = [{"description": "Consulting", "quantity": 2, "unit_price": 50.0},
         {"description": "Setup", "unit_price": 21.0}]


@pytest.fixture
def xero() -> Iterator[tuple[XeroServer, LocalServer]]:
    state = XeroServer()
    with local_server(state) as server:
        yield state, server


@pytest.fixture
def qbo() -> Iterator[tuple[QuickBooksServer, LocalServer]]:
    state = QuickBooksServer()
    with local_server(state) as server:
        yield state, server


def xero_creds(url: str, **more: Any) -> dict[str, Any]:
    return {"provider": "xero", "access_token": XERO_TOKEN, "tenant_id": XERO_TENANT, "base_url": url,
            "payment_account": "090", "sales_account": "200", **more}


def qbo_creds(url: str, **more: Any) -> dict[str, Any]:
    return {"provider": "quickbooks", "access_token": QBO_TOKEN, "realm_id": QBO_REALM, "base_url": url,
            "payment_account": "35", **more}


def test_xero_customer_invoice_payment(xero: tuple[XeroServer, LocalServer]) -> None:
    state, server = xero
    ctx = make_ctx(xero_creds(server.url))
    found = CUSTOMER.run(ctx, {"name": "Ada L.", "email": "ada@example.com"})
    assert found == {"id": "c-ada", "name": "Ada Lovelace", "email": "ada@example.com", "created": False}
    made = CUSTOMER.run(ctx, {"name": "Grace Hopper", "email": "grace@example.com"})
    assert made["created"] is True and state.contacts[-1]["Name"] == "Grace Hopper"
    assert server.seen[0].query == {"where": ['EmailAddress=="ada@example.com"']}

    invoice = INVOICE.run(ctx, {"customer": "ada@example.com", "lines": LINES,
                                "currency": "EUR", "due_in": "P14D", "reference": "D-3"})
    assert invoice == {"id": "inv-1", "number": "INV-0001", "total": 121.0, "currency": "EUR",
                       "due_date": "2026-12-07"}
    sent = next(s for s in server.seen if s.path.endswith("/Invoices"))
    body = sent.json()["Invoices"][0]
    assert body["Contact"] == {"ContactID": "c-ada"} and body["Type"] == "ACCREC"
    assert body["LineItems"][0] == {"Description": "Consulting", "Quantity": 2, "UnitAmount": 50.0,
                                    "AccountCode": "200"}
    assert body["Date"] == "2026-11-23" and body["DueDate"] == "2026-12-07" and body["Reference"] == "D-3"
    assert sent.headers["xero-tenant-id"] == XERO_TENANT and sent.headers["idempotency-key"]

    payment = PAYMENT.run(ctx, {"invoice": "inv-1", "amount": 121.0, "date": "2026-11-24"})
    assert payment == {"id": "pay-1", "invoice": "inv-1", "amount": 121.0}
    assert state.payments[0]["Account"] == {"Code": "090"} and state.invoices["inv-1"]["AmountDue"] == 0


def test_xero_retry_with_the_same_key_creates_one_invoice(xero: tuple[XeroServer, LocalServer]) -> None:
    state, server = xero
    ctx = make_ctx(xero_creds(server.url), key="run-5:bill:1")
    params = {"customer": "c-ada", "lines": LINES, "due_date": "2026-12-31"}
    first = INVOICE.run(ctx, params)
    again = INVOICE.run(make_ctx(xero_creds(server.url), key="run-5:bill:1"), params)
    assert first == again and len(state.invoices) == 1
    other = INVOICE.run(make_ctx(xero_creds(server.url), key="run-6:bill:1"), params)
    assert other["id"] != first["id"]


def test_xero_invoice_without_account_codes_is_a_draft(xero: tuple[XeroServer, LocalServer]) -> None:
    """Xero refuses to approve an invoice with an uncoded line, so that one is a draft unless asked."""
    state, server = xero
    def uncoded(step: int) -> Any:  # a step of its own each: one step's repeat is one invoice
        return make_ctx(xero_creds(server.url, sales_account=None), key=f"run-1:bill:{step}")

    draft = INVOICE.run(uncoded(1), {"customer": "c-ada", "lines": LINES})
    assert state.invoices[draft["id"]]["Status"] == "DRAFT"
    assert "AccountCode" not in state.invoices[draft["id"]]["LineItems"][0]
    with pytest.raises(PermanentError, match="not of valid status for creation of a payment"):
        PAYMENT.run(uncoded(2), {"invoice": draft["id"], "amount": 1.0})
    coded = INVOICE.run(uncoded(3), {"customer": "c-ada", "due_in": "P14D",
                                     "lines": [{**LINES[0], "account_code": "200"}]})
    assert state.invoices[coded["id"]]["Status"] == "AUTHORISED"
    with pytest.raises(PermanentError, match="Account code '' is not a valid code"):
        INVOICE.run(uncoded(4), {"customer": "c-ada", "lines": LINES, "due_in": "P14D",
                                 "status": "AUTHORISED"})
    forced = INVOICE.run(make_ctx(xero_creds(server.url), key="run-1:bill:5"),
                         {"customer": "c-ada", "lines": LINES, "status": "DRAFT"})
    assert state.invoices[forced["id"]]["Status"] == "DRAFT"


def test_xero_errors(xero: tuple[XeroServer, LocalServer]) -> None:
    _state, server = xero
    ctx = make_ctx(xero_creds(server.url))
    with pytest.raises(PermanentError, match="Due Date is required") as info:
        INVOICE.run(ctx, {"customer": "c-ada", "lines": LINES})
    assert info.value.status == 400
    with pytest.raises(PermanentError, match="Email address must be valid"):
        CONNECTOR.actions["accounting.find_or_create_customer"].run(ctx, {"name": "X", "email": "nope"})
    with pytest.raises(PermanentError, match="exceeds the amount outstanding"):
        invoice = INVOICE.run(ctx, {"customer": "c-ada", "lines": LINES, "due_in": "P1D"})
        PAYMENT.run(ctx, {"invoice": invoice["id"], "amount": 500})
    with pytest.raises(PermanentError, match="no customer with the email"):
        INVOICE.run(ctx, {"customer": "who@example.com", "lines": LINES})
    expired = make_ctx(xero_creds(server.url, access_token="expired-SECRET"))
    with pytest.raises(PermanentError, match="Unauthorized") as denied:
        CUSTOMER.run(expired, {"name": "Ada"})
    assert denied.value.status == 401 and "SECRET" not in str(denied.value)
    busy = make_ctx(xero_creds(server.url, tenant_id="tenant-busy"))
    with pytest.raises(RetryableError) as limited:
        CUSTOMER.run(busy, {"name": "Ada"})
    assert limited.value.retry_after == 42.0 and "rate limit reached (minute limit)" in str(limited.value)
    with pytest.raises(RetryableError, match="503"):
        CUSTOMER.run(make_ctx(xero_creds(server.url, tenant_id="tenant-down")),
                                                    {"name": "Ada"})


def test_xero_nested_validation_errors() -> None:
    nested = {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
              "Elements": [{"LineItems": [{"ValidationErrors": [
                  {"Message": "Account code '999' is not a valid code for this document."}]}],
                  "ValidationErrors": []}]}
    partial = {"Payments": [{"PaymentID": "00000000-0000-0000-0000-000000000000", "HasErrors": True,
                             "ValidationErrors": [{"Message": "Payment amount exceeds the amount outstanding "
                                                               "on this document"}]}]}

    def answer(seen: Seen) -> Reply:
        return Reply(400, nested) if seen.path.endswith("/Invoices") else Reply(200, partial)

    with local_server(answer) as server:
        ctx = make_ctx(xero_creds(server.url))
        with pytest.raises(PermanentError, match="Account code '999'"):
            INVOICE.run(ctx, {"customer": "c-ada", "lines": LINES, "due_in": "P1D"})
        with pytest.raises(PermanentError, match="Xero refused: Payment amount exceeds"):
            PAYMENT.run(ctx, {"invoice": "inv-1", "amount": 5})


def test_quickbooks_customer_invoice_payment(qbo: tuple[QuickBooksServer, LocalServer]) -> None:
    state, server = qbo
    ctx = make_ctx(qbo_creds(server.url))
    found = CUSTOMER.run(ctx, {"name": "Ada", "email": "ada@example.com"})
    assert found == {"id": "58", "name": "Ada Lovelace", "email": "ada@example.com", "created": False}
    query = server.seen[0]
    assert query.path == f"/v3/company/{QBO_REALM}/query" and query.query["minorversion"] == ["75"]
    sql = "select * from Customer where PrimaryEmailAddr = 'ada@example.com' maxresults 1"
    assert query.query["query"] == [sql]
    made = CUSTOMER.run(ctx, {"name": "O'Brien & Co", "email": "ob@example.com"})
    assert made["created"] is True
    assert state.customers[-1]["PrimaryEmailAddr"] == {"Address": "ob@example.com"}
    assert CUSTOMER.run(ctx, {"name": "O'Brien & Co"})["id"] == made["id"]

    invoice = INVOICE.run(ctx, {"customer": "58", "lines": LINES, "currency": "USD",
                                                       "due_date": "2026-12-31", "reference": "D-3"})
    assert invoice == {"id": "130", "number": "D-3", "total": 121.0, "currency": "USD",
                       "due_date": "2026-12-31"}
    sent = next(s for s in server.seen if s.path.endswith("/invoice"))
    assert sent.query["requestid"] and sent.headers["accept"] == "application/json"
    line = sent.json()["Line"][0]
    assert line["SalesItemLineDetail"] == {"ItemRef": {"value": "1"}, "Qty": 2, "UnitPrice": 50.0}
    assert line["Amount"] == 100.0

    payment = PAYMENT.run(ctx, {"invoice": "130", "amount": 21.0})
    assert payment == {"id": "200", "invoice": "130", "amount": 21.0}
    assert state.invoices["130"]["Balance"] == 100.0
    assert state.payments[0]["DepositToAccountRef"] == {"value": "35"}
    assert state.payments[0]["TxnDate"] == "2026-11-23"


def test_quickbooks_errors(qbo: tuple[QuickBooksServer, LocalServer]) -> None:
    state, server = qbo
    ctx = make_ctx(qbo_creds(server.url))
    with pytest.raises(PermanentError, match="Invalid Reference Id"):
        INVOICE.run(ctx, {"customer": "999", "lines": LINES})
    with pytest.raises(PermanentError, match="Object Not Found"):
        PAYMENT.run(ctx, {"invoice": "404", "amount": 1})
    # found by name when the email is unknown
    by_name = CUSTOMER.run(ctx, {"name": "Ada Lovelace", "email": "x@example.com"})
    assert by_name["id"] == "58" and by_name["created"] is False
    # a vendor already uses the name: QuickBooks refuses the customer
    with pytest.raises(PermanentError, match="Duplicate Name Exists") as duplicate:
        CUSTOMER.run(ctx, {"name": "Paper Co"})
    assert duplicate.value.status == 400 and len(state.customers) == 1
    assert "(error 6240)" in str(duplicate.value)
    expired = make_ctx(qbo_creds(server.url, access_token="old-SECRET"))
    with pytest.raises(PermanentError, match="AuthenticationFailed") as denied:
        CUSTOMER.run(expired, {"name": "Ada"})
    assert denied.value.status == 401 and "SECRET" not in str(denied.value)


def test_quickbooks_throttle_outage_and_a_truncated_token_echo() -> None:
    """QuickBooks answers 429 with a ThrottleExceeded fault (often without Retry-After), 503 with an HTML
    page, and 401 with "Token expired: <the token's first characters>..."."""
    token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.SECRET-REST"

    def answer(seen: Seen) -> Reply:
        if seen.path.endswith("/query") and "Busy" in seen.query["query"][0]:
            return Reply(429, {"Fault": {"Error": [{
                "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "Detail": "The request limit was reached.", "code": "3001"}], "type": "SERVICE"},
                "time": "2026-11-23T02:00:00.000-08:00"})
        if seen.path.endswith("/query") and "Down" in seen.query["query"][0]:
            return Reply(503, "<html><body>Service Unavailable</body></html>",
                         {"Content-Type": "text/html", "Retry-After": "120"})
        return Reply(401, {"fault": {"error": [{
            "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
            "detail": f"Token expired: {token[:14]}...", "code": "3200"}], "type": "AUTHENTICATION"},
            "time": 1763892000000})

    with local_server(answer) as server:
        ctx = make_ctx(qbo_creds(server.url, access_token=token))
        with pytest.raises(RetryableError, match=r"ThrottleExceeded.*error 3001") as throttled:
            CUSTOMER.run(ctx, {"name": "Busy"})
        assert throttled.value.status == 429 and throttled.value.retry_after is None
        with pytest.raises(RetryableError, match="503") as down:
            CUSTOMER.run(ctx, {"name": "Down"})
        assert down.value.retry_after == 120.0
        with pytest.raises(PermanentError, match="Token expired") as denied:
            CUSTOMER.run(ctx, {"name": "Ada"})
        assert token[:8] not in str(denied.value) and "***" in str(denied.value)


def test_a_bare_bearer_challenge_is_the_message() -> None:
    """A 401 with no body names the problem in `WWW-Authenticate` (RFC 6750)."""
    def answer(seen: Seen) -> Reply:
        return Reply(401, "", {"WWW-Authenticate": 'Bearer error="invalid_token", '
                                                   'error_description="The access token expired"'})

    with local_server(answer) as server:
        for creds in (xero_creds(server.url), qbo_creds(server.url)):
            with pytest.raises(PermanentError, match="401: The access token expired"):
                CUSTOMER.run(make_ctx(creds), {"name": "Ada"})


@pytest.mark.parametrize("provider", ["xero", "quickbooks"])
def test_a_2xx_without_the_record_is_a_permanent_error(provider: str) -> None:
    """A proxy or an API change answering 200 with something else fails with a reason, not a KeyError."""
    def answer(seen: Seen) -> Reply:
        if seen.method == "GET":  # nobody found: the action goes on to create
            return Reply(200, {"Contacts": []} if provider == "xero" else {"QueryResponse": {}})
        return Reply(200, {"Status": "OK"})

    with local_server(answer) as server:
        creds = xero_creds(server.url) if provider == "xero" else qbo_creds(server.url)
        name = "Xero" if provider == "xero" else "QuickBooks"
        with pytest.raises(PermanentError, match=f"{name} answered without the expected record"):
            CUSTOMER.run(make_ctx(creds), {"name": "Ada", "email": "ada@example.com"})
        with pytest.raises(PermanentError, match="without the expected record"):
            INVOICE.run(make_ctx(creds), {"customer": "c-1", "lines": LINES})


def test_unknown_provider() -> None:
    with pytest.raises(PermanentError, match="known: xero, quickbooks"):
        CONNECTOR.actions["accounting.record_payment"].run(make_ctx({"provider": "sage"}),
                                                           {"invoice": "1", "amount": 1})
