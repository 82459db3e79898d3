"""`flowright enroll KEY --subject JSON` takes the subject as DESIGN §10 gives it and refuses one that
names nobody with a message and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main

FLOW = {
    "format": "flowright/v1",
    "key": "nurture",
    "name": "Nurture",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "pause",
    "nodes": [{"id": "pause", "type": "delay", "duration": "P1D"}],
}


@pytest.fixture
def instance(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWRIGHT_HOME", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "nurture.json"
    path.write_text(json.dumps(FLOW))
    done = CliRunner().invoke(main, ["flows", "import", str(path), "--publish"])
    assert done.exit_code == 0, done.output
    return tmp_path


def test_enroll_upserts_the_contact_the_subject_gives(instance: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["enroll", "nurture", "--subject", '{"contact": {"email": "en1@x.com"}}'])
    assert done.exit_code == 0, done.output
    run_id = done.stdout.strip()
    shown = runner.invoke(main, ["runs", "show", run_id, "--json"])
    contact = runner.invoke(main, ["records", "get", "contact", "en1@x.com", "--json"])
    subject = json.loads(shown.stdout)["subject"]
    assert subject == {"contact_id": json.loads(contact.stdout)["id"]}


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("{}", "flow 'nurture' runs on a contact"),
        ('{"email": "en1@x.com"}', "a subject has no key 'email'"),
        ('{"contact_id": 999}', "there is no contact 999"),
    ],
)
def test_enroll_refuses_a_subject_naming_nobody(instance: Path, subject: str, message: str) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["enroll", "nurture", "--subject", subject])
    assert done.exit_code == 1
    assert message in done.output and "Traceback" not in done.output
    assert runner.invoke(main, ["runs", "list", "--json"]).stdout.strip() == "[]"
