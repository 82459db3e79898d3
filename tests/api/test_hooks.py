"""Webhook triggers: a published flow's secret URL starts runs, 202 fast; signatures, the timestamp
window and replays; delivery ids; the URL management endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from runtime import hooks
from runtime.services import Services
from tests.api.conftest import drain, error_of
from tests.api.flowdocs import drip
from tests.durable.conftest import Clock

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def setup_hook(editor: FlaskClient, signed: bool = False) -> dict[str, Any]:
    editor.post("/api/flows", json=drip())
    editor.post("/api/flows/drip/publish", json={})
    reply = editor.post("/api/flows/drip/hook", json={"signed": signed})
    assert reply.status_code == 201, reply.get_json()
    return dict(reply.get_json())


def path_of(hook: dict[str, Any]) -> str:
    return "/hooks/" + hook["url"].rsplit("/", 1)[1]


def signed_headers(secret: str, body: bytes, clock: Clock, skew: int = 0) -> dict[str, str]:
    stamp = str(int(clock().timestamp()) + skew)
    return {"X-Flowright-Timestamp": stamp, "X-Flowright-Signature": hooks.sign(secret, stamp, body),
            "Content-Type": "application/json"}


def test_unsigned_hook_starts_a_run(client: FlaskClient, editor: FlaskClient, viewer: FlaskClient,
                                    services: Services) -> None:
    hook = setup_hook(editor)
    assert "secret" not in hook and hook["url"].startswith("http://localhost:5000/hooks/")
    assert hook["listening"] is True
    reply = client.post(path_of(hook), json={"email": "web@example.com", "plan": "pro"})
    assert reply.status_code == 202, reply.get_json()
    drain(services)
    [run] = viewer.get("/api/runs?flow=drip").get_json()["runs"]
    detail = viewer.get(f"/api/runs/{run['id']}").get_json()
    assert detail["trigger"]["plan"] == "pro" and detail["status"] == "waiting"


def test_delivery_id_makes_a_repeat_start_nothing(client: FlaskClient, editor: FlaskClient) -> None:
    hook = setup_hook(editor)
    headers = {"X-Flowright-Delivery": "d-1"}
    first = client.post(path_of(hook), json={"email": "a@example.com"}, headers=headers).get_json()
    again = client.post(path_of(hook), json={"email": "a@example.com"}, headers=headers).get_json()
    assert (first["new"], again["new"], first["id"]) == (True, False, again["id"])


def test_unknown_token_and_bad_body(client: FlaskClient, editor: FlaskClient) -> None:
    hook = setup_hook(editor)
    assert error_of(client.post("/hooks/not-a-token", json={}))["code"] == "not_found"
    bad = client.post(path_of(hook), data=b"{nope", content_type="application/json")
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_json"
    deep = client.post(path_of(hook), data=b"[" * 50_000 + b"]" * 50_000, content_type="application/json")
    assert deep.status_code == 400 and error_of(deep)["code"] == "bad_json"


def test_signed_hook_checks_signature_window_and_replay(client: FlaskClient, editor: FlaskClient,
                                                        clock: Clock) -> None:
    hook = setup_hook(editor, signed=True)
    secret, url = hook["secret"], path_of(hook)
    assert "secret" not in editor.get("/api/flows/drip/hook").get_json()
    body = json.dumps({"email": "s@example.com"}).encode()
    unsigned = client.post(url, data=body, content_type="application/json")
    assert unsigned.status_code == 401 and error_of(unsigned)["code"] == "signature_required"
    forged = client.post(url, data=body, headers=signed_headers("wrong-secret", body, clock))
    assert error_of(forged)["code"] == "bad_signature"
    tampered_headers = signed_headers(secret, body, clock)
    tampered = client.post(url, data=body.replace(b"s@", b"t@"), headers=tampered_headers)
    assert tampered.status_code == 401 and error_of(tampered)["code"] == "bad_signature"
    stale = client.post(url, data=body, headers=signed_headers(secret, body, clock, skew=-301))
    assert stale.status_code == 401 and error_of(stale)["code"] == "stale_timestamp"
    good = signed_headers(secret, body, clock)
    assert client.post(url, data=body, headers=good).status_code == 202
    replay = client.post(url, data=body, headers=good)
    assert replay.status_code == 409 and error_of(replay)["code"] == "replayed"
    moved = signed_headers(secret, body, clock)  # a re-signed copy with the same timestamp is the same
    moved["X-Flowright-Timestamp"] = str(int(moved["X-Flowright-Timestamp"]) + 5)  # signature covers it
    assert error_of(client.post(url, data=body, headers=moved))["code"] == "bad_signature"
    assert secret not in json.dumps([unsigned.get_json(), forged.get_json(), replay.get_json()])


def test_rotate_and_remove(client: FlaskClient, editor: FlaskClient, viewer: FlaskClient) -> None:
    old = setup_hook(editor)
    new = editor.post("/api/flows/drip/hook", json={}).get_json()
    assert client.post(path_of(old), json={}).status_code == 404
    assert viewer.get("/api/flows/drip/hook").status_code == 403
    assert editor.get("/api/flows/drip/hook").get_json()["url"] == new["url"]
    assert editor.delete("/api/flows/drip/hook").status_code == 204
    assert client.post(path_of(new), json={}).status_code == 404
    assert editor.get("/api/flows/drip/hook").status_code == 404
    assert editor.post("/api/flows/none/hook", json={}).status_code == 404
    editor.post("/api/flows", json={**drip(key="draft"), "triggers": [{"type": "manual"}]})
    assert editor.post("/api/flows/draft/hook", json={}).get_json()["listening"] is False
