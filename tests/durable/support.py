"""A test connector (`probe.*`) whose actions call a real local HTTP server, which counts the calls per
idempotency key, can answer slowly or with 503 + Retry-After; and helpers to build services and run
RQ workers in-process."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from redis import Redis
from rq import SimpleWorker

from connectors.base import Action, ActionContext, Connector, Delivery, RetryableError
from connectors.registry import ConnectorRegistry, builtin_connectors
from runtime import jobs
from runtime.db import make_engine, upgrade
from runtime.services import Services

PARAMS = {
    "type": "object",
    "properties": {"url": {"type": "string"}, "label": {"type": "string"}, "fields": {"type": "object"}},
}


def _call(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    reply = requests.post(
        params["url"], json={"key": ctx.idempotency_key, "label": params.get("label")}, timeout=30
    )
    if reply.status_code == 503:
        raise RetryableError("busy", status=503, retry_after=float(reply.headers.get("Retry-After", 1)))
    return dict(reply.json())


def _set(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    kind = "deal" if ctx.run.subject.get("deal_id") else "contact"
    return ctx.records.update(kind, ctx.run.subject[f"{kind}_id"], params["fields"])


def _action(key: str, run: Any, delivery: Delivery, local: bool = False) -> Action:
    return Action(
        key=key,
        title=key,
        params_schema=PARAMS,
        output_schema={"type": "object"},
        example_output={},
        delivery=delivery,
        run=run,
        needs_credential=False,
        local=local,
    )


PROBE = Connector(
    key="probe",
    title="Probe",
    credentials_schema={"type": "object"},
    actions={
        "probe.call": _action("probe.call", _call, Delivery.IDEMPOTENT),
        "probe.once": _action("probe.once", _call, Delivery.AT_MOST_ONCE),
        "probe.set": _action("probe.set", _set, Delivery.IDEMPOTENT, local=True),
    },
)


def registry() -> ConnectorRegistry:
    return ConnectorRegistry([*builtin_connectors(), PROBE])


class ProbeServer:
    """POST / counts calls by label and key; `slow[label]` seconds of delay; `busy[label]` 503s to give."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.keys: list[tuple[str, str]] = []
        self.slow: dict[str, float] = {}
        self.busy: dict[str, int] = {}
        self.entered = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                label = body.get("label") or ""
                if server.busy.get(label, 0) > 0:
                    server.busy[label] -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "120")
                    self.end_headers()
                    return
                server.calls[label] += 1
                server.keys.append((label, body["key"]))
                server.entered.set()
                time.sleep(server.slow.get(label, 0))
                data = json.dumps({"label": label, "n": server.calls[label]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_services(database_url: str, redis_url: str, clock: Any) -> Services:
    upgrade(database_url)
    services = Services(
        engine=make_engine(database_url),
        redis=Redis.from_url(redis_url),
        registry=registry(),
        clock=clock,
        settings={"public_url": "http://localhost:5000"},
    )
    jobs.install(services)
    return services


def work(services: Services) -> None:
    """Run every queued job in this process, the way `flowright worker --burst` does."""
    SimpleWorker([jobs.queue(services.redis)], connection=services.redis).work(
        burst=True, logging_level="WARNING"
    )
