"""reviews.request against a local Trustpilot and a real SMTP server; inbound review payloads."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from connector_support import Reply, Seen, checked, local_server, make_ctx

from connectors.base import PermanentError, RetryableError
from connectors.reviews import CONNECTOR
from connectors.reviews.inbound import BadReviewPayload, generic_event, trustpilot_events

REQUEST = checked(CONNECTOR.actions)["reviews.request"]
UNIT, KEY, SECRET, TOKEN = "507f191e810c19729de860ea", "api-key-1", "api-SECRET-1", "tp-access-token"
USER = "5f0c8ad3e0d6b3c1a2b3c4d5"  # the business user a client-credentials token acts for
INVITE_PATH = f"/v1/private/business-units/{UNIT}/email-invitations"


def trustpilot(seen: Seen) -> Reply:
    if seen.path == "/v1/oauth/oauth-business-users-for-applications/accesstoken":
        basic = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        grant = seen.form() == {"grant_type": ["client_credentials"]}
        if not grant:
            return Reply(400, {"ErrorCode": "invalid_request", "Error": "Unsupported grant type"})
        if not seen.headers.get("authorization", "").startswith("Basic "):
            return Reply(400, {"ErrorCode": "invalid_request",
                               "Error": "The request is missing a required parameter : client_id"})
        user = base64.b64decode(seen.headers["authorization"][6:]).decode().split(":", 1)[0]
        if user != KEY:
            return Reply(401, {"ErrorCode": "invalid_request",
                               "Error": f"Invalid client id : {user}. ClientId is Invalid"})
        if seen.headers.get("authorization") != basic:
            return Reply(401, {"fault": {"faultstring": "Invalid ApiKey",
                                         "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}})
        return Reply(200, {"access_token": TOKEN, "token_type": "BearerToken", "expires_in": "359999"})
    if seen.path != INVITE_PATH or seen.method != "POST":
        return Reply(404, {"message": "Resource not found"})
    if seen.headers.get("authorization") != f"Bearer {TOKEN}":
        return Reply(401, {"fault": {"faultstring": "Invalid access token",
                                     "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}})
    if seen.headers.get("x-business-user-id") != USER:
        return Reply(403, {"message": "A business user id is required with a client_credentials token",
                           "errorCode": 403})
    if not seen.headers.get("content-type", "").startswith("application/json"):
        return Reply(415, {"message": "Unsupported media type", "errorCode": 415})
    body = seen.json()
    send_time = body.get("serviceReviewInvitation", {}).get("preferredSendTime")
    if send_time and not re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", send_time):
        return Reply(400, {"message": "Invalid preferredSendTime", "errorCode": 400})
    if body.get("consumerEmail") == "echo@example.com":
        return Reply(403, {"message": f"{seen.headers.get('authorization')} may not invite for this unit"})
    if body.get("consumerEmail") == "busy@example.com":
        return Reply(429, {"message": "Too many requests"}, {"Retry-After": "60"})
    if not body.get("consumerName") or body.get("type") != "email":
        return Reply(400, {"message": "Invalid request: consumerName is required", "errorCode": 400})
    if body.get("consumerEmail") == "blocked@example.com":
        return Reply(400, {"message": "The consumer has opted out of receiving invitations",
                           "errorCode": 400})
    return Reply(202, "")


def tp_creds(url: str, **more: Any) -> dict[str, Any]:
    return {"trustpilot_api_key": KEY, "trustpilot_api_secret": SECRET, "business_unit_id": UNIT,
            "business_user_id": USER, "trustpilot_base_url": url, "trustpilot_auth_url": url,
            "template_id": "tmpl-1",
            "sender_email": "noreply.invitations@trustpilotmail.com", "reply_to": "help@acme.test", **more}


def test_trustpilot_invitation() -> None:
    with local_server(trustpilot) as server:
        out = REQUEST.run(make_ctx(tp_creds(server.url)), {"provider": "trustpilot", "to": "ada@example.com",
                                                           "name": "Ada", "reference": "ORDER-1001"})
        assert out == {"provider": "trustpilot", "to": "ada@example.com", "reference": "ORDER-1001"}
        invite = server.seen[-1]
        assert invite.path == INVITE_PATH
        assert invite.json() == {
            "consumerEmail": "ada@example.com", "consumerName": "Ada", "type": "email", "locale": "en-US",
            "referenceNumber": "ORDER-1001", "senderEmail": "noreply.invitations@trustpilotmail.com",
            "replyTo": "help@acme.test", "serviceReviewInvitation": {"templateId": "tmpl-1"}}


def test_trustpilot_reference_defaults_to_the_run_subject() -> None:
    """Trustpilot's review webhook carries no e-mail, only the reference: by default it names the record."""
    with local_server(trustpilot) as server:
        params = {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada"}
        deal = REQUEST.run(make_ctx(tp_creds(server.url), subject={"contact_id": 7, "deal_id": 12}), params)
        assert server.seen[-1].json()["referenceNumber"] == "deal:12" and deal["reference"] == "deal:12"
        REQUEST.run(make_ctx(tp_creds(server.url), subject={"contact_id": 7}), params)
        assert server.seen[-1].json()["referenceNumber"] == "contact:7"
        REQUEST.run(make_ctx(tp_creds(server.url)), params)
        assert "referenceNumber" not in server.seen[-1].json()


def test_trustpilot_errors() -> None:
    with local_server(trustpilot) as server:
        ctx = make_ctx(tp_creds(server.url))
        with pytest.raises(PermanentError, match="opted out") as info:
            REQUEST.run(ctx, {"provider": "trustpilot", "to": "blocked@example.com", "name": "B"})
        assert info.value.status == 400
        with pytest.raises(RetryableError) as limited:
            REQUEST.run(ctx, {"provider": "trustpilot", "to": "busy@example.com", "name": "B"})
        assert limited.value.retry_after == 60
        stale = make_ctx(tp_creds(server.url, trustpilot_access_token="stale-SECRET-token"))
        with pytest.raises(PermanentError, match="Invalid access token") as denied:
            REQUEST.run(stale, {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada"})
        assert "SECRET" not in str(denied.value)
        with pytest.raises(PermanentError, match=r"401: Invalid ApiKey \(oauth.v2.InvalidApiKey\)") as bad:
            REQUEST.run(make_ctx(tp_creds(server.url, trustpilot_api_secret="wrong-SECRET")),
                        {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada"})
        assert "SECRET" not in str(bad.value)
        with pytest.raises(PermanentError, match=r"401: Invalid client id : \*\*\*\. ClientId is Invalid "
                                                 r"\(invalid_request\)"):
            REQUEST.run(make_ctx(tp_creds(server.url, trustpilot_api_key="unknown-api-key")),
                        {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada"})
        with pytest.raises(PermanentError, match="may not invite") as echoed:
            REQUEST.run(ctx, {"provider": "trustpilot", "to": "echo@example.com", "name": "E"})
        assert TOKEN not in str(echoed.value) and "Bearer ***" in str(echoed.value)
        with pytest.raises(PermanentError, match="business user id is required"):
            REQUEST.run(make_ctx(tp_creds(server.url, business_user_id=None)),
                        {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada"})


def test_trustpilot_send_time_is_utc_in_its_format() -> None:
    with local_server(trustpilot) as server:
        params = {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada",
                  "send_after": "2026-11-24T09:30:00+02:00"}
        REQUEST.run(make_ctx(tp_creds(server.url)), params)
        invitation = server.seen[-1].json()["serviceReviewInvitation"]
        assert invitation == {"templateId": "tmpl-1", "preferredSendTime": "11/24/2026 07:30:00"}


def test_trustpilot_redirect_tags_and_location() -> None:
    with local_server(trustpilot) as server:
        ctx = make_ctx(tp_creds(server.url, redirect_uri="https://acme.test/thanks", location_id="LOC-1"))
        REQUEST.run(ctx, {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada",
                          "tags": ["repeat-customer", "vilnius"]})
        sent = server.seen[-1].json()
        assert sent["locationId"] == "LOC-1"
        assert sent["serviceReviewInvitation"] == {"templateId": "tmpl-1",
                                                   "redirectUri": "https://acme.test/thanks",
                                                   "tags": ["repeat-customer", "vilnius"]}


def test_google_review_link_by_mail(smtp_server: Any) -> None:
    inbox, port = smtp_server
    smtp = {"host": "127.0.0.1", "port": port, "security": "none", "username": "mailer",
            "password": "s3cret-pass", "from": "Acme <hello@acme.test>"}
    ctx = make_ctx({"google_review_url": "https://g.page/r/acme/review", "smtp": smtp})
    out = REQUEST.run(ctx, {"provider": "google", "to": "ada@example.com", "name": "Ada", "reference": "D-3"})
    assert out["provider"] == "google" and out["message_id"] == inbox.messages[0]["Message-ID"]
    text = inbox.messages[0].get_body(("plain",)).get_content()
    assert "Hi Ada" in text and "https://g.page/r/acme/review" in text
    with pytest.raises(PermanentError, match="google_review_url"):
        REQUEST.run(make_ctx({"smtp": smtp}), {"provider": "google", "to": "ada@example.com", "name": "Ada"})


def test_trustpilot_webhook_becomes_review_received() -> None:
    payload = {"events": [
        {"eventName": "service-review-created", "version": "1", "eventData": {
            "id": "5f1e3a", "createdAt": "2026-11-23T10:00:00Z", "stars": 4, "title": "Good",
            "text": "Quick delivery", "language": "en", "referenceId": "ORDER-1001",
            "consumer": {"id": "c1", "name": "Ada", "displayLocation": None}, "tags": []}},
        {"eventName": "service-review-deleted", "version": "1", "eventData": {"id": "old"}},
    ]}
    [event] = trustpilot_events(payload)
    assert event["id"] == "trustpilot:5f1e3a" and event["type"] == "review.received"
    assert event["subject"] == {"reference": "ORDER-1001"} and event["at"] == "2026-11-23T10:00:00Z"
    assert event["data"]["rating"] == 4 and isinstance(event["data"]["rating"], int)
    assert event["data"]["text"] == "Quick delivery" and event["data"]["source"] == "trustpilot"


def test_generic_review_payload() -> None:
    event = generic_event({"rating": "4.5", "email": "ada@example.com", "text": "Nice"})
    assert event["type"] == "review.received"
    assert event["subject"] == {"contact": {"email": "ada@example.com"}}
    assert event["data"] == {"rating": 4.5, "text": "Nice", "email": "ada@example.com", "source": "webhook"}
    assert generic_event({"rating": "4.5", "email": "ada@example.com", "text": "Nice"})["id"] == event["id"]
    assert generic_event({"id": "r-1", "rating": 5, "email": "ada@example.com"})["id"] == "r-1"
    assert generic_event({"rating": 3, "reference": "deal:12"})["subject"] == {"reference": "deal:12"}
    for bad in ({"rating": "great", "email": "a@b.c"}, {"rating": 5}, {"rating": 11, "email": "a@b.c"}):
        with pytest.raises(BadReviewPayload):
            generic_event(bad)
