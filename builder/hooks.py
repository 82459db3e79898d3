"""The `hooks` blueprint: `POST /hooks/<token>`, a flow's secret webhook URL (runtime.hooks does the
work). Public: the token in the URL (and the signature, when the hook is signed) is the credential.
`POST /hooks/reviews/<provider>` takes review sites' webhooks (runtime.review_hooks) with an ingest key."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, RootModel, SkipValidation

from builder.api import auth
from builder.api.context import services
from builder.api.errors import ApiError
from runtime import access, hooks, review_hooks

bp = APIBlueprint("hooks", __name__, abp_tags=[Tag(name="hooks", description="webhook triggers (public)")])


class HookPath(BaseModel):
    token: str = Field(max_length=200)


class HookHeaders(BaseModel):
    model_config = {"populate_by_name": True}
    x_flowright_timestamp: str | None = Field(
        default=None, alias="X-Flowright-Timestamp", max_length=20, description="Unix seconds (signed hooks)"
    )
    x_flowright_signature: str | None = Field(
        default=None, alias="X-Flowright-Signature", max_length=100,
        description='sha256=<hex HMAC-SHA256 of "<timestamp>." + raw body> (signed hooks)',
    )
    x_flowright_delivery: str | None = Field(
        default=None, alias="X-Flowright-Delivery", max_length=80,
        description="a delivery id: a repeat starts nothing",
    )


class HookBody(RootModel[SkipValidation[dict[str, Any] | list[Any] | float | bool | None]]):
    """Any JSON but a bare string: it becomes the run's trigger data (a non-object arrives as
    `{"body": ...}`). The subject is its `subject` (as an event's: `{"contact": {...}}`, `{"contact_id": N}`
    or `{"deal_id": N}`), else a contact found or made by its top-level `email` or `phone`."""

    model_config = {"json_schema_extra": {"examples": [
        {"email": "ann@example.com", "company": "Acme"}, {"subject": {"contact_id": 7}, "plan": "pro"},
    ]}}


class HookAccepted(BaseModel):
    id: str
    new: bool


@bp.post("/hooks/<token>", responses={202: HookAccepted},
         summary="Start a flow through its webhook trigger; the JSON body is the run's trigger data")
def receive_hook(path: HookPath, header: HookHeaders, body: HookBody) -> Any:
    try:
        headers = {name: request.headers.get(name, "") for name in hooks.HEADERS}
        accepted = hooks.receive(services(), path.token, headers, request.get_data(cache=False))
    except hooks.HookRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.details) from None
    return accepted, 202


class ReviewPath(BaseModel):
    provider: str = Field(max_length=40, description="trustpilot, or generic ({rating, email, text})")


class ReviewQuery(BaseModel):
    key: str | None = Field(default=None, max_length=200,
                            description="the ingest key, for senders that cannot set a header (Trustpilot)")


class ReviewBody(RootModel[SkipValidation[dict[str, Any]]]):
    """The provider's own webhook body: Trustpilot's `{"events": [...]}`, or `{rating, email, text}` (also
    name, reference, source, id, at) for `generic`."""


class ReviewAccepted(BaseModel):
    id: str
    type: str
    new: bool


class ReviewsAccepted(BaseModel):
    events: list[ReviewAccepted]


def _ingest_key(key: str | None) -> None:
    """An ingest key (`flowright tokens create --ingest`) as a Bearer token or the `key` query parameter:
    a review site posts events and nothing else, so no other kind of token is taken here."""
    secret = auth.bearer() or key
    found = access.verify_token(services(), secret) if secret else None
    if found is None or found.kind != "ingest":
        raise ApiError(401, "unauthorized", "send an ingest key as Authorization: Bearer or ?key=")


@bp.post("/hooks/reviews/<provider>", responses={202: ReviewsAccepted}, security=[{"ingestKey": []}],
         summary="Ingest a review site's webhook as review.received events (an ingest key is needed)")
def receive_reviews(path: ReviewPath, query: ReviewQuery, body: ReviewBody) -> Any:
    _ingest_key(query.key)
    try:
        accepted = review_hooks.receive(services(), path.provider, request.get_data(cache=False))
    except hooks.HookRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return {"events": [{"id": a.id, "type": a.type, "new": a.new} for a in accepted]}, 202
