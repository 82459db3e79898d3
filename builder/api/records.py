"""Contacts, deals and tasks: list, search by a flow condition, get, create, change, delete.

Custom fields sit flat beside the standard ones, in requests and answers alike. Search uses the
condition language of flows (`{"all"|"any"|"not"}` and `{"field", "op", "value"}` leaves) over
`contact.*`, `deal.*` (and the deal's `contact.*`) or `task.*` fields, with cursor pagination.
"""

# No `from __future__ import annotations`: flask-openapi3 reads the models from the views' annotations.

from collections.abc import Callable
from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.fields import WHOLE, YEAR_PATTERN, Bool, Number, RecordId
from builder.api.query_errors import translated
from runtime.queries import records, timeline
from runtime.queries.fields import CUSTOM_NAME

bp = APIBlueprint(
    "records",
    __name__,
    url_prefix="/api",
    abp_tags=[Tag(name="records", description="contacts, deals and tasks")],
    abp_security=SECURITY,
)

ID = Field(ge=1, le=2**31 - 1)
Tag = Annotated[str, Field(min_length=1, max_length=120)]
WHEN: dict[str, JsonValue] = {"format": "date-time", "pattern": YEAR_PATTERN}


class _Fields(BaseModel):
    # any other key is a custom field, named as runtime.queries.fields.CUSTOM_NAME says
    model_config = ConfigDict(
        extra="allow", json_schema_extra={"propertyNames": {"pattern": CUSTOM_NAME.pattern}}
    )


class ContactIn(_Fields):
    """A contact's fields; any other key is a custom field (a letter or _, then letters, digits, _)."""

    email: str | None = Field(default=None, max_length=320, examples=["ana@example.com"],
                              json_schema_extra={"pattern": r"^\s*[^@\s]+@[^@\s]+\s*$"})
    phone: str | None = Field(default=None, max_length=40, examples=["+37060000000"])
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    owner: RecordId | None = Field(default=None, description="a user's id")
    tags: list[Tag] = Field(default_factory=list, max_length=500)
    status: str | None = Field(default=None, max_length=60)
    score: Number = Field(default=0, ge=-1e15, le=1e15)
    subscribed: Bool = True
    bounced: Bool = False
    timezone: str | None = Field(default=None, max_length=60, examples=["Europe/Vilnius"])
    last_contact_at: str | None = Field(default=None, max_length=40, json_schema_extra=WHEN)


class ContactOut(ContactIn):
    id: int
    created_at: str = Field(json_schema_extra=WHEN)
    updated_at: str = Field(json_schema_extra=WHEN)


class DealIn(_Fields):
    """A deal's fields; any other key is a custom field. A stage must be one of its pipeline's."""

    contact_id: RecordId | None = Field(default=None)
    name: str | None = Field(default=None, max_length=200)
    pipeline: str | None = Field(default=None, max_length=120, examples=["sales"])
    stage: str | None = Field(default=None, max_length=120, examples=["proposal"])
    value: Number | None = Field(default=None, ge=-1e15, le=1e15)
    currency: str | None = Field(default=None, max_length=3, json_schema_extra={"pattern": r"^[A-Za-z]{3}$"},
                                 examples=["EUR"])
    owner: RecordId | None = Field(default=None)
    tags: list[Tag] = Field(default_factory=list, max_length=500)
    score: Number = Field(default=0, ge=-1e15, le=1e15)


class DealOut(DealIn):
    id: int
    stage_entered_at: str | None = Field(default=None, json_schema_extra=WHEN)
    created_at: str = Field(json_schema_extra=WHEN)
    updated_at: str = Field(json_schema_extra=WHEN)


