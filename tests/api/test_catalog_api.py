"""The connectors catalog over HTTP: every action's declaration, as the editor draws its forms."""

from __future__ import annotations

from flask.testing import FlaskClient

from runtime.services import Services
from tests.api.conftest import error_of


def test_every_action_is_listed_with_its_schemas(viewer: FlaskClient, services: Services) -> None:
    reply = viewer.get("/api/connectors")
    assert reply.status_code == 200
    connectors = reply.get_json()["connectors"]
    listed = {a["key"]: a for c in connectors for a in c["actions"]}
    assert set(listed) == {a.key for a in services.registry.actions()}
    send = listed["mail.send"]
    assert send["delivery"] == "at_most_once" and send["connector"] == "mail"
    assert {"to", "subject"} <= set(send["params_schema"]["properties"])
    assert send["output_schema"]["type"] == "object" and isinstance(send["example_output"], dict)
    assert listed["crm.update"]["delivery"] == "idempotent"
    mail = next(c for c in connectors if c["key"] == "mail")
    assert mail["credentials_schema"]["properties"]["password"]["writeOnly"] is True


def test_one_connector_and_one_action(viewer: FlaskClient) -> None:
    slack = viewer.get("/api/connectors/slack").get_json()
    assert [a["key"] for a in slack["actions"]] == ["slack.post"]
    post = viewer.get("/api/actions/slack.post").get_json()
    assert post["title"] and "text" in post["params_schema"]["properties"]
    missing = viewer.get("/api/actions/slack.shout")
    assert missing.status_code == 404 and "slack.post" in error_of(missing)["message"]
    assert viewer.get("/api/connectors/fax").status_code == 404


def test_catalog_needs_a_login(client: FlaskClient) -> None:
    assert client.get("/api/connectors").status_code == 401
