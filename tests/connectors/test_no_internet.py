"""The connector suite's guard: nothing but loopback is reachable, and an attempt fails the test."""

from __future__ import annotations

import socket

import pytest
from connector_support import make_ctx

from connectors.base import RetryableError
from connectors.sms import CONNECTOR as SMS


def test_public_addresses_and_names_are_out_of_reach(no_internet: list[str]) -> None:
    with pytest.raises(OSError, match="may not reach"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.twilio.com", 443)
    assert no_internet == ["192.0.2.1:443", "DNS api.twilio.com"]
    no_internet.clear()  # seen: do not fail this test for it


def test_an_action_without_a_base_url_would_go_to_the_provider(no_internet: list[str]) -> None:
    creds = {"account_sid": "AC" + "0" * 32, "auth_token": "t-SECRET", "from": "+37052000000"}
    with pytest.raises(RetryableError, match="Twilio could not be reached"):
        SMS.actions["sms.send"].run(make_ctx(creds), {"to": "+37060012345", "body": "x"})
    assert no_internet == ["DNS api.twilio.com"]
    no_internet.clear()
