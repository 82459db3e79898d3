"""Test scaffolding for connectors: a dict-backed `Records`, an ActionContext builder, and local HTTP
servers that answer like providers (a handler function per test, requests recorded)."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jsonschema import Draft202012Validator, FormatChecker

from connectors.base import Action, ActionContext, RunInfo
from connectors.session import TimeoutSession


class MemoryRecords:
    """The Records protocol over dicts, enough to run crm.* and the mail/sms checks."""

    def __init__(self) -> None:
        self.data: dict[str, dict[Any, dict[str, Any]]] = {"contact": {}, "deal": {}}
        self.tasks: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.teams: dict[str, list[dict[str, Any]]] = {}
        self.loads: dict[Any, int] = {}
        self.counters: dict[str, int] = {}
        self.enrolled: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(100)

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        self.data[kind][record["id"]] = record
        return record

    def _record(self, kind: str, record_id: Any) -> dict[str, Any]:
        if record_id not in self.data[kind]:
            raise KeyError(f"no {kind} {record_id}")
        return self.data[kind][record_id]

    def get(self, kind: str, record_id: Any) -> dict[str, Any] | None:
        record = self.data[kind].get(record_id)
        return dict(record) if record else None

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().casefold()
        found = [c for c in self.data["contact"].values() if str(c.get("email") or "").casefold() == wanted]
        return dict(found[0]) if found else None

    def update(self, kind: str, record_id: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        self._record(kind, record_id).update(fields)
        return dict(self._record(kind, record_id))

    def move_stage(self, deal_id: Any, stage: str, pipeline: str | None = None) -> dict[str, Any]:
        deal = self._record("deal", deal_id)
        deal["stage"] = stage
        if pipeline:
            deal["pipeline"] = pipeline
        return dict(deal)

    def add_tag(self, kind: str, record_id: Any, tag: str) -> dict[str, Any]:
        record = self._record(kind, record_id)
        tags = record.setdefault("tags", [])
        if tag not in tags:
            tags.append(tag)
        return dict(record)

    def add_score(self, kind: str, record_id: Any, points: float) -> dict[str, Any]:
        record = self._record(kind, record_id)
        record["score"] = record.get("score", 0) + points
        return dict(record)

    def add_note(self, kind: str, record_id: Any, text: str) -> dict[str, Any]:
        self._record(kind, record_id)
        note = {"id": next(self._ids), "kind": kind, "record_id": record_id, "text": text}
        self.notes.append(note)
        return note

    def create_task(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        task = {"id": next(self._ids), "done": False, **fields}
        self.tasks.append(task)
        return task

    def team_members(self, team: str) -> list[dict[str, Any]]:
        return [dict(m) for m in self.teams.get(team, [])]

    def open_load(self, user_id: Any) -> int:
        return self.loads.get(user_id, 0)

    def next_counter(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def enroll(self, flow_key: str, subject: Mapping[str, Any]) -> dict[str, Any]:
        self.enrolled.append((flow_key, dict(subject)))
        return {"run_id": f"run-{len(self.enrolled)}", "enrolled": True}


class _Checked:
    """An action whose every output is validated against its output schema."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def run(self, ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
        Draft202012Validator(self.action.params_schema, format_checker=FormatChecker()).validate(params)
        out = self.action.run(ctx, params)
        Draft202012Validator(self.action.output_schema).validate(out)
        return out


def checked(actions: Mapping[str, Action]) -> dict[str, _Checked]:
    """Actions by key whose params and outputs are validated against their schemas on every run."""
    return {key: _Checked(action) for key, action in actions.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def make_ctx(credentials: Mapping[str, Any] | None = None, *, records: MemoryRecords | None = None,
             subject: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None,
             now: datetime = NOW, key: str = "run-1:ask:1") -> ActionContext:
    return ActionContext(
        run=RunInfo(id="run-1", flow="test-flow", version=1, node="ask", subject=dict(subject or {})),
        idempotency_key=key,
        credentials=dict(credentials or {}),
        records=records or MemoryRecords(),
        http=TimeoutSession(),
        clock=lambda: now,
        logger=logging.getLogger("tests.connectors"),
        settings=dict(settings or {}),
    )


@dataclass
class Seen:
    """One request a local provider server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Seen], Reply]


@dataclass
class LocalServer:
    url: str
    seen: list[Seen]
    handler: list[Handler]

    def answer(self, handler: Handler) -> None:
        self.handler[0] = handler


@contextmanager
def local_server(handler: Handler) -> Iterator[LocalServer]:
    """A threaded HTTP server on 127.0.0.1 calling `handler` for each request."""
    seen: list[Seen] = []
    current: list[Handler] = [handler]

    class Handle(BaseHTTPRequestHandler):
        def _any(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Seen(self.command, parts.path, parse_qs(parts.query),
                           {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            seen.append(request)
            reply = current[0](request)
            body = reply.body
            headers = dict(reply.headers)
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                body = body.encode()
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            body = body or b""
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up first
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}", seen, current)
    finally:
        server.shutdown()
        server.server_close()
