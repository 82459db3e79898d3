"""sms.send against a local server that checks requests the way Twilio's Messages API does."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from connector_support import MemoryRecords, Reply, Seen, local_server, make_ctx

from connectors.base import Deferred, PermanentError, RetryableError
from connectors.sms import CONNECTOR
from connectors.sms.quiet import seconds_left

SEND = CONNECTOR.actions["sms.send"]
SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "auth-token-SECRET-42"
KEY_SID, KEY_SECRET = "SK0123456789abcdef0123456789abcdef", "api-key-SECRET-7"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def twilio(seen: Seen) -> Reply:
    if seen.headers.get("authorization") not in (_basic(SID, TOKEN), _basic(KEY_SID, KEY_SECRET)):
        return Reply(401, {"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.",
                           "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                           "status": 401})
    if seen.method != "POST" or seen.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
        return Reply(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
    if seen.headers.get("content-type") != "application/x-www-form-urlencoded":
        return Reply(400, {"code": 21609, "message": "Invalid request body", "status": 400})
    form = {k: v[0] for k, v in seen.form().items()}
    if form.get("To") == "+15005550001":  # Twilio's magic test number for an invalid 'To'
        return Reply(400, {"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone "
                           "number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
    if not form.get("To"):
        return Reply(400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400})
    if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
        return Reply(400, {"code": 21602, "message": "Message body is required.", "status": 400})
    if "From" not in form and "MessagingServiceSid" not in form:
        return Reply(400, {"code": 21603, "message": "A 'From' phone number is required.", "status": 400})
    if form["To"] == "+37060000429":
        return Reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429},
                     {"Retry-After": "2"})
    if form["To"] == "+37060000500":
        return Reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
    if form["To"] == "+37060000400":
        return Reply(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                           "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400})
    return Reply(201, {"sid": "SM" + "a" * 32, "status": "queued", "to": form["To"],
                       "from": form.get("From"), "body": form["Body"], "num_segments": "1",
                       "account_sid": SID, "error_code": None, "error_message": None})


def creds(url: str, **more: Any) -> dict[str, Any]:
    return {"account_sid": SID, "auth_token": TOKEN, "from": "+37052000000", "base_url": url,
            "default_region": "LT", **more}


def test_sends_in_e164() -> None:
    with local_server(twilio) as server:
        out = SEND.run(make_ctx(creds(server.url)), {"to": "8 600 12345", "body": "Sveiki!"})
        assert out == {"sid": "SM" + "a" * 32, "status": "queued", "to": "+37060012345", "segments": 1}
        form = server.seen[0].form()
        assert form == {"To": ["+37060012345"], "From": ["+37052000000"], "Body": ["Sveiki!"]}


def test_alphanumeric_sender_and_messaging_service() -> None:
    with local_server(twilio) as server:
        SEND.run(make_ctx(creds(server.url)), {"to": "+37060012345", "body": "x", "from": "ACME"})
        assert server.seen[0].form()["From"] == ["ACME"]
        ctx = make_ctx(creds(server.url, **{"from": None, "messaging_service_sid": "MG123"}))
        SEND.run(ctx, {"to": "+37060012345", "body": "x"})
        assert server.seen[1].form()["MessagingServiceSid"] == ["MG123"]


def test_numbers_only_twilio_can_judge_go_to_twilio() -> None:
    """A number of a possible length goes out even if our metadata does not know the range (Twilio's
    documentation examples use +1 555 numbers); Twilio answers 21211 for one it cannot use."""
    with local_server(twilio) as server:
        ctx = make_ctx(creds(server.url))
        assert SEND.run(ctx, {"to": "+1 555 867 5310", "body": "x"})["to"] == "+15558675310"
        with pytest.raises(PermanentError, match=r"not a valid phone number\. \(error 21211\)") as info:
            SEND.run(ctx, {"to": "+15005550001", "body": "x"})
        assert info.value.status == 400


def test_api_key_auth() -> None:
    with local_server(twilio) as server:
        ctx = make_ctx(creds(server.url, auth_token=None, api_key_sid=KEY_SID, api_key_secret=KEY_SECRET))
        assert SEND.run(ctx, {"to": "+37060012345", "body": "x"})["status"] == "queued"
        assert server.seen[0].path == f"/2010-04-01/Accounts/{SID}/Messages.json"
        wrong = make_ctx(creds(server.url, auth_token=None, api_key_sid=KEY_SID,
                               api_key_secret="wrong-SECRET-key"))
        with pytest.raises(PermanentError, match="Authenticate") as denied:
            SEND.run(wrong, {"to": "+37060012345", "body": "x"})
        assert "SECRET" not in str(denied.value)
        with pytest.raises(PermanentError, match="auth_token, or an api_key_sid"):
            SEND.run(make_ctx(creds(server.url, auth_token=None)), {"to": "+37060012345", "body": "x"})


@pytest.mark.parametrize("number", ["12", "not a number", "+3706", "+999 123 456", "+1 555 867 53100"])
def test_invalid_numbers_are_refused_before_any_request(number: str) -> None:
    with local_server(twilio) as server:
        with pytest.raises(PermanentError, match="phone number"):
            SEND.run(make_ctx(creds(server.url)), {"to": number, "body": "x"})
        assert server.seen == []


def test_provider_errors_are_mapped_and_secret_free() -> None:
    with local_server(twilio) as server:
        ctx = make_ctx(creds(server.url))
        with pytest.raises(PermanentError, match="unsubscribed recipient") as refused:
            SEND.run(ctx, {"to": "+37060000400", "body": "x"})
        assert refused.value.status == 400 and "21610" in str(refused.value)
        with pytest.raises(RetryableError) as limited:
            SEND.run(ctx, {"to": "+37060000429", "body": "x"})
        assert limited.value.retry_after == 2.0
        with pytest.raises(RetryableError, match="500"):
            SEND.run(ctx, {"to": "+37060000500", "body": "x"})
        wrong = make_ctx(creds(server.url, auth_token="wrong-SECRET-token"))
        with pytest.raises(PermanentError, match=r"401: Authenticate \(error 20003\): Your AccountSid or "
                                                 r"AuthToken was incorrect\.$") as info:
            SEND.run(wrong, {"to": "+37060012345", "body": "x"})
        assert info.value.status == 401
        for text in (str(info.value), repr(info.value.args)):
            assert "SECRET" not in text and TOKEN not in text


def test_quiet_hours_in_the_contact_timezone() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Vilnius, 23:00 in Auckland
    records = MemoryRecords()
    records.put("contact", {"id": 7, "timezone": "Pacific/Auckland"})
    records.put("contact", {"id": 8})
    window = {"from": "21:00", "to": "08:00"}
    with local_server(twilio) as server:
        ctx = make_ctx(creds(server.url, quiet_hours=window, timezone="Europe/Vilnius"), records=records,
                       subject={"contact_id": 7}, now=now)
        with pytest.raises(Deferred, match="quiet hours") as info:  # re-timed, not a failed attempt
            SEND.run(ctx, {"to": "+37060012345", "body": "x"})
        assert info.value.retry_after == 9 * 3600  # until 08:00 in Auckland
        assert not info.value.spread  # wake when the window ends, not up to half the wait later
        # a deal's run: the deal's contact's timezone
        records.put("deal", {"id": 3, "contact_id": 7})
        deal = make_ctx(creds(server.url, quiet_hours=window, timezone="Europe/Vilnius"), records=records,
                        subject={"deal_id": 3}, now=now)
        with pytest.raises(Deferred, match="Pacific/Auckland"):
            SEND.run(deal, {"to": "+37060012345", "body": "x"})
        assert server.seen == []
        assert SEND.run(ctx, {"to": "+37060012345", "body": "x", "ignore_quiet_hours": True})["sid"]
        # no timezone on the contact: the credential's (Vilnius, midday) lets it through
        ctx = make_ctx(creds(server.url, quiet_hours=window, timezone="Europe/Vilnius"), records=records,
                       subject={"contact_id": 8}, now=now)
        assert SEND.run(ctx, {"to": "+37060012345", "body": "x"})["status"] == "queued"


def test_quiet_window_arithmetic() -> None:
    la = ZoneInfo("America/Los_Angeles")
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 02:00 in Los Angeles
    assert seconds_left(at, "21:00", "08:00", la) == 6 * 3600
    assert seconds_left(at, "01:00", "03:00", la) == 3600
    assert seconds_left(at, "03:00", "05:00", la) == 0
    assert seconds_left(at, "08:00", "08:00", la) == 0
    evening = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)  # 21:30 the day before in LA
    assert seconds_left(evening, "21:00", "08:00", la) == 10.5 * 3600


def test_errors_array_shape_and_an_acceptance_that_is_not_json() -> None:
    """Twilio's newer APIs answer `{"errors": [...]}`; a 2xx that is not JSON may hide a sent message,
    so it must not be retried (sms.send is at most once)."""
    def answer(seen: Seen) -> Reply:
        if seen.form()["To"] == ["+37060000429"]:
            return Reply(429, {"errors": [{"code": 20429, "message": "Too many requests. Please retry "
                                           "according to the Retry-After response header.",
                                           "infoUrl": "https://www.twilio.com/docs/api/errors/20429"}]},
                         {"Retry-After": "7"})
        return Reply(201, "<html>Created</html>", {"Content-Type": "text/html"})

    with local_server(answer) as server:
        ctx = make_ctx(creds(server.url))
        with pytest.raises(RetryableError, match=r"Too many requests.*\(error 20429\)") as limited:
            SEND.run(ctx, {"to": "+37060000429", "body": "x"})
        assert limited.value.retry_after == 7.0
        with pytest.raises(PermanentError, match="may have been sent"):
            SEND.run(ctx, {"to": "+37060012345", "body": "x"})
