"""Inbound review webhooks (`POST /hooks/reviews/<provider>`): a review site's delivery becomes
`review.received` events through the same ingestion as `POST /api/events`.

The provider adapters live in `connectors.reviews.inbound`; a Trustpilot review carries no e-mail, so
its subject is the invitation's reference, resolved by `runtime.ingest.resolve_reference`.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.reviews.inbound import PROVIDERS, BadReviewPayload
from runtime import operations
from runtime.hooks import HookRefused
from runtime.ingest import Accepted
from runtime.services import Services


def receive(services: Services, provider: str, body: bytes) -> list[Accepted]:
    """Ingest the reviews of one delivery (none for a review updated or deleted); a repeated delivery
    starts nothing, as event ids come from the provider's review id."""
    adapter = PROVIDERS.get(provider)
    if adapter is None:
        known = ", ".join(sorted(PROVIDERS))
        raise HookRefused(404, "not_found", f"there is no review provider {provider!r}; known: {known}")
    try:
        payload: Any = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise HookRefused(400, "bad_json", "the body must be JSON (and not nested too deeply)") from None
    if not isinstance(payload, dict):
        raise HookRefused(400, "bad_json", "the body must be a JSON object")
    try:
        events = adapter(payload)
    except (BadReviewPayload, AttributeError, TypeError) as exc:  # a field of the wrong shape
        message = str(exc) if isinstance(exc, BadReviewPayload) else "the payload is not a review webhook"
        raise HookRefused(422, "invalid_review", message) from None
    if not events:
        return []
    try:
        return operations.post_events(services, events)
    except ValueError as exc:  # EventInvalid
        raise HookRefused(422, "invalid_event", str(exc)) from None
