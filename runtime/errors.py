"""Errors of the runtime package. Each carries a JSON pointer where one helps the user find the spot."""

from __future__ import annotations


class FlowrightError(Exception):
    """Base of the runtime's own errors."""


class DurationError(FlowrightError, ValueError):
    """Not an ISO-8601 duration."""


class TemplateError(FlowrightError):
    """A template failed to compile or to render; the message names the template and the cause."""

    def __init__(self, message: str, *, template: str | None = None, pointer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.template = template
        self.pointer = pointer


class ConditionError(FlowrightError):
    """A condition that cannot be evaluated (a bad regex, a non-duration for `within`); never "no match"."""

    def __init__(self, message: str, *, pointer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


class FlowInvalid(FlowrightError):
    """A flow document that does not validate; `problems` lists every (pointer, message)."""

    def __init__(self, problems: list) -> None:  # list[Problem]; typed loosely to avoid an import cycle
        self.problems = problems
        first = problems[0] if problems else None
        super().__init__(f"{len(problems)} problem(s); first: {first}")


class EventInvalid(FlowrightError, ValueError):
    """An event that cannot be ingested. `details` lists every (JSON pointer into the event, message);
    the message names the first as `field.path: why`."""

    def __init__(self, message: str, details: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else [("", message)]

    @classmethod
    def many(cls, problems: list[tuple[str, str]]) -> EventInvalid:
        pointer, first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        return cls(f"{pointer.lstrip('/').replace('/', '.') or 'event'}: {first}{more}", problems)


class EventsInvalid(EventInvalid):
    """Events of one batch that cannot be ingested (nothing of the batch is kept): `problems` pairs each
    refused event's index with its EventInvalid."""

    def __init__(self, problems: list[tuple[int, EventInvalid]]) -> None:
        self.problems = problems
        index, first = problems[0]
        more = f" (and {len(problems) - 1} more event(s))" if len(problems) > 1 else ""
        super().__init__(f"event {index}: {first.message}{more}", self.pointers(indexed=True))

    def pointers(self, indexed: bool) -> list[tuple[str, str]]:
        """Every problem; the pointers start with the event's index when the events came as a list."""
        return [(f"/{index}{p}" if indexed else p, m) for index, exc in self.problems for p, m in exc.details]


class SubjectInvalid(FlowrightError, LookupError):
    """A subject to enroll that names no record the flow can run on (none given, an unknown id, a contact
    for a deal flow, fields that do not pass the records checks). A LookupError, so each door answers
    "not found"; `details` lists (JSON pointer, message)."""

    def __init__(
        self, message: str, details: list[tuple[str, str]] | None = None, *, missing: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else [("/subject", message)]
        self.missing = missing  # False: the records exist but do not fit the flow (a 422, not a 404)
