"""The HTTP session every action gets as `ctx.http` (DESIGN §6: "a requests.Session with timeouts"): a
call that forgets `timeout=` gets the default instead of waiting forever and holding a worker."""

from __future__ import annotations

from typing import Any

import requests

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)  # seconds to connect, seconds between bytes read
_TIMEOUT_POSITION = 6  # Session.request(method, url, params, data, headers, cookies, files, auth, timeout)


class TimeoutSession(requests.Session):
    """A requests.Session whose requests time out after `timeout` unless the caller gives its own."""

    def __init__(self, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if len(args) > _TIMEOUT_POSITION:  # given positionally
            if args[_TIMEOUT_POSITION] is None:
                args = (*args[:_TIMEOUT_POSITION], self.timeout, *args[_TIMEOUT_POSITION + 1:])
        elif kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)
