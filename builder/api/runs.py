"""Runs: list with filters and cursor pagination, detail with every step, cancel, retry, bulk retry of
failed runs, and enrolling one subject into a published flow."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.errors import ApiError, not_found
from builder.api.fields import WHOLE, Moment, RecordId
from runtime import operations, runlist
from runtime.errors import SubjectInvalid
from runtime.runlist import BadCursor, RunFilter

bp = APIBlueprint("runs", __name__, url_prefix="/api", abp_tags=[Tag(name="runs")], abp_security=SECURITY)

Status = Literal["running", "waiting", "completed", "exited", "failed", "cancelled"]
MAX_ID = 2**31 - 1


class RunsQuery(BaseModel):
    flow: str | None = Field(default=None, max_length=120)
    version: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: Status | None = None
    subject: str | None = Field(default=None, max_length=60, pattern=r"^(contact|deal):\d+$",
                                description="contact:7 or deal:3")
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    deal_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    since: Moment | None = Field(default=None, description="started at or after (ISO datetime)")
    until: Moment | None = Field(default=None, description="started before (ISO datetime)")
    cursor: str | None = Field(default=None, max_length=400, pattern=r"^[A-Za-z0-9_\-]*$",
                               description="next_cursor of the previous page, as given (opaque)")
    limit: int = Field(default=50, ge=1, le=runlist.MAX_PAGE)


class RunSummary(BaseModel):
    id: str
    flow_key: str
    version: int
    status: str
    cursor: str | None = None
    subject_key: str | None = None
    wake_at: str | None = None
    error: str | None = None
    exit_reason: str | None = None
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None


class RunsOut(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None = None


class StepOut(BaseModel):
    model_config = {"extra": "allow"}
    seq: int
    node: str
    status: str


class RunOut(RunSummary):
    vars: dict[str, Any] | None = None
    trigger: dict[str, Any] | None = None
    subject: dict[str, Any] | None = None
    wait: dict[str, Any] | None = None
    steps: list[StepOut]


class RunPath(BaseModel):
    run_id: str = Field(max_length=40)


class RetryFailedIn(BaseModel):
    flow: str | None = Field(default=None, max_length=120)
    version: RecordId | None = Field(default=None)
    since: Moment | None = None
    until: Moment | None = None
    limit: Annotated[int, Field(ge=1, le=runlist.MAX_BULK), WHOLE] = Field(default=1000)


class RetryFailedOut(BaseModel):
    matched: int
    retried: list[str]
    skipped: list[dict[str, str]]


class FlowPath(BaseModel):
    key: str = Field(max_length=120)


class SubjectIn(BaseModel):
    """Who the run is about: give at least one of contact_id, deal_id or email."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    # absent, not null: a client reading the spec sends only the keys it means
    contact_id: RecordId = Field(default=None)
    deal_id: RecordId = Field(default=None)
    email: str = Field(default=None, min_length=1, max_length=320, description="a contact by e-mail")


class EnrollIn(BaseModel):
    subject: SubjectIn = Field(examples=[{"contact_id": 7}, {"email": "ann@example.com"}, {"deal_id": 3}])
    trigger: dict[str, Any] | None = Field(default=None, description="the run's trigger data")


class EnrollOut(BaseModel):
    enrolled: bool
    run_id: str | None = None


def _filters(query: RunsQuery | RetryFailedIn) -> RunFilter:
    fields = {k: getattr(query, k, None) for k in RunFilter.__dataclass_fields__}
    return RunFilter(**fields)


def _one(action: Any, run_id: str) -> None:
    try:
        action(services(), run_id)
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except operations.RunBusy as exc:
        raise ApiError(409, "busy", str(exc)) from None
    except ValueError as exc:
        raise ApiError(409, "wrong_status", str(exc)) from None


@bp.get("/runs", responses={200: RunsOut}, summary="Runs, newest first, filtered; follow next_cursor")
@requires("viewer")
def list_runs(query: RunsQuery) -> Any:
    try:
        runs, following = runlist.page(services(), _filters(query), cursor=query.cursor, limit=query.limit)
    except BadCursor as exc:
        raise ApiError(422, "invalid_request", str(exc), [("/cursor", str(exc))]) from None
    return {"runs": runs, "next_cursor": following}


@bp.get("/runs/<run_id:run_id>", responses={200: RunOut}, summary="A run with every step")
@requires("viewer")
def get_run(path: RunPath) -> Any:
    try:
        return operations.show_run(services(), path.run_id)
    except LookupError as exc:
        raise not_found(str(exc)) from None


@bp.post("/runs/<run_id>/cancel", responses={200: RunOut}, summary="Cancel a live or failed run")
@requires("editor")
def cancel_run(path: RunPath) -> Any:
    _one(operations.cancel, path.run_id)
    return operations.show_run(services(), path.run_id)


@bp.post("/runs/<run_id>/retry", responses={200: RunOut}, summary="Retry a failed run from its failed step")
@requires("editor")
def retry_run(path: RunPath) -> Any:
    _one(operations.retry, path.run_id)
    return operations.show_run(services(), path.run_id)


@bp.post("/runs/retry-failed", responses={200: RetryFailedOut},
         summary="Retry every failed run that matches (the dead-letter list), from the failed step")
@requires("editor")
def retry_failed(body: RetryFailedIn) -> Any:
    return runlist.retry_failed(services(), _filters(body), limit=body.limit)


@bp.post("/flows/<key>/enroll", responses={201: EnrollOut, 200: EnrollOut},
         summary="Start a run of the published flow for one subject")
@requires("editor")
def enroll(path: FlowPath, body: EnrollIn) -> Any:
    given = body.subject
    pairs = (("contact_id", given.contact_id), ("deal_id", given.deal_id))
    subject = {k: v for k, v in pairs if v is not None}
    known = given.contact_id is None or operations.get_record(services(), "contact", given.contact_id)
    if not known:
        raise not_found(f"there is no contact {given.contact_id}")
    if given.email and "contact_id" not in subject:
        found = operations.get_record(services(), "contact", given.email)
        if found is None:
            raise not_found(f"there is no contact {given.email}")
        subject["contact_id"] = found["id"]
    if not subject:
        message = 'give {"contact_id": N}, {"deal_id": N} or {"email": "..."}'
        raise ApiError(422, "invalid_request", f"/subject: {message}", [("/subject", message)])
    try:
        run_id = operations.enroll(services(), path.key, subject, body.trigger)
    except SubjectInvalid as exc:
        if exc.missing:
            raise not_found(exc.message) from None
        raise ApiError(422, "invalid_request", exc.message, exc.details) from None
    except LookupError as exc:
        raise not_found(str(exc)) from None
    if run_id is None:
        return {"enrolled": False, "run_id": None}
    return {"enrolled": True, "run_id": run_id}, 201
