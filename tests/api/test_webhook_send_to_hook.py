"""webhook.send pointed at a real Flowright signed hook (the app served over HTTP on 127.0.0.1, a real
Redis): the signature it sends is the one /hooks/<token> verifies, so the delivery starts a run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from connectors.base import ActionContext, PermanentError, RunInfo
from connectors.webhook import CONNECTOR as WEBHOOK
from runtime.services import Services
from tests.api.conftest import drain
from tests.api.flowdocs import drip
from tests.durable.conftest import Clock

SEND = WEBHOOK.actions["webhook.send"]


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def context(secret: str, clock: Clock, key: str) -> ActionContext:
    return ActionContext(
        run=RunInfo(id="run-1", flow="notify", version=1, node="send", subject={}),
        idempotency_key=key, credentials={"signing_secret": secret}, records=None,  # type: ignore[arg-type]
        http=requests.Session(), clock=clock, logger=logging.getLogger("tests.webhook"),
        settings={"http_allowlist": ["127.0.0.1"]},
    )


def test_webhook_send_is_accepted_by_a_signed_flowright_hook(
        served: str, editor: FlaskClient, viewer: FlaskClient, services: Services, clock: Clock) -> None:
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    hook: dict[str, Any] = editor.post("/api/flows/drip/hook", json={"signed": True}).get_json()
    url = served + "/hooks/" + hook["url"].rsplit("/", 1)[1]
    payload = {"email": "partner@example.com", "plan": "pro", "note": "Ąžuolas"}

    out = SEND.run(context(hook["secret"], clock, "run-1:send:1"), {"url": url, "payload": payload})
    assert out == {"status": 202, "delivery_id": "run-1:send:1"}
    drain(services)
    [run] = viewer.get("/api/runs?flow=drip").get_json()["runs"]
    assert viewer.get(f"/api/runs/{run['id']}").get_json()["trigger"]["plan"] == "pro"

    with pytest.raises(PermanentError, match="401: the signature does not match"):
        SEND.run(context("not-the-secret", clock, "run-1:send:2"), {"url": url, "payload": payload})
