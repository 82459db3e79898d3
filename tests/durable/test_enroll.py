"""Enrolling one subject resolves it as event ingestion does: a contact given by e-mail is upserted,
ids must name records, a deal flow needs a deal, and a subject naming nobody is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runtime import operations, publish
from runtime.errors import SubjectInvalid
from runtime.models import Contact, Run
from runtime.services import Services


def flow(subject: str) -> dict[str, Any]:
    return {
        "format": "flowright/v1",
        "key": f"{subject}-flow",
        "name": subject,
        "subject": subject,
        "triggers": [{"type": "event", "event": "never.sent"}],
        "start": "pause",
        "settings": {"reenroll": "always"},
        "nodes": [{"id": "pause", "type": "delay", "duration": "P1D"}],
    }


@pytest.fixture
def published(services: Services) -> Services:
    for subject in ("contact", "deal"):
        publish.publish(services, f"{subject}-flow", document=flow(subject))
    return services


def run_subject(services: Services, run_id: str | None) -> str | None:
    with Session(services.engine) as session:
        run = session.get(Run, run_id)
        return run.subject_key if run else None


def contacts(services: Services) -> int:
    with Session(services.engine) as session:
        return int(session.execute(select(func.count()).select_from(Contact)).scalar() or 0)


def test_a_contact_given_by_email_is_upserted_and_enrolled(published: Services) -> None:
    first = operations.enroll(
        published, "contact-flow", {"contact": {"email": "en1@x.com", "first_name": "En"}}
    )
    again = operations.enroll(published, "contact-flow", {"contact": {"email": "en1@x.com"}})
    contact = operations.get_record(published, "contact", "en1@x.com")
    assert contact is not None and contact["first_name"] == "En"
    assert run_subject(published, first) == run_subject(published, again) == f"contact:{contact['id']}"
    assert contacts(published) == 1
    assert run_subject(published, operations.enroll(published, "contact-flow", {"contact_id": contact["id"]}))


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ({}, "runs on a contact"),
        ({"email": "en2@x.com"}, "a subject has no key 'email'"),
        ({"contact_id": 999}, "there is no contact 999"),
        ({"deal_id": 999}, "there is no deal 999"),
        ({"contact": {"first_name": "No"}}, "needs an email or a phone"),
        ({"contact": {"email": "not an address"}}, "contact.email"),
        ("en3@x.com", "is an object"),
    ],
)
def test_a_subject_naming_nobody_is_refused(published: Services, subject: Any, message: str) -> None:
    with pytest.raises(SubjectInvalid, match=message):
        operations.enroll(published, "contact-flow", subject)
    with Session(published.engine) as session:
        assert session.execute(select(Run)).first() is None
    assert contacts(published) == 0


def test_a_deal_flow_needs_a_deal(published: Services) -> None:
    contact = operations.put_record(published, "contact", {"email": "d@x.com"})
    with pytest.raises(SubjectInvalid, match="runs on a deal"):
        operations.enroll(published, "deal-flow", {"contact_id": contact["id"]})
    with pytest.raises(SubjectInvalid, match="runs on a deal"):
        operations.enroll(published, "deal-flow", {"contact": {"email": "d@x.com"}})
    deal = operations.put_record(published, "deal", {"title": "D", "contact_id": contact["id"]})
    run_id = operations.enroll(published, "deal-flow", {"deal_id": deal["id"]})
    assert run_subject(published, run_id) == f"deal:{deal['id']}"
    # a contact flow given a deal runs on the deal's contact
    run_id = operations.enroll(published, "contact-flow", {"deal_id": deal["id"]})
    assert run_subject(published, run_id) == f"contact:{contact['id']}"
