"""What JSON from outside may be before anything works on it: nested at most `MAX_DEPTH` levels (deeper
input made recursive code — storing, templating, serialising — die with RecursionError) and holding only
finite numbers (Python reads `1e400` as infinity, which no JSON answer can carry back). One walk, no
recursion, so the check itself cannot overflow."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 100


def json_problem(value: Any, pointer: str = "") -> tuple[str, str] | None:
    """The first spot of `value` that is too deep or not a finite number, as (JSON pointer, message)."""
    stack: list[tuple[Any, str, int]] = [(value, pointer, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where, "must be a finite number"
        if isinstance(item, Mapping | list | tuple) and depth >= MAX_DEPTH:
            return where, f"is nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, Mapping):
            stack.extend((v, f"{where}/{_escape(k)}", depth + 1) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{where}/{i}", depth + 1) for i, v in enumerate(item))
    return None


def _escape(name: Any) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")
