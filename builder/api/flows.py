"""Flows: list, read, create/update drafts, validate, publish (policy and preview), versions,
export/import, simulate. Views parse and serialise; runtime.flows, runtime.publish and
runtime.simulator do the work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, RootModel, SkipValidation

from builder.api.auth import SECURITY, principal, requires
from builder.api.context import services
from builder.api.errors import ApiError, bad_request, not_found, problems_error
from builder.api.fields import Bool, MomentText
from runtime import flows, publish
from runtime.errors import FlowInvalid
from runtime.flows import DraftRefused

bp = APIBlueprint("flows", __name__, url_prefix="/api", abp_tags=[Tag(name="flows")], abp_security=SECURITY)

MAX_IMPORT = 200


class FlowPath(BaseModel):
    key: str = Field(max_length=120, pattern=r"^[a-z0-9][a-z0-9_\-]*$")


class ProblemOut(BaseModel):
    path: str
    message: str
    severity: Literal["error", "warning"]


class FlowSummary(BaseModel):
    key: str
    name: str = Field(description="the document's name; the key when the draft has none")
    subject: Literal["contact", "deal", "none"] | None = Field(
        default=None, description="null when the draft does not say (or says something invalid)")
    published_version: int | None = None
    triggers: list[str] = Field(default=[], description="the trigger types of the draft")
    created_at: str
    updated_at: str


class FlowsOut(BaseModel):
    flows: list[FlowSummary]


class FlowOut(FlowSummary):
    document: dict[str, Any]
    problems: list[ProblemOut]


class FlowDocument(BaseModel):
    """A flow document (format flowright/v1, DESIGN §2; schemas/flow.schema.json)."""

    model_config = {"extra": "allow"}
    format: str = Field(default="flowright/v1", examples=["flowright/v1"])
    # The pattern is documented here and checked by the view (a 400 pointing at /key, as for an import).
    key: str = Field(max_length=120, examples=["review-request"],
                     json_schema_extra={"pattern": r"^[a-z0-9][a-z0-9_\-]*$"})


class AnyDocument(RootModel[SkipValidation[dict[str, Any] | list[Any] | float | bool]]):
    """Any JSON but null or a bare string (a flow document is an object): validating is how one learns
    what is wrong with a document, so nothing is refused before the validator has listed every problem."""


class SavedOut(BaseModel):
    key: str
    created: bool
    valid: bool
    problems: list[ProblemOut]


class ValidationOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class PublishIn(BaseModel):
    policy: Literal["keep", "migrate", "cancel"] = Field(
        default="keep", description="runs waiting in older versions: keep them, move them, or cancel them"
    )
    preview: Bool = Field(default=False, description="only report what publishing would do")


class MoveOut(BaseModel):
    node: str
    from_version: int
    runs: int
    reason: str
    run_ids: list[str] | None = Field(default=None, description="the runs that stay (at most 100)")


class PreviewOut(BaseModel):
    version: int
    waiting: dict[str, int] = Field(description="node id -> runs of older versions waiting there")
    cannot_move: list[str] = Field(description="nodes whose waiting runs stay on their version")
    blocked: list[MoveOut] = Field(default=[], description="runs that cannot move, and why")
    reenter: list[MoveOut] = Field(
        default=[], description="runs that re-enter a changed delay or wait, counting from when they entered"
    )


class PublishOut(BaseModel):
    key: str
    version: int
    policy: str | None = None
    moved: int | None = None
    reentered: int | None = None
    stayed: int | None = None
    cancelled: int | None = None
    busy: int | None = Field(default=None, description="runs a worker held, left on their version")
    unchanged: bool | None = None
    preview: PreviewOut


class VersionOut(BaseModel):
    version: int
    hash: str
    author: str | None = None
    created_at: str


class VersionsOut(BaseModel):
    versions: list[VersionOut]


class ExportQuery(BaseModel):
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="a published version; default the draft"
    )


class ImportOut(BaseModel):
    imported: list[SavedOut]


class SimulateIn(BaseModel):
    subject: dict[str, Any] = Field(default_factory=dict, examples=[{"contact": {"email": "a@b.c"}}])
    trigger: dict[str, Any] | None = None
    events: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    start: MomentText | None = Field(default=None, description="ISO datetime; default now")
    fail: dict[str, str] = Field(default_factory=dict, description="node id -> message: make it fail")
    document: dict[str, Any] | None = Field(default=None, description="simulate this document, not the draft")


class SimStep(BaseModel):
    node: str
    at: str
    port: str | None = None
    output: Any = None


class SimulateOut(BaseModel):
    status: str
    path: list[str]
    steps: list[SimStep]
    effects: list[dict[str, Any]]


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "bad_json", "the body must be JSON")
    return body


def _saved(key: str, problems: list[Any], created: bool) -> dict[str, Any]:
    return {"key": key, "created": created, "valid": not any(p.is_error for p in problems),
            "problems": flows.problems_dicts(problems)}


def _flow(key: str) -> dict[str, Any]:
    try:
        return flows.get_flow(services(), key)
    except LookupError as exc:
        raise not_found(str(exc)) from None


def _save(document: Any, key: str | None = None) -> dict[str, Any]:
    try:
        return _saved(*flows.save_draft(services(), document, key))
    except DraftRefused as exc:
        raise bad_request(str(exc), exc.pointer) from None


@bp.get("/flows", responses={200: FlowsOut}, summary="Every flow")
@requires("viewer")
def list_flows() -> Any:
    return {"flows": flows.list_flows(services())}


@bp.post("/flows", responses={201: SavedOut, 200: SavedOut},
         summary="Create (or replace) a draft; a draft with problems is kept and the problems returned")
@requires("editor")
def create_flow(body: FlowDocument) -> Any:
    saved = _save(_json_body())
    return saved, 201 if saved["created"] else 200


@bp.get("/flows/<flow_key:key>", responses={200: FlowOut},
        summary="A flow: its draft document and its problems")
@requires("viewer")
def get_flow(path: FlowPath) -> Any:
    return _flow(path.key)


@bp.put("/flows/<flow_key:key>", responses={200: SavedOut, 201: SavedOut}, summary="Save the draft of a flow")
@requires("editor")
def put_flow(path: FlowPath, body: FlowDocument) -> Any:
    saved = _save(_json_body(), path.key)
    return saved, 201 if saved["created"] else 200


@bp.delete("/flows/<flow_key:key>", responses={204: None}, summary="Delete a flow that was never published")
@requires("editor")
def delete_flow(path: FlowPath) -> Any:
    try:
        flows.delete_flow(services(), path.key)
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except DraftRefused as exc:
        raise ApiError(409, "published", str(exc)) from None
    return "", 204


@bp.post("/flows/validate", responses={200: ValidationOut},
         summary="Validate a document without saving it (every problem with its JSON pointer)")
@requires("viewer")
def validate_document(body: AnyDocument) -> Any:
    problems = flows.validate(services(), _json_body())
    return {"valid": not any(p.is_error for p in problems), "problems": flows.problems_dicts(problems)}


@bp.post("/flows/<key>/validate", responses={200: ValidationOut}, summary="Validate the stored draft")
@requires("viewer")
def validate_flow(path: FlowPath) -> Any:
    problems = _flow(path.key)["problems"]
    return {"valid": not any(p["severity"] == "error" for p in problems), "problems": problems}


@bp.post("/flows/<key>/publish", responses={200: PublishOut},
         summary="Publish the draft as a new version; `preview: true` only counts the waiting runs")
@requires("editor")
def publish_flow(path: FlowPath, body: PublishIn) -> Any:
    try:
        if body.preview:
            report = publish.preview(services(), path.key)
            return {"key": path.key, "version": report.version, "preview": report.to_dict()}
        return publish.publish(services(), path.key, policy=body.policy, author=principal().name)
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except FlowInvalid as exc:
        raise problems_error([p for p in exc.problems if p.is_error],
                             "the draft has problems; fix them before publishing") from None


@bp.get("/flows/<key>/versions", responses={200: VersionsOut}, summary="Published versions, oldest first")
@requires("viewer")
def list_versions(path: FlowPath) -> Any:
    _flow(path.key)
    return {"versions": publish.versions(services(), path.key)}


@bp.get("/flows/<key>/export", responses={200: FlowDocument},
        summary="The draft document, or a published version's")
@requires("viewer")
def export_flow(path: FlowPath, query: ExportQuery) -> Any:
    try:
        return publish.export(services(), path.key, query.version)
    except LookupError as exc:
        raise not_found(str(exc)) from None


class ImportBundle(BaseModel):
    """A template bundle's resolved flows."""

    model_config = {"extra": "allow"}
    flows: list[FlowDocument] = Field(min_length=1, max_length=MAX_IMPORT)


