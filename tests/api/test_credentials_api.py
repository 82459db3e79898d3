"""Credentials over HTTP: write-only (no secret in any answer), checked against the connector's form
without echoing values, admin-only writes, and usable by a real run of a flow."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from runtime import operations, publish
from runtime.services import Services
from tests.api.conftest import drain, error_of

SECRET = "s3cr3t-signing-key-XYZ"


class Receiver:
    """A local webhook receiver that keeps each request's body and headers."""

    def __init__(self) -> None:
        self.got: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((body, dict(self.headers)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.httpd.shutdown()
    found.httpd.server_close()


def test_secret_never_comes_back(admin: FlaskClient, editor: FlaskClient) -> None:
    put = admin.put("/api/credentials/webhook/default", json={"values": {"signing_secret": SECRET}})
    assert put.status_code == 201, put.get_json()
    replaced = admin.put(
        "/api/credentials/webhook/default", json={"values": {"signing_secret": SECRET + "2"}}
    )
    assert replaced.status_code == 200
    answers = [put, replaced, editor.get("/api/credentials"), editor.get("/api/credentials/webhook/default")]
    for reply in answers:
        assert SECRET not in reply.get_data(as_text=True)
    listed = editor.get("/api/credentials?connector=webhook").get_json()["credentials"]
    assert [(c["connector"], c["name"], c["fields"], c["readable"]) for c in listed] == [
        ("webhook", "default", ["signing_secret"], True)
    ]
    assert admin.delete("/api/credentials/webhook/default").get_json() == {"deleted": True}
    assert editor.get("/api/credentials").get_json() == {"credentials": []}


def test_values_checked_against_the_form_without_echoing_them(admin: FlaskClient) -> None:
    reply = admin.put(
        "/api/credentials/mail/default", json={"values": {"host": "smtp.example.com", "port": SECRET}}
    )
    assert reply.status_code == 422
    error = error_of(reply)
    problems = {d["path"]: d["message"] for d in error["details"]}
    assert "integer" in problems["/values/port"] and "'from' is required" in problems["/values"]
    assert SECRET not in json.dumps(error)
    missing = error_of(admin.put("/api/credentials/webhook/default", json={"values": {"timeout": 3}}))
    assert "signing_secret" in missing["message"]
    unknown = admin.put("/api/credentials/nope/default", json={"values": {}})
    assert unknown.status_code == 404 and "mail" in error_of(unknown)["message"]
    bad_name = admin.put("/api/credentials/webhook/bad name!", json={"values": {"signing_secret": "x"}})
    assert bad_name.status_code == 422 and error_of(bad_name)["details"][0]["path"] == "/name"


def test_only_admins_write_and_viewers_see_nothing(editor: FlaskClient, viewer: FlaskClient) -> None:
    for reply in (
        editor.put("/api/credentials/webhook/default", json={"values": {"signing_secret": SECRET}}),
        editor.delete("/api/credentials/webhook/default"),
        viewer.get("/api/credentials"),
    ):
        assert reply.status_code == 403 and error_of(reply)["code"] == "forbidden"


def test_a_run_signs_with_the_stored_credential(
    admin: FlaskClient, editor: FlaskClient, services: Services, receiver: Receiver
) -> None:
    services.settings["http_allowlist"] = ["127.0.0.1"]
    assert (
        admin.put("/api/credentials/webhook/default", json={"values": {"signing_secret": SECRET}}).status_code
        == 201
    )
    document = {
        "format": "flowright/v1",
        "key": "notify",
        "name": "Notify",
        "subject": "contact",
        "triggers": [{"type": "manual"}],
        "start": "hook",
        "nodes": [
            {
                "id": "hook",
                "type": "action",
                "action": "webhook.send",
                "params": {"url": receiver.url, "payload": {"email": "{{ contact.email }}"}},
            }
        ],
    }
    publish.publish(services, "notify", document=document)
    contact = editor.post("/api/contacts", json={"email": "ana@example.com"}).get_json()
    operations.enroll(services, "notify", {"contact_id": contact["id"]})
    drain(services)
    [(body, headers)] = receiver.got
    assert json.loads(body) == {"email": "ana@example.com"}
    signed = headers["X-Flowright-Timestamp"].encode() + b"." + body  # the scheme /hooks/<token> verifies
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Flowright-Signature"] == f"sha256={expected}"
