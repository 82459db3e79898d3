"""Cursor pagination by ascending id: a cursor is an opaque token holding the last id a page covered."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from runtime.queries.errors import Invalid

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
BAD_CURSOR = "not a cursor this API gave out; pass next_cursor from the previous page"


@dataclass
class Page:
    """One page: `next_cursor` is None on the last page; a page may hold fewer than `limit` items."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def encode(last_id: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode(cursor: str | None, pointer: str = "/cursor") -> Any:
    """The last id of the previous page, or None for the first page."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        after = json.loads(text)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise Invalid.at(pointer, BAD_CURSOR) from None
    if (
        isinstance(after, bool)
        or not isinstance(after, int | str)
        or (isinstance(after, int) and abs(after) >= 2**63)
    ):
        raise Invalid.at(pointer, BAD_CURSOR)
    return after


def check_limit(limit: Any, pointer: str = "/limit") -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise Invalid.at(pointer, f"limit is a whole number from 1 to {MAX_LIMIT}")
    return limit
