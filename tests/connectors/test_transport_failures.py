"""Every HTTP built-in against the failures any provider (or the proxy in front of it) may answer: a
proxy's HTML 502, a redirect, a hang, a closed port. The same table of actions for all of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from connector_support import Reply, Seen, free_port, local_server, make_ctx

from connectors.accounting import CONNECTOR as ACCOUNTING
from connectors.base import Action, PermanentError, RetryableError
from connectors.reviews import CONNECTOR as REVIEWS
from connectors.slack import CONNECTOR as SLACK
from connectors.sms import CONNECTOR as SMS
from connectors.web import CONNECTOR as WEB
from connectors.webhook import CONNECTOR as WEBHOOK

SECRET = "tok-SECRET-0123456789"
LOCAL = {"http_allowlist": ["127.0.0.1"]}


@dataclass
class Case:
    action: Action
    credentials: Callable[[str], dict[str, Any]]  # from the server's base URL
    params: Callable[[str], dict[str, Any]]
    settings: dict[str, Any] | None = None


CASES = {
    "twilio": Case(SMS.actions["sms.send"],
                   lambda url: {"account_sid": "AC1", "auth_token": SECRET, "from": "+15005550006",
                                "base_url": url, "timeout": 0.5},
                   lambda url: {"to": "+15558675310", "body": "hi"}),
    "slack_api": Case(SLACK.actions["slack.post"],
                      lambda url: {"bot_token": SECRET, "base_url": url, "timeout": 0.5},
                      lambda url: {"text": "hi", "channel": "C1"}),
    "slack_webhook": Case(SLACK.actions["slack.post"],
                          lambda url: {"webhook_url": f"{url}/services/T0/B0/{SECRET}", "timeout": 0.5},
                          lambda url: {"text": "hi"}),
    "trustpilot": Case(REVIEWS.actions["reviews.request"],
                       lambda url: {"trustpilot_access_token": SECRET, "business_unit_id": "bu1",
                                    "trustpilot_base_url": url, "timeout": 0.5},
                       lambda url: {"provider": "trustpilot", "to": "ada@example.com", "name": "Ada"}),
    "xero": Case(ACCOUNTING.actions["accounting.find_or_create_customer"],
                 lambda url: {"provider": "xero", "access_token": SECRET, "tenant_id": "t1", "base_url": url,
                              "timeout": 0.5},
                 lambda url: {"name": "Ada", "email": "ada@example.com"}),
    "quickbooks": Case(ACCOUNTING.actions["accounting.find_or_create_customer"],
                       lambda url: {"provider": "quickbooks", "access_token": SECRET, "realm_id": "1",
                                    "base_url": url, "timeout": 0.5},
                       lambda url: {"name": "Ada", "email": "ada@example.com"}),
    "http": Case(WEB.actions["http.request"], lambda url: {},
                 lambda url: {"url": f"{url}/x?token={SECRET}", "timeout": 0.5}, LOCAL),
    "webhook": Case(WEBHOOK.actions["webhook.send"], lambda url: {"signing_secret": SECRET},
                    lambda url: {"url": f"{url}/hook", "payload": {"a": 1}, "timeout": 0.5}, LOCAL),
}
PROXY_PAGE = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
              "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def run(name: str, url: str) -> dict[str, Any]:
    case = CASES[name]
    ctx = make_ctx(case.credentials(url), settings=case.settings)
    return case.action.run(ctx, case.params(url))


def assert_clean(error: Exception) -> None:
    text = str(error)
    assert SECRET not in text and "SECRET" not in text and "<" not in text and "127.0.0.1" not in text


@pytest.mark.parametrize("name", CASES)
def test_a_proxy_html_page_is_retryable_and_quoted_by_its_title(name: str) -> None:
    def proxy(seen: Seen) -> Reply:
        return Reply(502, PROXY_PAGE, {"Content-Type": "text/html"})

    with local_server(proxy) as server, pytest.raises(RetryableError, match="502: 502 Bad Gateway") as info:
        run(name, server.url)
    assert info.value.status == 502
    assert_clean(info.value)


@pytest.mark.parametrize("body", ["access_denied",
                                  "<html><body><h1>Access denied</h1><script>track()</script></body></html>"])
@pytest.mark.parametrize("name", CASES)
def test_html_without_a_title_is_quoted_by_its_text(name: str, body: str) -> None:
    """hooks.slack.com (and many gateways) label a bare error code text/html: the code is the message."""
    def gateway(seen: Seen) -> Reply:
        return Reply(403, body, {"Content-Type": "text/html; charset=utf-8"})

    expected = "access_denied" if "<" not in body else "Access denied"
    with local_server(gateway) as server, pytest.raises(PermanentError, match=f"403: {expected}$") as info:
        run(name, server.url)
    assert "track" not in str(info.value)
    assert_clean(info.value)


@pytest.mark.parametrize("name", [n for n in CASES if n not in ("http", "webhook")])
def test_a_provider_redirect_is_not_followed(name: str) -> None:
    """Provider calls carry credentials and may not be repeated: a redirect means a wrong base URL."""
    def moved(seen: Seen) -> Reply:
        return Reply(301, "", {"Location": "http://127.0.0.1:9/elsewhere"})

    with local_server(moved) as server:
        with pytest.raises(PermanentError, match=r"301.*redirect, not followed") as info:
            run(name, server.url)
        assert len(server.seen) == 1
    assert_clean(info.value)


@pytest.mark.parametrize("name", CASES)
def test_a_hang_is_retryable(name: str) -> None:
    def hang(seen: Seen) -> Reply:
        time.sleep(1.5)
        return Reply(200, {})

    with local_server(hang) as server, pytest.raises(RetryableError, match="timed out") as info:
        run(name, server.url)
    assert_clean(info.value)


@pytest.mark.parametrize("name", CASES)
def test_a_closed_port_is_retryable(name: str) -> None:
    with pytest.raises(RetryableError, match="could not be reached") as info:
        run(name, f"http://127.0.0.1:{free_port()}")
    assert_clean(info.value)
