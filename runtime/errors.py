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
