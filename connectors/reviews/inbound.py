"""Inbound reviews: a Trustpilot service-review webhook or a generic {rating, email, text} payload
becomes a `review.received` event (DESIGN §4) with `data.rating` a number."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


class BadReviewPayload(ValueError):
    """A payload that carries no usable review."""


def _rating(value: Any) -> float | int:
    try:
        rating = float(value)
    except (TypeError, ValueError):
        raise BadReviewPayload(f"rating {value!r} is not a number") from None
    if not 0 <= rating <= 10:
        raise BadReviewPayload(f"rating {value!r} is out of range")
    return int(rating) if rating.is_integer() else rating


def _now() -> str:
    return datetime.now(UTC).isoformat()


def trustpilot_events(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Events of a Trustpilot webhook (`{"events": [{"eventName": "service-review-created", ...}]}`).

    Trustpilot does not send the consumer's email: the subject is the consumer's email if a custom
    integration added it, else the invitation's reference (`{"reference": ...}`, which ingestion
    resolves to the deal or contact it names: `runtime.ingest.resolve_reference`). Other events
    (a review updated or deleted) are skipped."""
    events = []
    for item in payload.get("events") or []:
        if not str(item.get("eventName", "")).startswith("service-review-created"):
            continue
        review = item.get("eventData") or {}
        consumer = review.get("consumer") or {}
        reference = review.get("referenceId") or review.get("referenceNumber")
        email = consumer.get("email") or review.get("consumerEmail")
        subject: dict[str, Any] = ({"contact": {"email": email}} if email
                                   else {"reference": reference} if reference else {})
        data = {"rating": _rating(review.get("stars")), "source": "trustpilot", "review_id": review.get("id"),
                "title": review.get("title"), "text": review.get("text"), "reference": reference,
                "name": consumer.get("name"), "email": email, "language": review.get("language")}
        events.append({
            "id": f"trustpilot:{review.get('id')}",
            "type": "review.received",
            "subject": subject,
            "data": {k: v for k, v in data.items() if v is not None},
            "at": review.get("createdAt") or _now(),
        })
    return events


def generic_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The event of a `{rating, email, text}` payload (optional: name, reference, source, id, at); a
    payload with a `reference` and no email is about the record the reference names."""
    email, reference = payload.get("email"), payload.get("reference")
    if not email and not reference:
        raise BadReviewPayload("a review needs the reviewer's email or a reference")
    data = {"rating": _rating(payload.get("rating")), "text": payload.get("text"), "email": email,
            "name": payload.get("name"), "reference": payload.get("reference"),
            "source": payload.get("source") or "webhook"}
    digest = hashlib.sha256(json.dumps(dict(payload), sort_keys=True, default=str).encode()).hexdigest()[:32]
    return {
        "id": str(payload.get("id") or f"review:{digest}"),
        "type": "review.received",
        "subject": {"contact": {"email": email}} if email else {"reference": reference},
        "data": {k: v for k, v in data.items() if v is not None},
        "at": str(payload.get("at") or _now()),
    }


def _generic_events(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [generic_event(payload)]


# What POST /hooks/reviews/<provider> accepts: each turns a provider's webhook body into events.
PROVIDERS: dict[str, Callable[[Mapping[str, Any]], list[dict[str, Any]]]] = {
    "trustpilot": trustpilot_events,
    "generic": _generic_events,
}
