"""accounting.* actions."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError


def run_find_or_create_customer(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("not implemented yet")


def run_create_invoice(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("not implemented yet")


def run_record_payment(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("not implemented yet")
