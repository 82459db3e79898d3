"""`POST /api/events`: one event or a batch, with an ingest key or an editor's token/session."""

from __future__ import annotations

from typing import Annotated, Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, RootModel, SkipValidation

from builder.api import auth
from builder.api.context import services
from builder.api.errors import ApiError
from builder.api.fields import MomentText, RecordId
from runtime import operations
from runtime.errors import EventsInvalid
from runtime.ingest import TYPE_RE

MAX_EVENTS = 1000

bp = APIBlueprint("events", __name__, url_prefix="/api", abp_tags=[Tag(name="events")],
                  abp_security=[{"ingestKey": []}, *auth.SECURITY])


class SubjectRef(BaseModel):
    """Who the event is about: a contact by its fields (upserted by email or phone, checked as POST
    /api/contacts checks them), an existing contact, or a deal (and its contact)."""

    model_config = ConfigDict(extra="forbid")
    contact: dict[str, Any] = Field(
        default=None, description="contact fields, with an email or a phone (or an id)",
        examples=[{"email": "ann@example.com", "first_name": "Ann"}],
    )
    contact_id: RecordId = Field(default=None)
    deal_id: RecordId = Field(default=None)


class EventIn(BaseModel):
    """An event (DESIGN §4); post one, or a list of up to 1000."""

    id: Annotated[str, Field(min_length=1, max_length=120)] | int | None = Field(
        default=None, description="makes ingestion idempotent (a number is read as its digits)")
    type: str = Field(max_length=200, pattern=TYPE_RE.pattern, examples=["deal.stage_changed"],
                      description="namespace.name: lower-case letters, digits and _ (and - after the dot)")
    subject: SubjectRef | None = None
    data: dict[str, Any] | None = None
    at: MomentText | None = Field(default=None, description="ISO datetime; default now")


EventBatch = Annotated[list[EventIn], Field(min_length=1, max_length=MAX_EVENTS)]


class EventsBody(RootModel[SkipValidation[EventIn | EventBatch]]):
    """One event or a list of 1 to 1000; checked by the view (not here) so each problem gets its index."""


class AcceptedOut(BaseModel):
    id: str
    type: str
    new: bool


class EventsOut(BaseModel):
    events: list[AcceptedOut]


def _ingest_allowed() -> None:
    who = auth.principal()
    if who.via != "ingest" and not who.allows("editor"):
        raise ApiError(403, "forbidden", "posting events needs an ingest key or the editor role")


@bp.post("/events", responses={202: EventsOut},
         summary="Ingest one event or a batch; a repeated id starts nothing (new: false)")
def post_events(body: EventsBody) -> Any:
    _ingest_allowed()
    return _post(request.get_json(silent=True))  # the raw JSON: EventsBody only documents it


def _post(body: Any) -> Any:
    if body is None:
        raise ApiError(400, "bad_json", "the body must be a JSON event or a list of events")
    events = body if isinstance(body, list) else [body]
    if not events or len(events) > MAX_EVENTS:
        raise ApiError(400, "bad_batch", f"post 1 to {MAX_EVENTS} events at a time")
    try:
        accepted = operations.post_events(services(), events)
    except EventsInvalid as exc:  # every refused event, each problem under its index in a batch
        batch = isinstance(body, list)
        first = exc.message if batch else exc.problems[0][1].message
        raise ApiError(422, "invalid_event", f"{len(exc.problems)} event(s) are not valid: {first}",
                       exc.pointers(indexed=batch)) from None
    return {"events": [{"id": a.id, "type": a.type, "new": a.new} for a in accepted]}, 202
