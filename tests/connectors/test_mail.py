"""mail.send against a real SMTP server (aiosmtpd), and its links followed through the tracking blueprint."""

from __future__ import annotations

import re
from typing import Any

import pytest
from connector_support import MemoryRecords, checked, free_port, make_ctx
from flask import Flask

from builder.tracking import PIXEL, make_tracking_blueprint
from connectors.base import PermanentError, RetryableError
from connectors.mail import CONNECTOR
from connectors.mail.message import message_id

SEND = CONNECTOR.actions["mail.send"]
SETTINGS = {"public_url": "https://flow.example.com", "secret_key": "instance-secret"}
UNSUBSCRIBE = re.compile(r"https://flow\.example\.com(/t/u/\S+)")


def creds(port: int, **more: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "none", "username": "mailer",
            "password": "s3cret-pass", "from": "Acme <hello@acme.test>", "reply_to": "help@acme.test",
            "timeout": 5, **more}


def records_with(**contact: Any) -> MemoryRecords:
    records = MemoryRecords()
    records.put("contact", {"id": 7, "email": "ada@example.com", "subscribed": True, **contact})
    return records


def tracking_client(events: list[dict[str, Any]]) -> Any:
    app = Flask(__name__)
    app.register_blueprint(make_tracking_blueprint(events.append, SETTINGS["secret_key"]))
    return app.test_client()


