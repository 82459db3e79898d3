"""Problems found in a flow document, each with a JSON pointer (RFC 6901) and a plain sentence."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem: where (a JSON pointer, "" for the whole document), what, and how bad."""

    pointer: str
    message: str
    severity: str = ERROR  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def escape(part: Any) -> str:
    """One reference token of a JSON pointer (`~` -> `~0`, `/` -> `~1`)."""
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(*parts: Any) -> str:
    return "".join("/" + escape(p) for p in parts)


def join(base: str, *parts: Any) -> str:
    return base + pointer(*parts)


def close_matches(word: Any, choices: Iterable[str], n: int = 3) -> list[str]:
    if not isinstance(word, str):
        return []
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """"; did you mean 'x' or 'y'?" or "" when nothing is close."""
    matches = close_matches(word, choices)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"


@dataclass
class Problems:
    """An ordered, de-duplicated collection of problems."""

    items: list[Problem] = field(default_factory=list)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, where: str, message: str, severity: str = ERROR) -> None:
        key = (where, message, severity)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(Problem(where, message, severity))

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem.pointer, problem.message, problem.severity)

    def warn(self, where: str, message: str) -> None:
        self.add(where, message, WARNING)
