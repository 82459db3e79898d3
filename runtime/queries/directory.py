"""Pipelines with ordered stages, users as owners, and teams (for `crm.assign_owner`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from runtime.db import session_scope
from runtime.models import Deal, Pipeline, Stage, Team, TeamMember, User
from runtime.queries.errors import Conflict, Invalid, NotFound
from runtime.records import as_dict
from runtime.services import Services

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$")
KEY_RULE = "a key is 1 to 120 letters, digits, '_', '.' or '-', starting with a letter or digit"
MAX_STAGES = 100
MAX_MEMBERS = 500


def _check_key(key: Any, pointer: str = "/key") -> str:
    if not isinstance(key, str) or not KEY.match(key):
        raise Invalid.at(pointer, KEY_RULE)
    return key


def _name(body: Mapping[str, Any], default: str) -> str:
    name = body.get("name", default)
    if name is None:
        return default
    if not isinstance(name, str) or len(name) > 200:
        raise Invalid.at("/name", "a name is a string of at most 200 characters")
    return name


def _body(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise Invalid.at("", "the body is a JSON object")
    return body


# ---------------------------------------------------------------- pipelines


def _pipeline_dict(session: Session, pipeline: Pipeline) -> dict[str, Any]:
    stages = session.execute(
        select(Stage).where(col(Stage.pipeline_id) == pipeline.id).order_by(col(Stage.position))
    ).scalars()
    return {
        "key": pipeline.key,
        "name": pipeline.name,
        "stages": [{"key": s.key, "name": s.name, "position": s.position} for s in stages],
    }


def list_pipelines(services: Services) -> list[dict[str, Any]]:
    with Session(services.engine) as session:
        rows = session.execute(select(Pipeline).order_by(col(Pipeline.key))).scalars()
        return [_pipeline_dict(session, p) for p in rows]


def _pipeline(session: Session, key: str) -> Pipeline:
    row = session.execute(select(Pipeline).where(col(Pipeline.key) == key)).scalars().first()
    if row is None:
        raise NotFound(f"there is no pipeline {key!r}")
    return row


def get_pipeline(services: Services, key: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        return _pipeline_dict(session, _pipeline(session, key))


def _stages(value: Any) -> list[tuple[str, str]]:
    """[(key, name)] from a list of stage keys or {"key", "name"} objects."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_STAGES:
        raise Invalid.at("/stages", f"stages is a list of 1 to {MAX_STAGES} stages, in order")
    out: list[tuple[str, str]] = []
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        key, name = (item, item) if isinstance(item, str) else (None, None)
        if isinstance(item, Mapping):
            key, name = item.get("key"), item.get("name") or item.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            problems.append((f"/stages/{i}", f"a stage is a key or {{key, name}}; {KEY_RULE}"))
        elif not isinstance(name, str) or len(name) > 200:
            problems.append((f"/stages/{i}/name", "a name is a string of at most 200 characters"))
        elif key in [k for k, _ in out]:
            problems.append((f"/stages/{i}", f"stage {key!r} is listed twice"))
        else:
            out.append((key, name))
    if problems:
        raise Invalid.many(problems)
    return out


def put_pipeline(services: Services, key: str, body: Any) -> tuple[dict[str, Any], bool]:
    """Create or replace a pipeline's name and ordered stages; (pipeline, created).

    A stage that deals are still in cannot be dropped (Conflict names it)."""
    _check_key(key)
    body = _body(body)
    stages = _stages(body.get("stages"))
    with session_scope(services.engine) as session:
        row = session.execute(select(Pipeline).where(col(Pipeline.key) == key)).scalars().first()
        created = row is None
        row = row or Pipeline(key=key, name=key)
        row.name = _name(body, row.name or key)
        session.add(row)
        session.flush()
        existing = {
            s.key: s for s in session.execute(select(Stage).where(col(Stage.pipeline_id) == row.id)).scalars()
        }
        wanted = [k for k, _ in stages]
        dropped = [k for k in existing if k not in wanted]
        in_use = _deals_in(session, key, dropped)
        if in_use:
            details = [
                {"path": "/stages", "message": f"{n} deal(s) are in stage {s!r}"} for s, n in in_use.items()
            ]
            raise Conflict(f"move the deals out of {', '.join(in_use)} before removing it", details)
        for stage_key in dropped:
            session.delete(existing[stage_key])
        for position, (stage_key, name) in enumerate(stages):
            stage = existing.get(stage_key) or Stage(pipeline_id=int(row.id or 0), key=stage_key)
            stage.name, stage.position = name, position
            session.add(stage)
        session.flush()
        return _pipeline_dict(session, row), created


def _deals_in(session: Session, pipeline: str, stages: list[str] | None) -> dict[str, int]:
    stage = col(Deal.stage)
    query = select(stage, func.count()).where(col(Deal.pipeline) == pipeline).group_by(stage)
    if stages is not None:
        if not stages:
            return {}
        query = query.where(col(Deal.stage).in_(stages))
    return {str(stage): int(n) for stage, n in session.execute(query)}


