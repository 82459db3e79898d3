"""The shipped bundles started by the events Flowright really produces: records changed through the
record store's write path (as the API does), events posted through ingestion, runs advanced by RQ
workers in-process on real Redis and SQLite, a clock the test moves. No hand-built trigger data."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from connectors.registry import default_registry
from connectors.reviews.inbound import generic_event
from runtime import jobs, operations, publish, scheduler
from runtime.bundles import find_bundle
from runtime.db import make_engine, upgrade
from runtime.models import Activity, Event, Run, Step
from runtime.queries import records as record_queries
from runtime.records import SqlRecords
from runtime.services import Services
from tests.durable.conftest import Clock
from tests.durable.support import work


class Stub:
    """A local HTTP server that answers every POST 200 "ok" (as Slack's incoming webhooks do) and keeps
    the paths posted to."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.posts.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def services(tmp_path: Path, redis_url: str, clock: Clock, stub: Stub) -> Iterator[Services]:
    url = f"sqlite:///{tmp_path / 'flowright.db'}"
    upgrade(url)
    services = Services(engine=make_engine(url), redis=Redis.from_url(redis_url), registry=default_registry(),
                        clock=clock, settings={"public_url": "http://localhost:5000",
                                               "http_allowlist": ["127.0.0.1"]})
    jobs.install(services)
    operations.put_credential(services, "slack", "default", {"webhook_url": f"{stub.url}/slack"})
    operations.put_credential(services, "webhook", "default", {"signing_secret": "s3cret"})
    yield services
    jobs.install(None)
    services.close()


def install(services: Services, bundle: str, *keys: str, **params: Any) -> None:
    for flow in find_bundle(bundle).resolve(params):
        if flow["key"] in keys:
            publish.publish(services, flow["key"], document=flow)


def runs(services: Services, key: str) -> list[tuple[Run, list[str]]]:
    with Session(services.engine) as session:
        rows = list(session.execute(
            select(Run).where(col(Run.flow_key) == key).order_by(col(Run.started_at), col(Run.id))).scalars())
        steps = select(col(Step.node)).order_by(col(Step.seq))
        paths = [list(session.execute(steps.where(col(Step.run_id) == r.id)).scalars()) for r in rows]
    return list(zip(rows, paths, strict=True))


def notes(services: Services, contact_id: int) -> list[str]:
    with Session(services.engine) as session:
        rows = session.execute(select(Activity).where(col(Activity.contact_id) == contact_id,
                                                      col(Activity.type) == "note")).scalars()
        return [row.data["text"] for row in rows]


def pipeline(services: Services, key: str, stages: list[str]) -> None:
    with Session(services.engine) as session:
        SqlRecords(session, services.now, lambda event: None).put_pipeline(key, stages)
        session.commit()


def contact(services: Services, key: Any) -> dict[str, Any]:
    record = operations.get_record(services, "contact", key)
    assert record is not None
    return record


# ---------------------------------------------------------------- amoCRM: a new lead through the API path

def test_a_deal_created_in_the_sales_pipeline_starts_amo_new_lead(services: Services, stub: Stub) -> None:
    install(services, "amocrm-sales-pipeline", "amo-new-lead")
    with Session(services.engine) as session:
        records = SqlRecords(session, services.now, lambda event: None)
        user = records.put_user("rita@example.com", "Rita")
        records.put_team("sales", [{"user_id": user["id"]}])
        session.commit()
    pipeline(services, "sales", ["new", "qualified", "ready_to_enroll", "partially_paid", "paid",
                                 "unreachable", "won", "lost"])
    pipeline(services, "wholesale", ["new", "won", "lost"])
    lead = record_queries.create(services, "contact", {"email": "ieva@example.com", "first_name": "Ieva",
                                                       "last_name": "B", "phone": "+37062223344"})
    record_queries.create(services, "deal", {"name": "English B2", "pipeline": "sales", "stage": "new",
                                             "contact_id": lead["id"]})
    record_queries.create(services, "deal", {"name": "Office chairs", "pipeline": "wholesale", "stage": "new",
                                             "contact_id": lead["id"]})
    work(services)
    [(run, path)] = runs(services, "amo-new-lead")
    assert run.status == "waiting" and run.cursor == "call_result"
    assert path[:2] == ["announce", "assign"] and path[-2:] == ["qualify_task", "call_result"]
    assert stub.posts == ["/slack"]


# ---------------------------------------------------------------- MiniCRM statuses

def test_a_hard_bounce_makes_one_run_with_a_bounce_note(services: Services) -> None:
    install(services, "minicrm-auto-statuses", "status-unreachable")
    operations.post_events(services, [{"id": "b1", "type": "email.bounced",
                                       "subject": {"contact": {"email": "old@defunct.example"}},
                                       "data": {"kind": "hard", "reason": "550 5.1.1 user unknown"}}])
    work(services)
    [(run, path)] = runs(services, "status-unreachable")  # the store's contact.unsubscribed starts nothing
    assert (run.status, path) == ("completed", ["mark_unreachable", "why", "bounce_note"])
    gone = contact(services, "old@defunct.example")
    assert (gone["status"], gone["subscribed"], gone["bounced"]) == ("unreachable", False, True)
    assert notes(services, gone["id"]) == [
        "Status set to 'unreachable': mail to old@defunct.example bounced (550 5.1.1 user unknown)."]
    with Session(services.engine) as session:  # the store did announce the unsubscription
        assert session.execute(select(Event).where(col(Event.type) == "contact.unsubscribed")).first()


def test_an_unsubscribe_makes_one_run_with_an_unsubscribe_note(services: Services) -> None:
    install(services, "minicrm-auto-statuses", "status-unreachable")
    person = record_queries.create(services, "contact", {"email": "eva@example.hu", "status": "in progress"})
    record_queries.update(services, "contact", person["id"], {"subscribed": False})
    work(services)
    [(run, path)] = runs(services, "status-unreachable")
    assert (run.status, path) == ("completed", ["mark_unreachable", "why", "unsubscribe_note"])
    assert notes(services, person["id"]) == ["Status set to 'unreachable': the contact unsubscribed."]


def test_inactive_counts_from_the_last_opened_mail_or_from_creation(services: Services, clock: Clock) -> None:
    install(services, "minicrm-auto-statuses", "status-inactive")
    record_queries.create(services, "contact", {"email": "reader@example.hu", "status": "lead"})
    record_queries.create(services, "contact", {"email": "silent@example.hu", "status": "lead"})
    work(services)
    scheduler.once(services)
    work(services)
    assert runs(services, "status-inactive") == []  # a new contact is not inactive

    clock.advance(days=180)
    operations.post_events(services, [{"id": "o1", "type": "email.opened",
                                       "subject": {"contact": {"email": "reader@example.hu"}}, "data": {}}])
    work(services)
    assert contact(services, "reader@example.hu")["last_opened_at"] == "2026-08-29T09:00:00Z"

    clock.advance(days=190)  # a year and ten days after creation
    scheduler.once(services)
    work(services)
    assert contact(services, "silent@example.hu")["status"] == "inactive"
    assert contact(services, "reader@example.hu")["status"] == "lead"

    clock.advance(days=180)  # a year and a bit after the opened mail
    scheduler.once(services)
    work(services)
    assert contact(services, "reader@example.hu")["status"] == "inactive"


def test_serious_prospect_from_the_stores_closed_task_count(services: Services) -> None:
    install(services, "minicrm-auto-statuses", "status-serious-prospect")
    person = record_queries.create(services, "contact", {"email": "anna@example.hu", "status": "in progress"})
    for title in ("First call", "Send the price list", "Demo"):
        task = record_queries.create(services, "task", {"title": title, "contact_id": person["id"]})
        record_queries.update(services, "task", task["id"], {"done": True})
    work(services)
    assert contact(services, person["id"])["closed_tasks"] == 3
    assert runs(services, "status-serious-prospect") == []  # not in the target group yet

    record_queries.update(services, "contact", person["id"], {"qualification": "target group"})
    work(services)
    [(run, path)] = runs(services, "status-serious-prospect")
    assert (run.status, path) == ("completed", ["mark_serious", "serious_note"])
    assert contact(services, person["id"])["status"] == "serious prospect"


def test_forgotten_when_never_contacted_since_going_in_progress(services: Services, clock: Clock) -> None:
    install(services, "minicrm-auto-statuses", "status-forgotten")
    person = record_queries.create(services, "contact", {"email": "imre@example.hu", "first_name": "Imre"})
    clock.advance(days=100)
    record_queries.update(services, "contact", person["id"], {"status": "in progress"})
    work(services)
    assert contact(services, person["id"])["status_changed_at"] == "2026-06-10T09:00:00Z"
    scheduler.once(services)
    work(services)
    assert contact(services, person["id"])["status"] == "in progress"  # not forgotten at once

    clock.advance(days=30, hours=1)
    scheduler.once(services)
    work(services)
    assert contact(services, person["id"])["status"] == "forgotten"


# ---------------------------------------------------------------- invoices reach the dunning flow

def test_an_invoice_announced_by_flow_emit_starts_the_dunning_flow(services: Services) -> None:
    install(services, "unpaid-invoice-reminders", "unpaid-invoice-reminders")
    [monthly] = find_bundle("monthly-invoicing").resolve()
    announce = next(n for n in monthly["nodes"] if n["id"] == "announce_invoice")
    data = {**announce["params"]["data"], "number": "INV-7", "invoice_id": "x-7", "amount": 89.0,
            "currency": "EUR", "due_date": "2026-03-16", "reference": "R-1-202603"}
    publish.publish(services, "issue", document={
        "format": "flowright/v1", "key": "issue", "name": "issue", "subject": "deal",
        "triggers": [{"type": "manual"}], "start": "announce_invoice",
        "nodes": [{"id": "announce_invoice", "type": "action", "action": "flow.emit",
                   "params": {"event": "invoice.issued", "data": data}}]})
    person = record_queries.create(services, "contact", {"email": "office@bakery.example"})
    deal = record_queries.create(services, "deal", {"name": "Coffee machine", "contact_id": person["id"]})
    operations.enroll(services, "issue", {"deal_id": deal["id"]})
    work(services)
    [(issuer, _)] = runs(services, "issue")
    assert issuer.status == "completed"
    [(dunning, path)] = runs(services, "unpaid-invoice-reminders")
    assert dunning.status == "waiting" and path == ["before_due"]
    assert dunning.contact_id == person["id"] and dunning.state["trigger"]["number"] == "INV-7"

    # a part payment does not stop the reminders; the rest does
    payer = {"contact_id": person["id"]}
    operations.post_events(services, [{"id": "p1", "type": "payment.received", "subject": payer,
                                       "data": {"invoice": "INV-7", "amount": 40, "outstanding": 49}}])
    work(services)
    assert runs(services, "unpaid-invoice-reminders")[0][0].status == "waiting"
    operations.post_events(services, [{"id": "p2", "type": "payment.received", "subject": payer,
                                       "data": {"invoice": "INV-7", "amount": 49, "outstanding": 0}}])
    work(services)
    assert runs(services, "unpaid-invoice-reminders")[0][0].status == "exited"


# ---------------------------------------------------------------- deletes and reviews

def test_deleting_the_deal_ends_its_review_request(services: Services) -> None:
    install(services, "review-request", "review-request")
    person = record_queries.create(services, "contact", {"email": "egle@example.com", "first_name": "Eglė"})
    deal = record_queries.create(services, "deal", {"name": "Oak dining set", "contact_id": person["id"]})
    record_queries.update(services, "deal", deal["id"], {"stage": "delivered"})
    work(services)
    [(run, _)] = runs(services, "review-request")
    assert (run.status, run.cursor) == ("waiting", "wait_a_bit")
    record_queries.delete(services, "deal", deal["id"])
    work(services)
    [(run, _)] = runs(services, "review-request")
    assert (run.status, run.exit_reason) == ("exited", "goal")


def test_a_review_from_the_webhook_is_published_with_the_fields_it_carries(
    services: Services, stub: Stub, clock: Clock
) -> None:
    install(services, "review-request", "publish-positive-reviews",
            testimonials_webhook=f"{stub.url}/testimonials")
    record_queries.create(services, "contact", {"email": "rasa@example.com", "first_name": "Rasa"})
    operations.post_events(services, [generic_event(
        {"rating": 5, "email": "rasa@example.com", "text": "Fast and friendly.",
         "at": (clock() - timedelta(minutes=1)).isoformat()})])
    work(services)
    [(run, path)] = runs(services, "publish-positive-reviews")
    assert (run.status, path) == ("completed", ["five_stars", "publish", "published_notice"])
    assert stub.posts == ["/testimonials", "/slack"]
    with Session(services.engine) as session:
        query = select(Step).where(col(Step.run_id) == run.id, col(Step.node) == "publish")
        step = session.execute(query).scalar_one()
    assert step.status == "done"
