"""ctx.http (connectors.session.TimeoutSession, what the worker and the simulator hand every action): a
request without `timeout=` to a server that never answers gives up instead of holding the worker."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from connectors.session import DEFAULT_TIMEOUT, TimeoutSession


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A server that takes connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/slow"


def test_a_request_without_a_timeout_gets_the_default(hanging_url: str) -> None:
    session = TimeoutSession(timeout=(1.0, 0.3))
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        session.get(hanging_url)
    with pytest.raises(requests.ReadTimeout):
        session.post(hanging_url, json={"a": 1}, timeout=None)  # None is "not given", not "forever"
    assert time.monotonic() - started < 3


def test_a_timeout_given_by_the_caller_wins(hanging_url: str) -> None:
    session = TimeoutSession(timeout=(1.0, 30.0))
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        session.request("GET", hanging_url, timeout=0.2)
    with pytest.raises(requests.ReadTimeout):
        session.request("GET", hanging_url, None, None, None, None, None, None, 0.2)  # positionally
    assert time.monotonic() - started < 3


def test_the_default_is_five_seconds_to_connect_and_thirty_to_read() -> None:
    assert TimeoutSession().timeout == DEFAULT_TIMEOUT == (5.0, 30.0)