def delete_pipeline(services: Services, key: str) -> None:
    with session_scope(services.engine) as session:
        row = _pipeline(session, key)
        in_use = sum(_deals_in(session, key, None).values())
        if in_use:
            raise Conflict(f"{in_use} deal(s) are in pipeline {key!r}; move or delete them first")
        session.execute(sql_delete(Stage).where(col(Stage.pipeline_id) == row.id))
        session.delete(row)


# ---------------------------------------------------------------- users


def update_user(services: Services, user_id: Any, body: Any) -> dict[str, Any]:
    """Set a user's display name and whether they are away (skipped by owner assignment)."""
    body = _body(body)
    unknown = [k for k in body if k not in ("name", "away")]
    if unknown:
        raise Invalid.many([(f"/{k}", "only name and away can be changed here") for k in unknown])
    if "away" in body and not isinstance(body["away"], bool):
        raise Invalid.at("/away", "must be true or false")
    with session_scope(services.engine) as session:
        user = _user(session, user_id)
        user.name = _name(body, user.name)
        user.away = body.get("away", user.away)
        session.add(user)
        session.flush()
        return _show_user(user)


def _user(session: Session, user_id: Any) -> User:
    text = str(user_id)
    user = session.get(User, int(text)) if text.isdigit() and len(text) < 19 else None
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    return user


def _show_user(user: User) -> dict[str, Any]:
    data = as_dict(user)
    data.pop("password_hash", None)
    return data


# ---------------------------------------------------------------- teams


def _team_dict(session: Session, team: Team) -> dict[str, Any]:
    query = (
        select(User, col(TeamMember.weight))
        .join(TeamMember, col(TeamMember.user_id) == col(User.id))
        .where(col(TeamMember.team_id) == team.id)
        .order_by(col(TeamMember.position))
    )
    members = [
        {"user_id": u.id, "name": u.name, "email": u.email, "away": u.away, "weight": w}
        for u, w in session.execute(query)
    ]
    return {"key": team.key, "name": team.name, "members": members}


def list_teams(services: Services) -> list[dict[str, Any]]:
    with Session(services.engine) as session:
        rows = session.execute(select(Team).order_by(col(Team.key))).scalars()
        return [_team_dict(session, t) for t in rows]


def _team(session: Session, key: str) -> Team:
    row = session.execute(select(Team).where(col(Team.key) == key)).scalars().first()
    if row is None:
        raise NotFound(f"there is no team {key!r}")
    return row


def get_team(services: Services, key: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        return _team_dict(session, _team(session, key))


def _members(session: Session, value: Any) -> list[tuple[int, int]]:
    if not isinstance(value, list) or len(value) > MAX_MEMBERS:
        raise Invalid.at("/members", f"members is a list of at most {MAX_MEMBERS} {{user_id, weight}}")
    out: list[tuple[int, int]] = []
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        item = {"user_id": item} if isinstance(item, int) else item
        user_id = item.get("user_id") if isinstance(item, Mapping) else None
        weight = item.get("weight", 1) if isinstance(item, Mapping) else 1
        if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2**63:
            problems.append((f"/members/{i}/user_id", "a member is {user_id, weight} with a user's id"))
        elif session.get(User, user_id) is None:
            problems.append((f"/members/{i}/user_id", f"there is no user {user_id}"))
        elif isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 1000:
            problems.append((f"/members/{i}/weight", "weight is a whole number from 0 to 1000"))
        elif user_id in [u for u, _ in out]:
            problems.append((f"/members/{i}/user_id", f"user {user_id} is listed twice"))
        else:
            out.append((user_id, weight))
    if problems:
        raise Invalid.many(problems)
    return out


def put_team(services: Services, key: str, body: Any) -> tuple[dict[str, Any], bool]:
    """Create or replace a team's name and members (in order, with weights); (team, created)."""
    _check_key(key)
    body = _body(body)
    with session_scope(services.engine) as session:
        members = _members(session, body.get("members", []))
        row = session.execute(select(Team).where(col(Team.key) == key)).scalars().first()
        created = row is None
        row = row or Team(key=key, name=key)
        row.name = _name(body, row.name or key)
        session.add(row)
        session.flush()
        session.execute(sql_delete(TeamMember).where(col(TeamMember.team_id) == row.id))
        team_id = int(row.id or 0)
        for position, (user_id, weight) in enumerate(members):
            session.add(TeamMember(team_id=team_id, user_id=user_id, weight=weight, position=position))
        session.flush()
        return _team_dict(session, row), created


def delete_team(services: Services, key: str) -> None:
    with session_scope(services.engine) as session:
        row = _team(session, key)
        session.execute(sql_delete(TeamMember).where(col(TeamMember.team_id) == row.id))
        session.delete(row)
