"""Connector errors. They say whether a retry may help; the runtime decides what to do about it."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error an action raises on purpose."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RetryableError(ConnectorError):
    """Network trouble, 429, 5xx: the same call may succeed later (after `retry_after` seconds if given)."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Deferred(RetryableError):
    """The action chose not to call the provider now, so the call was not made (the recipient's quiet
    hours): the runtime re-times the step after `retry_after` seconds without counting it as a failed
    attempt. `spread`: scatter the runs waiting for the same moment over part of the wait again."""

    spread = False


class RateLimited(Deferred):
    """Our own rate budget for a provider is used up: the call was not made. The runtime re-times the
    step after `retry_after` seconds (spread, so the waiting runs do not all wake at once) without
    counting it as a failed attempt."""

    spread = True


class PermanentError(ConnectorError):
    """The provider refused the call for a reason a retry will not fix (4xx, refused recipient...)."""


class UnknownConnectorError(KeyError):
    """A connector or action key that the registry does not hold; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "unknown connector"


class DuplicateConnectorError(ValueError):
    """Two connectors (or two actions) registered under one key."""
