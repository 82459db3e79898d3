"""Bulk enrollment of a segment: start a job (202 with its id), then poll its progress."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.errors import bad_request, not_found
from builder.api.fields import WHOLE
from runtime import enrollment

bp = APIBlueprint("enrollments", __name__, url_prefix="/api", abp_tags=[Tag(name="runs")],
                  abp_security=SECURITY)


class FlowPath(BaseModel):
    key: str = Field(max_length=120)


class EnrollmentIn(BaseModel):
    object: Literal["contact", "deal"] = "contact"
    where: dict[str, Any] | None = Field(
        default=None, description="a condition (DESIGN §3) over contact/deal; none: every record",
        examples=[{"field": "contact.tags", "op": "contains", "value": "vip"}],
    )
    limit: Annotated[int, Field(ge=1, le=1_000_000), WHOLE] | None = Field(
        default=None, description="enroll at most this many")


class EnrollmentPath(BaseModel):
    job_id: str = Field(max_length=40, pattern=r"^[0-9a-f]+$")


class EnrollmentOut(BaseModel):
    id: str
    flow: str
    object: str
    status: Literal["queued", "running", "done", "failed"]
    scanned: int
    matched: int
    enrolled: int
    refused: int = Field(description="matched but refused by the flow's reenroll setting")
    failed: int
    error: str | None = None
    created_at: str
    finished_at: str | None = None


@bp.post("/flows/<key>/enrollments", responses={202: EnrollmentOut},
         summary="Enroll every record matching a condition into the published flow (a background job)")
@requires("editor")
def start_enrollment(path: FlowPath, body: EnrollmentIn) -> Any:
    try:
        return enrollment.start(services(), path.key, body.object, body.where, body.limit), 202
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except enrollment.EnrollmentRefused as exc:
        raise bad_request(str(exc), exc.pointer) from None


@bp.get("/enrollments/<job_id>", responses={200: EnrollmentOut}, summary="Progress of a bulk enrollment")
@requires("viewer")
def get_enrollment(path: EnrollmentPath) -> Any:
    try:
        return enrollment.progress(services(), path.job_id)
    except LookupError as exc:
        raise not_found(str(exc)) from None