ImportList = Annotated[list[FlowDocument], Field(min_length=1, max_length=MAX_IMPORT)]


class ImportIn(RootModel[SkipValidation[FlowDocument | ImportList | ImportBundle]]):
    """One flow document, a list of them, or a bundle's `{"flows": [...]}`; checked by the view (not
    here) so each refusal gets its index."""


@bp.post("/flows/import", responses={200: ImportOut},
         summary="Import documents as drafts: one document, a list, or a template bundle's resolved flows")
@requires("editor")
def import_flows(body: ImportIn) -> Any:
    documents = flows.documents_of(_json_body())
    if not documents or len(documents) > MAX_IMPORT:
        raise bad_request(f"import 1 to {MAX_IMPORT} flows at a time")
    keys = []
    for index, document in enumerate(documents):
        try:
            keys.append(flows.check_key(document))
        except DraftRefused as exc:
            raise bad_request(str(exc), f"/{index}{exc.pointer}") from None
    return {"imported": [_save(d) for d in documents]}


@bp.post("/flows/<key>/simulate", responses={200: SimulateOut},
         summary="Run the draft (or `document`) on a virtual clock; same output as flowright simulate --json")
@requires("viewer")
def simulate_flow(path: FlowPath, body: SimulateIn) -> Any:
    from runtime.simulator import simulate

    document = body.document
    if document is None:
        document = _flow(path.key)["document"]
    try:
        result = simulate(
            document, body.subject, trigger=body.trigger, events=body.events, start=body.start,
            fail=body.fail, registry=services().registry,
        )
    except FlowInvalid as exc:
        raise problems_error([p for p in exc.problems if p.is_error]) from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise bad_request(f"cannot simulate: {exc}") from None
    return result.to_json()
