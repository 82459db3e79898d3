"""Pipelines, teams and owners through the query layer."""

from __future__ import annotations

import pytest

from runtime.queries import directory, records
from runtime.queries.errors import Conflict, Invalid, NotFound
from runtime.records import SqlRecords
from runtime.services import Services


def add_user(services: Services, email: str) -> int:
    from sqlalchemy.orm import Session

    with Session(services.engine) as session:
        user = SqlRecords(session, services.now, lambda e: None).put_user(email, email.split("@")[0])
        session.commit()
    return int(user["id"])


def test_pipeline_replace_keeps_order_and_guards_used_stages(services: Services) -> None:
    made, created = directory.put_pipeline(
        services, "sales", {"name": "Sales", "stages": ["new", "won", "lost"]}
    )
    assert created and [s["key"] for s in made["stages"]] == ["new", "won", "lost"]
    records.create(services, "deal", {"pipeline": "sales", "stage": "won"})
    with pytest.raises(Conflict) as caught:
        directory.put_pipeline(services, "sales", {"stages": ["new", "lost"]})
    assert "won" in caught.value.message
    again, created = directory.put_pipeline(
        services, "sales", {"stages": [{"key": "won", "name": "Won!"}, "new", "lost", "paid"]}
    )
    assert not created and [(s["key"], s["name"]) for s in again["stages"]][:2] == [
        ("won", "Won!"),
        ("new", "new"),
    ]
    with pytest.raises(Conflict):
        directory.delete_pipeline(services, "sales")
    with pytest.raises(Invalid) as caught:
        directory.put_pipeline(services, "x", {"stages": ["ok", "ok", 3]})
    assert [d["path"] for d in caught.value.details] == ["/stages/1", "/stages/2"]
    assert [p["key"] for p in directory.list_pipelines(services)] == ["sales"]


def test_teams_and_owners(services: Services) -> None:
    ana, bob = add_user(services, "ana@example.com"), add_user(services, "bob@example.com")
    team, created = directory.put_team(services, "sales", {"members": [{"user_id": bob, "weight": 3}, ana]})
    assert created and [(m["user_id"], m["weight"]) for m in team["members"]] == [(bob, 3), (ana, 1)]
    away = directory.update_user(services, bob, {"away": True})
    assert away["away"] is True and "password_hash" not in away
    assert directory.get_team(services, "sales")["members"][0]["away"] is True
    owners = records.search(services, "user", {"field": "user.away", "op": "eq", "value": False})
    assert [u["id"] for u in owners.items] == [ana]
    with pytest.raises(Invalid) as caught:
        directory.put_team(services, "sales", {"members": [{"user_id": 999}]})
    assert caught.value.details[0]["path"] == "/members/0/user_id"
    directory.delete_team(services, "sales")
    with pytest.raises(NotFound):
        directory.get_team(services, "sales")
