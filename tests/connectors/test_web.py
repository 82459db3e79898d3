"""http.request and webhook.send: egress refusals (SSRF), redirects re-checked, signatures, error mapping."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
import requests
from connector_support import Reply, Seen, local_server, make_ctx

from connectors.base import PermanentError, RetryableError
from connectors.web import CONNECTOR as WEB
from connectors.webhook import CONNECTOR as WEBHOOK

REQUEST = WEB.actions["http.request"]
SEND = WEBHOOK.actions["webhook.send"]
LOCAL = {"http_allowlist": ["127.0.0.1"]}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/", "http://localhost/", "http://10.1.2.3/", "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "http://224.0.0.1/", "http://240.0.0.1/",
])
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(PermanentError, match="refused"):
        REQUEST.run(make_ctx(), {"url": url})
    with pytest.raises(PermanentError, match="refused"):
        SEND.run(make_ctx({"signing_secret": "k"}), {"url": url, "payload": {}})


def test_non_http_schemes_are_refused() -> None:
    with pytest.raises(PermanentError, match="only http"):
        REQUEST.run(make_ctx(), {"url": "file:///etc/passwd"})


def test_request_to_allow_listed_server() -> None:
    def answer(seen: Seen) -> Reply:
        if seen.path == "/text":
            return Reply(200, "plain words")
        return Reply(201, {"got": seen.json(), "q": seen.query}, {"X-Thing": "1"})

    with local_server(answer) as server:
        out = REQUEST.run(make_ctx(settings=LOCAL), {
            "method": "POST", "url": server.url + "/things", "json": {"a": 1}, "query": {"x": "y"},
            "headers": {"Authorization": "Bearer abc"}, "timeout": 5})
        assert out["status"] == 201 and out["json"] == {"got": {"a": 1}, "q": {"x": ["y"]}}
        assert out["headers"]["X-Thing"] == "1"
        assert server.seen[0].headers["authorization"] == "Bearer abc"
        ctx = make_ctx(settings={"http_allowlist": "127.0.0.0/8"})
        text = REQUEST.run(ctx, {"url": server.url + "/text"})
        assert text["body"] == "plain words" and "json" not in text


def test_redirects_are_followed_and_rechecked() -> None:
    def answer(seen: Seen) -> Reply:
        targets = {"/hop": "/final", "/to-loopback": "http://127.0.0.2:80/admin",
                   "/to-v6": "http://[::1]/", "/loop": "/loop"}
        if seen.path in targets:
            return Reply(302, "", {"Location": targets[seen.path]})
        return Reply(200, {"path": seen.path, "method": seen.method})

    with local_server(answer) as server:
        ctx = make_ctx(settings=LOCAL)
        out = REQUEST.run(ctx, {"url": server.url + "/hop", "method": "POST", "json": {}})
        assert out["json"] == {"path": "/final", "method": "GET"}  # 302 after POST becomes GET
        for path in ("/to-loopback", "/to-v6"):
            with pytest.raises(PermanentError, match="refused"):
                REQUEST.run(ctx, {"url": server.url + path})
        with pytest.raises(PermanentError, match="too many redirects"):
            REQUEST.run(ctx, {"url": server.url + "/loop"})
        assert len([s for s in server.seen if s.path == "/loop"]) == 6


def test_a_cross_origin_redirect_forwards_none_of_the_callers_headers() -> None:
    """Any header the flow passed may be a credential (X-Api-Key, a token of the provider's own): only the
    origin it was meant for gets them; a redirect on the same origin keeps them."""
    with local_server(lambda seen: Reply(200, {"ok": True})) as other:
        def answer(seen: Seen) -> Reply:
            targets = {"/away": other.url + "/landed", "/keep": "/stay", "/away-post": other.url + "/post"}
            if seen.path in targets:
                return Reply(307 if seen.path == "/away-post" else 302, "", {"Location": targets[seen.path]})
            return Reply(200, {"ok": True})

        headers = {"Authorization": "Bearer tok-1", "Cookie": "sid=2", "X-Api-Key": "key-3",
                   "X-Tenant": "acme"}
        with local_server(answer) as server:
            ctx = make_ctx(settings=LOCAL)
            REQUEST.run(ctx, {"url": server.url + "/away", "headers": headers})
            landed = other.seen[-1]
            assert landed.path == "/landed"
            assert not {"authorization", "cookie", "x-api-key", "x-tenant"} & set(landed.headers)
            REQUEST.run(ctx, {"url": server.url + "/away-post", "method": "POST", "headers": headers,
                              "json": {"a": 1}})
            posted = other.seen[-1]
            assert posted.path == "/post" and posted.json() == {"a": 1}  # 307 keeps the body...
            assert posted.headers["content-type"] == "application/json"
            assert "x-api-key" not in posted.headers and "authorization" not in posted.headers  # ...not keys
            REQUEST.run(ctx, {"url": server.url + "/keep", "headers": headers})
            stayed = server.seen[-1]
            assert stayed.path == "/stay" and stayed.headers["x-api-key"] == "key-3"
            assert stayed.headers["authorization"] == "Bearer tok-1"


@pytest.mark.parametrize(("reply", "error", "retry_after", "text"), [
    (Reply(429, {"message": "slow down"}, {"Retry-After": "7"}), RetryableError, 7.0, "slow down"),
    (Reply(503, "maintenance"), RetryableError, None, "maintenance"),
    (Reply(408, "request timeout"), RetryableError, None, "request timeout"),
    (Reply(404, {"error": "no such thing"}), PermanentError, None, "no such thing"),
    (Reply(422, {"error": {"message": "bad field"}}), PermanentError, None, "bad field"),
])
def test_error_mapping(reply: Reply, error: type[Exception], retry_after: float | None, text: str) -> None:
    with local_server(lambda seen: reply) as server:
        with pytest.raises(error, match=text) as info:
            REQUEST.run(make_ctx(settings=LOCAL), {"url": server.url + "/x"})
        assert info.value.status == reply.status  # type: ignore[attr-defined]
        assert getattr(info.value, "retry_after", None) == retry_after


def test_unreachable_and_timeout_are_retryable() -> None:
    from connector_support import free_port

    with pytest.raises(RetryableError, match="could not be reached"):
        REQUEST.run(make_ctx(settings=LOCAL), {"url": f"http://127.0.0.1:{free_port()}/"})

    def slow(seen: Seen) -> Reply:
        import time

        time.sleep(1.0)
        return Reply(200, "late")

    with local_server(slow) as server, pytest.raises(RetryableError, match="timed out"):
        REQUEST.run(make_ctx(settings=LOCAL), {"url": server.url, "timeout": 0.2})


def test_webhook_is_signed() -> None:
    with local_server(lambda seen: Reply(204)) as server:
        ctx = make_ctx({"signing_secret": "whsec-123"}, settings=LOCAL, key="run-9:notify:2")
        out = SEND.run(ctx, {"url": server.url + "/hook", "payload": {"deal": 3, "name": "Ąžuolas"}})
        assert out == {"status": 204, "delivery_id": "run-9:notify:2"}
        seen = server.seen[0]
        assert seen.method == "POST" and seen.headers["content-type"] == "application/json"
        stamp = seen.headers["x-flowright-timestamp"]
        assert stamp == str(int(ctx.clock().timestamp()))
        expected = hmac.new(b"whsec-123", stamp.encode() + b"." + seen.body, hashlib.sha256).hexdigest()
        assert seen.headers["x-flowright-signature"] == f"sha256={expected}"
        assert seen.headers["x-flowright-delivery"] == "run-9:notify:2"
        assert json.loads(seen.body) == {"deal": 3, "name": "Ąžuolas"}


def test_webhook_errors_are_mapped() -> None:
    replies: dict[str, Any] = {"/busy": Reply(429, "", {"Retry-After": "3"}), "/gone": Reply(410, "gone")}
    with local_server(lambda seen: replies[seen.path]) as server:
        ctx = make_ctx({"signing_secret": "k"}, settings=LOCAL)
        with pytest.raises(RetryableError) as busy:
            SEND.run(ctx, {"url": server.url + "/busy", "payload": [1]})
        assert busy.value.retry_after == 3.0
        with pytest.raises(PermanentError, match="410"):
            SEND.run(ctx, {"url": server.url + "/gone", "payload": [1]})


def test_refusals_do_not_quote_the_url() -> None:
    for url in ("ftp://user:pw-SECRET@files.example/", "http://10.1.2.3/hook?token=tok-SECRET",
                "http://u:pw-SECRET@127.0.0.1:99999/"):
        with pytest.raises(PermanentError, match="refused") as info:
            REQUEST.run(make_ctx(), {"url": url})
        assert "SECRET" not in str(info.value)


def test_echoed_credentials_are_scrubbed_from_errors() -> None:
    def echo(seen: Seen) -> Reply:
        return Reply(401, {"message": f"bad credentials {seen.headers.get('authorization')} "
                                      f"{seen.headers.get('x-api-key')} {seen.query.get('api_key')}"})

    with local_server(echo) as server:
        with pytest.raises(PermanentError, match="bad credentials") as info:
            REQUEST.run(make_ctx(settings=LOCAL), {
                "url": server.url + "/x?api_key=query-SECRET-1", "headers": {
                    "Authorization": "Bearer bearer-SECRET-2", "X-Api-Key": "header-SECRET-3"}})
        assert "SECRET" not in str(info.value) and info.value.status == 401


def test_credentials_are_not_forwarded_to_another_host() -> None:
    with local_server(lambda seen: Reply(200, {"auth": seen.headers.get("authorization")})) as other:
        def answer(seen: Seen) -> Reply:
            if seen.path == "/same":
                return Reply(302, "", {"Location": "/landed"})
            if seen.path == "/away":
                return Reply(302, "", {"Location": other.url + "/landed"})
            return Reply(200, {"auth": seen.headers.get("authorization")})

        with local_server(answer) as server:
            params = {"headers": {"Authorization": "Bearer keep-me"}}
            ctx = make_ctx(settings=LOCAL)
            same = REQUEST.run(ctx, {"url": server.url + "/same", **params})
            away = REQUEST.run(ctx, {"url": server.url + "/away", **params})
            assert same["json"] == {"auth": "Bearer keep-me"} and away["json"] == {"auth": None}


def test_the_connected_peer_is_checked_too() -> None:
    """check_url looks at what a name resolves to before the request; a name can resolve differently a
    moment later (DNS rebinding), so the adapter checks the address it actually connected to."""
    from connectors.egress import PeerCheckingAdapter

    with local_server(lambda seen: Reply(200, "secret internal page")) as server:
        for allow, expected in (((), None), (("127.0.0.1",), 200), (("127.0.0.0/8",), 200)):
            with requests.Session() as session:
                session.mount("http://", PeerCheckingAdapter(allow))
                if expected is None:
                    with pytest.raises(PermanentError, match="connected to a private, loopback"):
                        session.get(server.url + "/admin", timeout=5)
                else:
                    assert session.get(server.url + "/admin", timeout=5).status_code == expected
        assert [s.path for s in server.seen] == ["/admin", "/admin"]  # nothing sent to the refused peer
