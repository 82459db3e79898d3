"""crm.* and flow.enroll through the Records protocol (a dict-backed store)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from connector_support import MemoryRecords, checked, make_ctx

from connectors.base import PermanentError
from connectors.crm import CONNECTOR
from connectors.crm.owners import weighted_cycle
from connectors.flow import CONNECTOR as FLOW

A = checked(CONNECTOR.actions)


@pytest.fixture
def records() -> MemoryRecords:
    store = MemoryRecords()
    store.put("contact", {"id": 7, "email": "ada@example.com", "owner": 1, "tags": ["lead"], "score": 10})
    store.put("deal", {"id": 3, "contact_id": 7, "stage": "new", "pipeline": "sales", "owner": 2})
    store.teams["sales"] = [
        {"id": 1, "name": "Ann", "away": False, "weight": 3},
        {"id": 2, "name": "Ben", "away": True, "weight": 1},
        {"id": 3, "name": "Cid", "away": False, "weight": 1},
    ]
    return store


def test_update_defaults_to_the_deal_of_a_deal_run(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"deal_id": 3, "contact_id": 7})
    out = A["crm.update"].run(ctx, {"fields": {"value": 1200, "source": "webinar"}})
    assert out == {"kind": "deal", "id": 3, "updated": ["source", "value"]}
    assert records.data["deal"][3]["value"] == 1200
    A["crm.update"].run(ctx, {"fields": {"lifecycle": "customer"}, "object": "contact"})
    assert records.data["contact"][7]["lifecycle"] == "customer"


def test_contact_of_a_deal_only_run(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"deal_id": 3})
    assert A["crm.add_tag"].run(ctx, {"tag": "vip", "object": "contact"})["tags"] == ["lead", "vip"]


def test_move_stage_tag_score_note(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"deal_id": 3, "contact_id": 7})
    moved = A["crm.move_stage"].run(ctx, {"stage": "won"})
    assert moved == {"deal_id": 3, "stage": "won", "pipeline": "sales"}
    contact = make_ctx(records=records, subject={"contact_id": 7})
    assert A["crm.add_tag"].run(contact, {"tag": "lead"})["tags"] == ["lead"]  # a set: no duplicate
    assert A["crm.add_score"].run(contact, {"points": -3})["score"] == 7
    note = A["crm.add_note"].run(contact, {"text": "Called, no answer"})
    assert note["note_id"] == records.notes[0]["id"] and records.notes[0]["record_id"] == 7
    with pytest.raises(PermanentError, match="no deal"):
        A["crm.move_stage"].run(contact, {"stage": "won"})


def test_create_task_with_due_in_and_default_owner(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"contact_id": 7})
    out = A["crm.create_task"].run(ctx, {"title": "Call Ada", "due_in": "P2DT3H", "notes": "ask about X"})
    assert out == {"task_id": records.tasks[0]["id"], "assignee": 1, "due_at": "2026-11-25T13:00:00+00:00"}
    task = records.tasks[0]
    assert task["due_at"] == datetime(2026, 11, 25, 13, tzinfo=UTC) and task["contact_id"] == 7
    month = A["crm.create_task"].run(ctx, {"title": "Renewal", "due_in": "P1M", "assignee": 3})
    assert month["due_at"] == "2026-12-23T10:00:00+00:00" and month["assignee"] == 3
    deal = make_ctx(records=records, subject={"deal_id": 3, "contact_id": 7})
    at = A["crm.create_task"].run(deal, {"title": "Send contract", "due_at": "2026-12-01T09:00:00Z"})
    assert at["assignee"] == 2 and at["due_at"] == "2026-12-01T09:00:00+00:00"
    assert records.tasks[-1]["deal_id"] == 3 and records.tasks[-1]["contact_id"] == 7
    undated = A["crm.create_task"].run(ctx, {"title": "Someday"})
    assert undated["due_at"] is None


def test_round_robin_skips_people_away(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"deal_id": 3})
    owners = [A["crm.assign_owner"].run(ctx, {"team": "sales"})["owner"] for _ in range(4)]
    assert owners == [1, 3, 1, 3]
    assert records.data["deal"][3]["owner"] == 3


def test_weighted_follows_the_weights(records: MemoryRecords) -> None:
    records.teams["sales"][1]["away"] = False
    ctx = make_ctx(records=records, subject={"contact_id": 7})
    owners = [A["crm.assign_owner"].run(ctx, {"team": "sales", "strategy": "weighted"})["owner"]
              for _ in range(10)]
    assert Counter(owners) == {1: 6, 2: 2, 3: 2}
    assert weighted_cycle([5, 1, 1]) == [0, 0, 1, 0, 2, 0, 0]


def test_least_loaded(records: MemoryRecords) -> None:
    records.loads.update({1: 5, 2: 0, 3: 2})
    ctx = make_ctx(records=records, subject={"contact_id": 7})
    out = A["crm.assign_owner"].run(ctx, {"team": "sales", "strategy": "least_loaded"})
    assert out == {"kind": "contact", "id": 7, "owner": 3, "owner_name": "Cid"}  # Ben is away


def test_nobody_available(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"contact_id": 7})
    with pytest.raises(PermanentError, match="nobody available"):
        A["crm.assign_owner"].run(ctx, {"team": "support"})


def test_flow_enroll(records: MemoryRecords) -> None:
    ctx = make_ctx(records=records, subject={"contact_id": 7})
    out = checked(FLOW.actions)["flow.enroll"].run(ctx, {"flow": "onboarding"})
    assert out == {"flow": "onboarding", "run_id": "run-1", "enrolled": True}
    assert records.enrolled == [("onboarding", {"contact_id": 7})]
    with pytest.raises(PermanentError):
        FLOW.actions["flow.enroll"].run(make_ctx(records=records), {"flow": "onboarding"})
