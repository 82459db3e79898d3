"""Any FLOWRIGHT_SECRET_KEY works (a passphrase, not only a Fernet key), every process derives the same
key from it, and a credential stored under another key fails its step with a message, not a crash."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.credentials import CredentialBox
from runtime import operations, publish
from runtime.models import Credential, Run
from runtime.services import Services
from tests.durable.support import work

FLOW: dict[str, Any] = {
    "format": "flowright/v1",
    "key": "post",
    "name": "Post",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "post",
    "nodes": [
        {
            "id": "post",
            "type": "action",
            "action": "slack.post",
            "credential": "team",
            "params": {"text": "new lead"},
        }
    ],
}


def test_a_passphrase_secret_key_encrypts_and_every_reader_agrees(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWRIGHT_SECRET_KEY", "correct horse battery staple")
    operations.put_credential(services, "slack", "team", {"webhook_url": "https://hooks.example.com/x"})
    with Session(services.engine) as session:
        row = session.execute(select(Credential)).scalars().one()
    assert "hooks.example.com" not in row.ciphertext
    assert CredentialBox("correct horse battery staple").decrypt(row.ciphertext) == {
        "webhook_url": "https://hooks.example.com/x"
    }


def test_a_credential_under_another_key_fails_the_step_with_a_hint(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(services.engine) as session:
        session.add(
            Credential(
                connector="slack",
                name="team",
                ciphertext=CredentialBox("an old key").encrypt({"webhook_url": "https://x"}),
            )
        )
        session.commit()
    monkeypatch.setenv("FLOWRIGHT_SECRET_KEY", "the new key")
    publish.publish(services, "post", document=FLOW)
    operations.post_events(
        services, [{"id": "e1", "type": "form.submitted", "subject": {"contact": {"email": "a@example.com"}}}]
    )
    work(services)
    with Session(services.engine) as session:
        run = session.execute(select(Run)).scalars().one()
    assert run.status == "failed"
    assert "cannot be decrypted with this instance's secret key" in (run.error or "")
