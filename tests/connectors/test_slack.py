"""slack.post against a local server that answers like Slack's incoming webhooks and chat.postMessage."""

from __future__ import annotations

import pytest
from connector_support import Reply, Seen, local_server, make_ctx

from connectors.base import PermanentError, RetryableError
from connectors.slack import CONNECTOR

POST = CONNECTOR.actions["slack.post"]
TOKEN = "xoxb-1234-5678-SECRETTOKEN"
HOOK_PATH = "/services/T000/B000/XXXXSECRETXXXX"


def slack_api(seen: Seen) -> Reply:
    """chat.postMessage as Slack answers it: HTTP 200 with ok true/false."""
    if seen.path != "/api/chat.postMessage" or seen.method != "POST":
        return Reply(404, "unknown_method")
    if seen.headers.get("authorization") != f"Bearer {TOKEN}":
        return Reply(200, {"ok": False, "error": "invalid_auth"})
    if not seen.headers.get("content-type", "").startswith("application/json"):
        return Reply(200, {"ok": False, "error": "invalid_form_data"})
    body = seen.json()
    if body.get("channel") == "#ratelimited":
        return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"})
    if body.get("channel") == "#busy":  # some gateways answer 200 with the error and the header
        return Reply(200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"})
    if body.get("channel") != "C0123456789":
        return Reply(200, {"ok": False, "error": "channel_not_found"})
    if not body.get("text") and not body.get("blocks"):
        return Reply(200, {"ok": False, "error": "no_text"})
    if any(block.get("type") not in ("section", "divider", "header") for block in body.get("blocks", [])):
        return Reply(200, {"ok": False, "error": "invalid_blocks", "errors": ["invalid additional property: "
                           "kind [json-pointer:/blocks/0]"], "response_metadata": {"messages": [
                           "[ERROR] invalid additional property: kind [json-pointer:/blocks/0]"]}})
    if body.get("text") == "fatal":
        return Reply(200, {"ok": False, "error": "fatal_error"})
    if body.get("text") == "proxied":
        return Reply(200, "<html><body>Welcome to the captive portal</body></html>",
                     {"Content-Type": "text/html"})
    return Reply(200, {"ok": True, "channel": "C0123456789", "ts": "1700000000.000100",
                       "message": {"text": body.get("text"), "type": "message"}})


HTML = {"Content-Type": "text/html"}


def slack_hook(seen: Seen) -> Reply:
    """An incoming webhook: text `ok`, or a bare error code with a 4xx, all labelled text/html as
    hooks.slack.com does."""
    if seen.path != HOOK_PATH:
        return Reply(404, "no_service", HTML)
    if seen.method != "POST":
        return Reply(405, "invalid_method", HTML)
    if not seen.headers.get("content-type", "").startswith("application/json"):
        return Reply(400, "invalid_payload", HTML)  # a form body needs payload=..., anything else is refused
    body = seen.json()
    if "text" not in body and "blocks" not in body:
        return Reply(400, "no_text", HTML)
    if body.get("text") == "archived":
        return Reply(410, "channel_is_archived", HTML)
    if body.get("text") == "boom":
        return Reply(500, "", HTML)
    return Reply(200, "ok", HTML)


def test_chat_post_message() -> None:
    with local_server(slack_api) as server:
        ctx = make_ctx({"bot_token": TOKEN, "base_url": server.url + "/api"})
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New deal*"}}]
        out = POST.run(ctx, {"text": "New deal", "channel": "C0123456789", "blocks": blocks})
        assert out == {"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"}
        assert server.seen[0].json() == {"channel": "C0123456789", "text": "New deal", "blocks": blocks}


def test_chat_post_message_errors_do_not_leak_the_token() -> None:
    with local_server(slack_api) as server:
        ctx = make_ctx({"bot_token": TOKEN, "base_url": server.url + "/api"})
        with pytest.raises(PermanentError, match="channel_not_found"):
            POST.run(ctx, {"text": "x", "channel": "#nowhere"})
        with pytest.raises(RetryableError) as limited:
            POST.run(ctx, {"text": "x", "channel": "#ratelimited"})
        assert limited.value.retry_after == 30.0 and limited.value.status == 429
        with pytest.raises(RetryableError, match="ratelimited") as busy:
            POST.run(ctx, {"text": "x", "channel": "#busy"})
        assert busy.value.retry_after == 3.0
        bad = make_ctx({"bot_token": TOKEN + "-revoked", "base_url": server.url + "/api"})
        with pytest.raises(PermanentError, match="invalid_auth") as info:
            POST.run(bad, {"text": "x", "channel": "C0123456789"})
        assert "SECRETTOKEN" not in str(info.value) and "SECRETTOKEN" not in repr(info.value.args)
        with pytest.raises(PermanentError, match="needs a channel"):
            POST.run(ctx, {"text": "x"})


def test_chat_post_message_answers_that_may_hide_a_post_are_not_retried() -> None:
    with local_server(slack_api) as server:
        ctx = make_ctx({"bot_token": TOKEN, "base_url": server.url + "/api"})
        with pytest.raises(PermanentError, match="fatal_error"):
            POST.run(ctx, {"text": "fatal", "channel": "C0123456789"})
        with pytest.raises(PermanentError, match="may have been posted"):
            POST.run(ctx, {"text": "proxied", "channel": "C0123456789"})


def test_invalid_blocks_say_which_block() -> None:
    with local_server(slack_api) as server:
        ctx = make_ctx({"bot_token": TOKEN, "base_url": server.url + "/api"})
        with pytest.raises(PermanentError, match=r"invalid_blocks \(\[ERROR\] .*json-pointer:/blocks/0"):
            POST.run(ctx, {"text": "x", "channel": "C0123456789", "blocks": [{"kind": "section"}]})


def test_incoming_webhook() -> None:
    with local_server(slack_hook) as server:
        ctx = make_ctx({"webhook_url": server.url + HOOK_PATH})
        assert POST.run(ctx, {"text": "Hello", "channel": "ignored"}) == {"ok": True}
        assert server.seen[0].json() == {"text": "Hello"}
        with pytest.raises(PermanentError, match="channel_is_archived") as info:
            POST.run(ctx, {"text": "archived"})
        assert info.value.status == 410 and "SECRET" not in str(info.value)
        with pytest.raises(RetryableError):
            POST.run(ctx, {"text": "boom"})
        gone = make_ctx({"webhook_url": server.url + "/services/T0/B0/REMOVED"})
        with pytest.raises(PermanentError, match=r"Slack answered 404: no_service$"):
            POST.run(gone, {"text": "Hello"})


def test_unreachable_webhook_does_not_leak_its_url() -> None:
    from connector_support import free_port

    ctx = make_ctx({"webhook_url": f"http://127.0.0.1:{free_port()}{HOOK_PATH}"})
    with pytest.raises(RetryableError) as info:
        POST.run(ctx, {"text": "x"})
    assert "SECRET" not in str(info.value) and info.value.__cause__ is None


def test_an_echoed_token_is_scrubbed() -> None:
    def echo(seen: Seen) -> Reply:
        return Reply(403, f"invalid_token {seen.headers.get('authorization')}")

    with local_server(echo) as server:
        ctx = make_ctx({"bot_token": TOKEN, "base_url": server.url})
        with pytest.raises(PermanentError, match="invalid_token") as info:
            POST.run(ctx, {"text": "x", "channel": "C1"})
        assert TOKEN not in str(info.value) and "***" in str(info.value)


def test_credential_needs_a_mode() -> None:
    with pytest.raises(PermanentError, match="webhook_url or a bot_token"):
        POST.run(make_ctx({}), {"text": "x"})
