"""accounting.* actions: the provider (Xero or QuickBooks) comes from the credential, by table."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any, Protocol

import isodate

from connectors.accounting.quickbooks import QuickBooks
from connectors.accounting.xero import Xero
from connectors.base import ActionContext, PermanentError


class Provider(Protocol):
    def find_customer(self, *, email: str | None = None,
                      name: str | None = None) -> dict[str, Any] | None: ...
    def create_customer(self, name: str, email: str | None, key: str) -> dict[str, Any]: ...
    def create_invoice(self, customer_id: str, invoice: dict[str, Any], key: str) -> dict[str, Any]: ...
    def record_payment(self, payment: dict[str, Any], key: str) -> dict[str, Any]: ...


PROVIDERS: dict[str, Callable[[ActionContext], Provider]] = {"xero": Xero, "quickbooks": QuickBooks}
TITLES = {"xero": "Xero", "quickbooks": "QuickBooks"}


def provider(ctx: ActionContext) -> Provider:
    name = ctx.credentials.get("provider")
    if name not in PROVIDERS:
        raise PermanentError(f"unknown accounting provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[str(name)](ctx)


@contextmanager
def answer_shape(ctx: ActionContext) -> Iterator[None]:
    """A 2xx without the record we asked for (a proxy, an API change) fails the step with a reason
    instead of a KeyError from deep inside the provider class."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        name = TITLES.get(str(ctx.credentials.get("provider")), "the accounting provider")
        raise PermanentError(f"{name} answered without the expected record "
                             f"({type(exc).__name__}: {exc})") from None


def request_key(ctx: ActionContext, purpose: str) -> str:
    """An idempotency key for one write of this step: stable across retries, short enough for both
    providers (QuickBooks' requestid is limited in length)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowright:{ctx.idempotency_key}:{purpose}"))


def _today(ctx: ActionContext) -> str:
    return ctx.clock().astimezone(UTC).date().isoformat()


def run_find_or_create_customer(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    with answer_shape(ctx):
        return _find_or_create_customer(ctx, params)


def _find_or_create_customer(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    books = provider(ctx)
    email = params.get("email") or None
    found = books.find_customer(email=email) if email else None
    found = found or books.find_customer(name=params["name"])
    if found:
        return {**found, "created": False}
    created = books.create_customer(params["name"], email, request_key(ctx, "customer"))
    return {**created, "created": True}


def _customer_id(books: Provider, customer: str) -> str:
    if "@" not in customer:
        return customer
    found = books.find_customer(email=customer)
    if not found:
        raise PermanentError(f"no customer with the email {customer}")
    return str(found["id"])


def _due_date(ctx: ActionContext, params: dict[str, Any], invoice_date: str) -> str | None:
    if params.get("due_date"):
        return str(params["due_date"])
    if not params.get("due_in"):
        return None
    try:
        duration = isodate.parse_duration(str(params["due_in"]))
    except (isodate.ISO8601Error, ValueError):
        raise PermanentError(f"not an ISO-8601 duration: {params['due_in']!r}") from None
    return str((isodate.parse_date(invoice_date) + duration).isoformat())


def run_create_invoice(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    books = provider(ctx)
    invoice_date = str(params.get("date") or _today(ctx))
    invoice = {**params, "date": invoice_date, "due_date": _due_date(ctx, params, invoice_date)}
    with answer_shape(ctx):
        customer_id = _customer_id(books, str(params["customer"]))
        return books.create_invoice(customer_id, invoice, request_key(ctx, "invoice"))


def run_record_payment(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    payment = {**params, "date": str(params.get("date") or _today(ctx))}
    books = provider(ctx)
    with answer_shape(ctx):
        return books.record_payment(payment, request_key(ctx, "payment"))
