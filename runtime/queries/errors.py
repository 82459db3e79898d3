"""Errors of the query layer: each names what went wrong and where (JSON pointers into the request)."""

from __future__ import annotations


class QueryError(Exception):
    """Base: `code` is a stable machine name, `details` a list of {"path", "message"}."""

    code = "invalid_request"

    def __init__(self, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class Invalid(QueryError):
    """The request asks for something malformed: a bad condition, field value, cursor or range."""

    code = "invalid_request"  # the code of every 422 about the request's shape (docs/api.md)

    @classmethod
    def at(cls, path: str, message: str) -> Invalid:
        return cls(f"{path or '/'}: {message}", [{"path": path, "message": message}])

    @classmethod
    def many(cls, problems: list[tuple[str, str]]) -> Invalid:
        first_path, first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        return cls(f"{first_path or '/'}: {first}{more}", [{"path": p, "message": m} for p, m in problems])


class NotFound(QueryError):
    code = "not_found"


class Conflict(QueryError):
    """The change collides with existing data (a taken e-mail, a pipeline deals still use)."""

    code = "conflict"