class TaskIn(BaseModel):
    """Changes to a task; `done: true` completes it (task.completed), `done: false` reopens it."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(default=None, min_length=1, max_length=500, description="may be changed, not cleared")
    notes: str | None = Field(default=None, max_length=2000)
    due_at: str | None = Field(default=None, max_length=40, json_schema_extra=WHEN)
    assignee: RecordId | None = Field(default=None, description="a user's id")
    contact_id: RecordId | None = Field(default=None)
    deal_id: RecordId | None = Field(default=None)
    done: Bool = False


class TaskCreate(TaskIn):
    """A new task: a title is needed."""

    title: str = Field(min_length=1, max_length=500)


class TaskOut(TaskIn):
    id: int
    title: str
    created_at: str = Field(json_schema_extra=WHEN)
    completed_at: str | None = Field(default=None, json_schema_extra=WHEN)


CURSOR = Field(default=None, max_length=500, pattern=r"^[A-Za-z0-9_\-]*$",
               description="next_cursor of the previous page, as given (opaque); omit it for the first page")


class ListQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = CURSOR


class SearchIn(BaseModel):
    """`where` is a flow condition, e.g. {"field": "contact.last_contact_at", "op": "older_than",
    "value": "P30D"}; omit it for every record. Follow `next_cursor` until it is null (a page may hold
    fewer than `limit` items: a search examines at most 5,000 records per request)."""

    where: dict[str, Any] | None = Field(
        default=None,
        examples=[{"all": [{"field": "contact.status", "op": "eq", "value": "lead"}]}],
    )
    limit: Annotated[int, Field(ge=1, le=200), WHOLE] = Field(default=50)
    cursor: str | None = CURSOR


class ContactPath(BaseModel):
    contact: str = Field(min_length=1, max_length=320, description="an id, an e-mail or a phone number")


class IdPath(BaseModel):
    record_id: int = ID


class Deleted(BaseModel):
    deleted: bool = True


class ActivityOut(BaseModel):
    """One entry of a timeline: an event about the record (its type and data) or a note."""

    id: int
    type: str = Field(examples=["email.opened"])
    data: dict[str, Any]
    contact_id: int | None = None
    deal_id: int | None = None
    event_id: str | None = None
    at: str = Field(json_schema_extra=WHEN)


class TimelinePage(BaseModel):
    """Newest first; next_cursor is null on the last page."""

    items: list[ActivityOut]
    next_cursor: str | None = None


def _page(out: type[BaseModel]) -> type[BaseModel]:
    return type(
        f"{out.__name__.removesuffix('Out')}Page",
        (BaseModel,),
        {
            "__annotations__": {"items": list[out], "next_cursor": str | None},  # type: ignore[valid-type]
            "next_cursor": None,
            "__doc__": "One page; next_cursor is null on the last one.",
        },
    )


def _route(
    method: str, rule: str, role: str, summary: str, view: Callable[..., Any], **annotations: Any
) -> None:
    view.__annotations__ = {**annotations, "return": Any}
    decorate = getattr(bp, method)
    status = 201 if view.__name__.startswith("create_") else 200
    decorate(rule, summary=summary, responses={status: annotations.pop("out")})(
        translated(requires(role)(view))
    )


def _crud(
    kind: str, plural: str, fields_in: type[BaseModel], out: type[BaseModel], path: type[BaseModel],
    create_in: type[BaseModel] | None = None,
) -> None:
    page = _page(out)
    key = next(iter(path.model_fields))

    def list_(query: ListQuery) -> Any:
        return records.search(services(), kind, None, limit=query.limit, cursor=query.cursor).to_dict()

    def search(body: SearchIn) -> Any:
        return records.search(services(), kind, body.where, limit=body.limit, cursor=body.cursor).to_dict()

    def get(path: BaseModel) -> Any:
        return records.get(services(), kind, getattr(path, key))

    def create(body: BaseModel) -> Any:
        return records.create(services(), kind, body.model_dump(exclude_unset=True)), 201

    def change(path: BaseModel, body: BaseModel) -> Any:
        return records.update(services(), kind, getattr(path, key), body.model_dump(exclude_unset=True))

    def delete(path: BaseModel) -> Any:
        records.delete(services(), kind, getattr(path, key))
        return {"deleted": True}

    for view, name in (  # the names are the operationIds of the OpenAPI document
        (list_, f"list_{plural}"),
        (search, f"search_{plural}"),
        (get, f"get_{kind}"),
        (create, f"create_{kind}"),
        (change, f"update_{kind}"),
        (delete, f"delete_{kind}"),
    ):
        view.__name__ = view.__qualname__ = name
    one = f"/{plural}/<{'int' if key == 'record_id' else 'contact_key'}:{key}>"
    _route("get", f"/{plural}", "viewer", f"List {plural} by id", list_, query=ListQuery, out=page)
    _route(
        "post",
        f"/{plural}/search",
        "viewer",
        f"Search {plural} by a condition",
        search,
        body=SearchIn,
        out=page,
    )
    _route("get", one, "viewer", f"One {kind}", get, path=path, out=out)
    _route(
        "post",
        f"/{plural}",
        "editor",
        f"Create a {kind} (emits {kind}.created)",
        create,
        body=create_in or fields_in,
        out=out,
    )
    _route(
        "patch", one, "editor", f"Change some fields of a {kind}", change, path=path, body=fields_in, out=out
    )
    _route("delete", one, "editor", f"Delete a {kind} (emits {kind}.deleted)", delete, path=path, out=Deleted)
    if kind in timeline.COLUMNS:

        def history(path: BaseModel, query: ListQuery) -> Any:
            found = timeline.timeline(
                services(), kind, getattr(path, key), limit=query.limit, cursor=query.cursor
            )
            return found.to_dict()

        history.__name__ = history.__qualname__ = f"{kind}_timeline"
        summary = f"A {kind}'s timeline: every event about it, newest first"
        _route(
            "get", f"{one}/timeline", "viewer", summary, history, path=path, query=ListQuery, out=TimelinePage
        )


class DealPath(IdPath):
    pass


class TaskPath(IdPath):
    pass


_crud("contact", "contacts", ContactIn, ContactOut, ContactPath)
_crud("deal", "deals", DealIn, DealOut, DealPath)
_crud("task", "tasks", TaskIn, TaskOut, TaskPath, TaskCreate)