def test_sends_multipart_with_tracking_and_unsubscribe(smtp_server: Any) -> None:
    inbox, port = smtp_server
    ctx = make_ctx(creds(port), records=records_with(), subject={"contact_id": 7}, settings=SETTINGS)
    html = ('<html><body><p>Hi Ada, see <a href="https://shop.example.com/offer?a=1&amp;b=2">the offer</a>'
            ' or <a href="mailto:help@acme.test">write</a>.</p></body></html>')
    out = SEND.run(ctx, {"to": "ada@example.com", "subject": "Hello Ada", "body": "Hi Ada", "html": html})

    assert out == {"message_id": message_id("run-1:ask:1", "hello@acme.test"), "to": "ada@example.com",
                   "accepted": True}
    assert [login for login, _ in inbox.logins] == ["mailer"]
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "hello@acme.test" and envelope.rcpt_tos == ["ada@example.com"]
    msg = inbox.messages[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == "Acme <hello@acme.test>" and msg["Reply-To"] == "help@acme.test"
    assert msg["Message-ID"] == out["message_id"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https://flow\.example\.com/t/u/[^>]+)>", msg["List-Unsubscribe"])
    assert unsubscribe

    text = msg.get_body(("plain",)).get_content()
    body = msg.get_body(("html",)).get_content()
    assert "Hi Ada" in text and unsubscribe.group(1) in text
    assert "https://shop.example.com/offer" not in body  # rewritten to the click redirect
    assert 'href="mailto:help@acme.test"' in body  # not an http link: left alone
    click = re.search(r'href="https://flow\.example\.com(/t/c/[^"]+)"', body)
    pixel = re.search(r'<img src="https://flow\.example\.com(/t/o/[^"]+\.gif)"', body)
    assert click and pixel and unsubscribe.group(1) in body

    events: list[dict[str, Any]] = []
    client = tracking_client(events)
    opened = client.get(pixel.group(1))
    assert opened.status_code == 200 and opened.mimetype == "image/gif" and opened.data == PIXEL
    clicked = client.get(click.group(1))
    assert clicked.status_code == 302
    assert clicked.headers["Location"] == "https://shop.example.com/offer?a=1&b=2"
    path = unsubscribe.group(1).removeprefix("https://flow.example.com")
    confirm = client.get(path)
    assert confirm.status_code == 200 and b"<form" in confirm.data and b"ada@example.com" in confirm.data
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # RFC 8058 one-click
    assert done.status_code == 200

    assert [e["type"] for e in events] == ["email.opened", "email.clicked", "contact.unsubscribed"]
    for event in events:
        assert event["subject"] == {"contact_id": 7}
        assert event["data"]["message_id"] == out["message_id"] and event["data"]["run_id"] == "run-1"
        assert event["id"] and event["at"]
    assert events[1]["data"]["url"] == "https://shop.example.com/offer?a=1&b=2"
    assert events[2]["data"]["one_click"] is True


def test_list_unsubscribe_is_sent_raw_on_one_line(smtp_server: Any) -> None:
    """RFC 2369/8058 receivers read the header's bytes: a long signed URL must not be RFC 2047-encoded
    or folded (the parsed message hides both, so this reads what the server received)."""
    inbox, port = smtp_server
    ctx = make_ctx(creds(port), records=records_with(), subject={"contact_id": 7}, settings=SETTINGS)
    SEND.run(ctx, {"to": "ada@example.com", "subject": "Hello Ada", "body": "Hi Ada"})

    raw = inbox.envelopes[0].original_content
    head = raw.split(b"\r\n\r\n", 1)[0]
    found = re.search(rb"\r\nList-Unsubscribe: <(https://flow\.example\.com/t/u/[A-Za-z0-9_.-]+)>\r\n", head)
    assert found, head.decode()
    assert len(found.group(1)) > 78  # long enough that the default policy would have encoded it
    assert b"=?utf-8?" not in head
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in head
    assert found.group(1).decode() in inbox.messages[0].get_body(("plain",)).get_content()


def test_tampered_tokens_are_refused(smtp_server: Any) -> None:
    inbox, port = smtp_server
    ctx = make_ctx(creds(port), records=records_with(), subject={"contact_id": 7}, settings=SETTINGS)
    SEND.run(ctx, {"to": "ada@example.com", "subject": "Hi", "body": "Go to https://a.example.com/x now"})
    body = inbox.messages[0].get_body(("html",)).get_content()
    click = re.search(r'href="https://flow\.example\.com(/t/c/[^"]+)"', body)
    assert click  # the text-only body got an HTML part with its link tracked
    events: list[dict[str, Any]] = []
    client = tracking_client(events)
    token = click.group(1)
    assert client.get(token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")).status_code == 400
    # a token of one kind does not work as another
    assert client.get(token.replace("/t/c/", "/t/u/")).status_code == 400
    assert client.post(token.replace("/t/c/", "/t/u/")).status_code == 400
    assert client.get("/t/o/garbage.gif").data == PIXEL
    assert events == []


def test_plain_text_without_tracking_settings(smtp_server: Any) -> None:
    inbox, port = smtp_server
    ctx = make_ctx(creds(port, reply_to=None), records=MemoryRecords())
    SEND.run(ctx, {"to": "Bob <bob@example.com>", "subject": "Plain", "body": "Just text",
                   "from": "Team <team@acme.test>", "cc": ["cc@example.com"], "bcc": ["hidden@example.com"]})
    msg = inbox.messages[0]
    assert msg.get_content_type() == "text/plain" and msg["List-Unsubscribe"] is None
    assert msg["From"] == "Team <team@acme.test>" and msg["Reply-To"] is None and msg["Bcc"] is None
    assert sorted(inbox.envelopes[0].rcpt_tos) == ["bob@example.com", "cc@example.com", "hidden@example.com"]


@pytest.mark.parametrize(("contact", "reason"), [
    ({"subscribed": False}, "unsubscribed"),
    ({"status": "bounced"}, "bounced"),
    ({"bounced": True}, "bounced"),
])
def test_refuses_unsubscribed_or_bounced_contacts(smtp_server: Any, contact: dict[str, Any],
                                                  reason: str) -> None:
    inbox, port = smtp_server
    ctx = make_ctx(creds(port), records=records_with(**contact), subject={"contact_id": 7}, settings=SETTINGS)
    with pytest.raises(PermanentError, match=reason):
        SEND.run(ctx, {"to": "ada@example.com", "subject": "Hi", "body": "x"})
    assert inbox.envelopes == []


def test_service_mail_reaches_unsubscribed_contacts_without_an_unsubscribe_link(smtp_server: Any) -> None:
    inbox, port = smtp_server
    ctx = make_ctx(creds(port), records=records_with(subscribed=False), subject={"contact_id": 7},
                   settings=SETTINGS)
    params = {"to": "ada@example.com", "subject": "Invoice 42 is due", "body": "Pay", "category": "service"}
    assert checked(CONNECTOR.actions)["mail.send"].run(ctx, params)["accepted"] is True
    msg = inbox.messages[0]
    assert msg["List-Unsubscribe"] is None
    assert "/t/u/" not in msg.get_body(("plain",)).get_content()
    bounced = make_ctx(creds(port), records=records_with(status="bounced"), subject={"contact_id": 7},
                       settings=SETTINGS)
    with pytest.raises(PermanentError, match="bounced"):
        SEND.run(bounced, params)
    assert len(inbox.envelopes) == 1


def test_refuses_the_contact_of_a_deal_subject(smtp_server: Any) -> None:
    _inbox, port = smtp_server
    records = records_with(subscribed=False)
    records.put("deal", {"id": 3, "contact_id": 7})
    ctx = make_ctx(creds(port), records=records, subject={"deal_id": 3})
    with pytest.raises(PermanentError, match="unsubscribed"):
        SEND.run(ctx, {"to": "ada@example.com", "subject": "Hi", "body": "x"})


def test_refusal_is_judged_by_the_recipient_not_the_run_subject(smtp_server: Any) -> None:
    """Mailing the owner in a run about an unsubscribed contact goes out; mailing an unsubscribed or
    bounced contact who is not the run's subject (as To, Cc or Bcc) is refused."""
    inbox, port = smtp_server
    records = records_with(subscribed=False)  # contact 7, the run's subject, has unsubscribed
    records.put("contact", {"id": 8, "email": "bob@example.com", "subscribed": False})
    records.put("contact", {"id": 9, "email": "cy@example.com", "subscribed": True, "bounced": True})
    records.put("contact", {"id": 10, "email": "dee@example.com", "subscribed": True})
    ctx = make_ctx(creds(port), records=records, subject={"contact_id": 7}, settings=SETTINGS)

    out = SEND.run(ctx, {"to": "owner@acme.test", "subject": "Ada unsubscribed", "body": "FYI"})
    assert out["accepted"] is True and inbox.envelopes[0].rcpt_tos == ["owner@acme.test"]
    with pytest.raises(PermanentError, match=r"mail not sent to Bob@Example.com: .*unsubscribed"):
        SEND.run(make_ctx(creds(port), records=records, subject={"contact_id": 10}),
                 {"to": "Bob@Example.com", "subject": "Hi", "body": "x"})
    with pytest.raises(PermanentError, match=r"cy@example.com: .*bounced"):
        SEND.run(make_ctx(creds(port), records=records, subject={"contact_id": 10}),
                 {"to": "dee@example.com", "cc": ["cy@example.com"], "subject": "Hi", "body": "x"})
    assert len(inbox.envelopes) == 1

    # the tracking links are the recipient's: the owner's unsubscribe link does not unsubscribe Ada
    link = UNSUBSCRIBE.search(inbox.messages[0].get_body(("plain",)).get_content())
    assert link
    # the owner is no contact: no open pixel or click redirect, so opening it creates no contact
    owner_html = inbox.messages[0].get_body(("html",)).get_content()
    assert "/t/o/" not in owner_html and "/t/c/" not in owner_html
    events: list[dict[str, Any]] = []
    tracking_client(events).post(link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert events[0]["subject"] == {"contact": {"email": "owner@acme.test"}}
    dee = make_ctx(creds(port), records=records, subject={"contact_id": 7}, settings=SETTINGS)
    SEND.run(dee, {"to": "dee@example.com", "subject": "Hi", "body": "x"})
    link = UNSUBSCRIBE.search(inbox.messages[1].get_body(("plain",)).get_content())
    assert link
    tracking_client(events).post(link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert events[1]["subject"] == {"contact_id": 10}


@pytest.mark.parametrize("to", ["not-an-address", "a@b", "", "two@x.com, three@y.com"])
def test_refuses_invalid_addresses(smtp_server: Any, to: str) -> None:
    inbox, port = smtp_server
    with pytest.raises(PermanentError, match="valid email"):
        SEND.run(make_ctx(creds(port)), {"to": to, "subject": "Hi", "body": "x"})
    assert inbox.envelopes == []


def test_a_subject_with_line_breaks_is_one_line_and_a_bad_reply_to_is_refused(smtp_server: Any) -> None:
    """A templated subject may hold a multi-line field: one line, never an extra header."""
    inbox, port = smtp_server
    SEND.run(make_ctx(creds(port)), {"to": "ada@example.com", "subject": "Order 42\r\nBcc: eve@example.com",
                                     "body": "x"})
    sent = inbox.messages[0]
    assert sent["Subject"] == "Order 42 Bcc: eve@example.com" and sent["Bcc"] is None
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.com"]
    with pytest.raises(PermanentError, match="reply-to"):
        SEND.run(make_ctx(creds(port)), {"to": "ada@example.com", "subject": "Hi", "body": "x",
                                         "reply_to": "help@acme.test\r\nBcc: eve@example.com"})
    assert len(inbox.envelopes) == 1


def test_wrong_password_is_permanent_and_not_leaked(smtp_server: Any) -> None:
    _inbox, port = smtp_server
    with pytest.raises(PermanentError) as info:
        SEND.run(make_ctx(creds(port, password="wrong-pass-XYZ")),
                 {"to": "ada@example.com", "subject": "Hi", "body": "x"})
    assert info.value.status == 535 and "wrong-pass-XYZ" not in str(info.value)


@pytest.mark.parametrize(("code", "error"), [(550, PermanentError), (450, RetryableError)])
def test_refused_recipient(smtp_server: Any, code: int, error: type[Exception]) -> None:
    inbox, port = smtp_server
    inbox.reject = (code, "5.1.1 mailbox unavailable" if code == 550 else "4.2.0 try later")
    with pytest.raises(error, match=r"mailbox unavailable|try later"):
        SEND.run(make_ctx(creds(port)), {"to": "ada@example.com", "subject": "Hi", "body": "x"})


def test_unreachable_server_is_retryable() -> None:
    with pytest.raises(RetryableError, match="could not be reached"):
        SEND.run(make_ctx(creds(free_port())), {"to": "ada@example.com", "subject": "Hi", "body": "x"})


@pytest.mark.parametrize(("stage", "reply", "error"), [
    ("auth_reply", "454 4.7.0 Temporary authentication failure", RetryableError),
    ("reject_mail", (451, "4.7.1 Greylisted, please try again later"), RetryableError),
    ("reject_mail", (553, "5.7.1 Sender address rejected: not owned by user"), PermanentError),
    ("reject_data", (452, "4.3.1 Insufficient system storage"), RetryableError),
    ("reject_data", (554, "5.7.1 Message rejected as spam"), PermanentError),
])
def test_smtp_replies_4xx_transient_5xx_permanent(smtp_server: Any, stage: str, reply: Any,
                                                   error: type[Exception]) -> None:
    """SMTP's own rule (RFC 5321 §4.2.1): 4yz is a transient failure worth retrying, 5yz permanent."""
    inbox, port = smtp_server
    setattr(inbox, stage, reply)
    code = int(str(reply[0] if isinstance(reply, tuple) else reply[:3]))
    with pytest.raises(error) as info:
        SEND.run(make_ctx(creds(port)), {"to": "ada@example.com", "subject": "Hi", "body": "x"})
    assert info.value.status == code and str(code) in str(info.value)
    assert "s3cret-pass" not in str(info.value) and inbox.envelopes == []


def test_some_recipients_refused_is_reported_not_raised(smtp_server: Any) -> None:
    """The message went to the others: failing the step would invite sending it to them again."""
    inbox, port = smtp_server
    inbox.reject, inbox.reject_only = (550, "5.1.1 No such user"), {"gone@example.com"}
    out = checked(CONNECTOR.actions)["mail.send"].run(make_ctx(creds(port)), {
        "to": "ada@example.com", "subject": "Hi", "body": "x", "cc": ["gone@example.com"]})
    assert out["accepted"] is True and out["refused"] == ["gone@example.com"]
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.com"]
