"""Records through the query layer: CRUD that emits events, and search in the flow condition language
with cursor pagination, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.durations import iso
from runtime.models import Event
from runtime.queries import directory, paging, records
from runtime.queries.errors import Conflict, Invalid, NotFound
from runtime.services import Services


def event_types(services: Services) -> list[str]:
    with Session(services.engine) as session:
        return sorted(e.type for e in session.execute(select(Event)).scalars())


def all_pages(services: Services, kind: str, where: Any = None, limit: int = 2) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = records.search(services, kind, where, limit=limit, cursor=cursor)
        pages.append([item["id"] for item in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_contact_crud_emits_events_and_keeps_custom_fields_flat(services: Services) -> None:
    made = records.create(
        services, "contact", {"email": "Ana@Example.com", "first_name": "Ana", "plan": "pro"}
    )
    assert made["email"] == "ana@example.com" and made["plan"] == "pro"
    assert records.get(services, "contact", "ana@example.com")["id"] == made["id"]
    changed = records.update(services, "contact", made["id"], {"score": 12, "plan": "team"})
    assert (changed["score"], changed["plan"]) == (12, "team")
    records.delete(services, "contact", made["id"])
    with pytest.raises(NotFound):
        records.get(services, "contact", made["id"])
    assert event_types(services) == ["contact.created", "contact.deleted", "contact.updated"]


def test_bad_fields_are_named_by_pointer(services: Services) -> None:
    with pytest.raises(Invalid) as caught:
        records.create(
            services, "contact", {"email": "not-an-address", "score": "high", "subscribed": None, "9x": 1}
        )
    paths = sorted(d["path"] for d in caught.value.details)
    assert paths == ["/9x", "/email", "/score", "/subscribed"]
    with pytest.raises(Invalid) as caught:
        records.create(services, "deal", {"owner": 999})
    assert caught.value.details == [{"path": "/owner", "message": "there is no user 999"}]


def test_taken_email_is_a_conflict(services: Services) -> None:
    first = records.create(services, "contact", {"email": "a@example.com"})
    records.create(services, "contact", {"email": "b@example.com"})
    with pytest.raises(Conflict) as caught:
        records.update(services, "contact", first["id"], {"email": "B@example.com"})
    assert caught.value.details[0]["path"] == "/email"


def test_deal_stage_checked_against_its_pipeline(services: Services) -> None:
    directory.put_pipeline(services, "sales", {"stages": ["new", "won", "lost"]})
    deal = records.create(
        services, "deal", {"name": "Big", "pipeline": "sales", "stage": "new", "value": 900}
    )
    with pytest.raises(Invalid) as caught:
        records.update(services, "deal", deal["id"], {"stage": "delivered"})
    assert caught.value.details[0]["path"] == "/stage" and "new, won, lost" in caught.value.message
    moved = records.update(services, "deal", deal["id"], {"stage": "won"})
    assert moved["stage"] == "won"
    directory.put_pipeline(services, "renewals", {"stages": ["due", "renewed"]})
    with pytest.raises(Invalid) as caught:
        records.update(services, "deal", deal["id"], {"pipeline": "renewals"})
    assert caught.value.details[0]["path"] == "/stage"
    assert (
        records.update(services, "deal", deal["id"], {"pipeline": "renewals", "stage": "due"})["stage"]
        == "due"
    )
    assert event_types(services).count("deal.stage_changed") == 3


def test_search_older_than_with_run_clock(services: Services, clock: Any) -> None:
    now = clock()
    for i, days in enumerate([3, 45, 90, None]):
        fields: dict[str, Any] = {"email": f"c{i}@example.com"}
        if days is not None:
            fields["last_contact_at"] = iso(now - timedelta(days=days))
        records.create(services, "contact", fields)
    where = {"field": "contact.last_contact_at", "op": "older_than", "value": "P30D"}
    page = records.search(services, "contact", where)
    assert [c["email"] for c in page.items] == ["c1@example.com", "c2@example.com"]
    assert page.next_cursor is None


def test_search_pages_with_cursor_and_pushdown(services: Services) -> None:
    for i in range(7):
        records.create(
            services, "contact", {"email": f"p{i}@example.com", "status": "Lead" if i % 2 else "customer"}
        )
    leads = {"all": [{"field": "contact.status", "op": "eq", "value": "lead"}]}
    pages = all_pages(services, "contact", leads, limit=2)
    assert [len(p) for p in pages] == [2, 1]
    everyone = all_pages(services, "contact", None, limit=3)
    assert [len(p) for p in everyone] == [3, 3, 1]
    ids = [i for page in everyone for i in page]
    assert ids == sorted(ids) and len(set(ids)) == 7


def test_search_combinators_custom_fields_and_deal_contact(services: Services) -> None:
    ana = records.create(
        services, "contact", {"email": "ana@example.com", "tags": ["vip"], "city": "Vilnius"}
    )
    bob = records.create(services, "contact", {"email": "bob@example.com", "tags": [], "city": "Kaunas"})
    records.create(services, "deal", {"contact_id": ana["id"], "value": 500})
    records.create(services, "deal", {"contact_id": bob["id"], "value": 5000})
    where = {
        "any": [
            {"field": "contact.tags", "op": "contains", "value": "VIP"},
            {"not": {"field": "contact.city", "op": "in", "value": ["Kaunas", "Riga"]}},
        ]
    }
    assert [c["id"] for c in records.search(services, "contact", where).items] == [ana["id"]]
    big = {
        "all": [
            {"field": "deal.value", "op": "gte", "value": 1000},
            {"field": "contact.email", "op": "ends_with", "value": "@example.com"},
        ]
    }
    assert [d["contact_id"] for d in records.search(services, "deal", big).items] == [bob["id"]]


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ({"field": "contact.email", "op": "looks_like", "value": 1}, "/where/op"),
        ({"all": [{"field": "deal.value", "op": "eq", "value": 1}]}, "/where/all/0/field"),
        ({"any": [{"field": "contact.x", "op": "older_than", "value": "thirty days"}]}, "/where/any/0/value"),
        ({"not": {"field": "contact.email", "op": "matches", "value": "(["}}, "/where/not/value"),
        ({"all": {"field": "contact.email", "op": "exists"}}, "/where/all"),
        ({"field": "contact.email", "op": "in", "value": "a"}, "/where/value"),
        ([1, 2], "/where"),
        ({"field": "contact.last_contact_at", "op": "older_than", "value": "P9999Y"}, "/where/value"),
    ],
)
def test_bad_conditions_name_the_pointer(services: Services, where: Any, path: str) -> None:
    with pytest.raises(Invalid) as caught:
        records.search(services, "contact", where)
    assert caught.value.details[0]["path"] == path
    assert path in caught.value.message


def test_bad_cursor_and_limit(services: Services) -> None:
    with pytest.raises(Invalid) as caught:
        records.search(services, "contact", None, cursor="garbage!")
    assert caught.value.details[0]["path"] == "/cursor"
    with pytest.raises(Invalid):
        records.search(services, "contact", None, limit=0)


def test_tasks_complete_and_reopen(services: Services) -> None:
    ana = records.create(services, "contact", {"email": "ana@example.com"})
    task = records.create(
        services, "task", {"title": "Call Ana", "contact_id": ana["id"], "due_at": "2026-03-03"}
    )
    assert task["done"] is False and task["due_at"].startswith("2026-03-03")
    done = records.update(services, "task", task["id"], {"done": True})
    assert done["done"] is True and done["completed_at"]
    assert records.update(services, "task", task["id"], {"done": False})["completed_at"] is None
    open_tasks = records.search(services, "task", {"field": "task.done", "op": "eq", "value": False})
    assert [t["id"] for t in open_tasks.items] == [task["id"]]
    assert {"task.created", "task.completed"} <= set(event_types(services))


PUSHED = [
    {"field": "contact.last_contact_at", "op": "older_than", "value": "P30D"},
    {"field": "contact.last_contact_at", "op": "older_than", "value": "P1M"},
    {"field": "contact.last_contact_at", "op": "before", "value": "2026-01-15"},
    {"field": "contact.last_contact_at", "op": "after", "value": "2026-01-15T12:00:00+02:00"},
    {"field": "contact.status", "op": "eq", "value": "LEAD"},
    {"field": "contact.status", "op": "in", "value": ["lead", "42"]},
    {"field": "contact.status", "op": "eq", "value": "strasse"},
    {"field": "contact.subscribed", "op": "eq", "value": False},
    {"field": "contact.owner", "op": "in", "value": ["1", 2]},
    {
        "all": [
            {"field": "contact.last_contact_at", "op": "older_than", "value": "P10D"},
            {"field": "contact.status", "op": "eq", "value": "lead"},
            {"not": {"field": "contact.subscribed", "op": "eq", "value": True}},
        ]
    },
]


@pytest.mark.parametrize("where", PUSHED)
def test_sql_prefilter_never_changes_the_answer(services: Services, clock: Any, where: Any) -> None:
    """What the database narrows must match what the flow condition says, row by row."""
    from runtime.conditions import Clock, evaluate

    now = clock()
    statuses = ["lead", "Lead", "LEAD", "customer", "42", None, "Straße", "\u017ftrasse"]
    for i in range(24):
        days = [None, 0, 5, 29, 31, 45, 60, 400][i % 8]
        fields: dict[str, Any] = {"email": f"x{i}@example.com", "subscribed": i % 3 != 0}
        fields["status"] = statuses[i % 8]
        if days is not None:
            fields["last_contact_at"] = iso(now - timedelta(days=days, hours=i))
        records.create(services, "contact", fields)
    everyone = records.search(services, "contact", None, limit=200).items
    expected = [c["id"] for c in everyone if evaluate(where, {"contact": c}, Clock(now=now))]
    got = [c["id"] for page in all_pages_items(services, where) for c in page]
    assert got == expected


def all_pages_items(services: Services, where: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        page = records.search(services, "contact", where, limit=5, cursor=cursor)
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_numbers_too_wide_for_the_database_are_not_errors(services: Services) -> None:
    records.create(services, "contact", {"email": "a@example.com"})
    huge = {"field": "contact.id", "op": "in", "value": [2**70, "1"]}
    assert [c["email"] for c in records.search(services, "contact", huge).items] == ["a@example.com"]
    with pytest.raises(Invalid):
        records.search(services, "contact", None, cursor=paging.encode(2**70))
    with pytest.raises(NotFound):
        records.get(services, "contact", str(2**70))


def test_far_dates_are_answers_not_errors(services: Services) -> None:
    records.create(services, "contact", {"email": "a@example.com", "last_contact_at": "2026-01-01T00:00:00Z"})
    for value, hits in (("9999-12-31T23:59:59-05:00", 1), ("0001-01-01T00:00:00+05:00", 0)):
        where = {"field": "contact.last_contact_at", "op": "before", "value": value}
        assert len(records.search(services, "contact", where).items) == hits
