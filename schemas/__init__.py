"""The JSON Schemas of the flow format, events and template bundles: the single source of the format."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).parent


@cache
def load(name: str) -> dict[str, Any]:
    """Return the schema document `name` (e.g. "flow" for flow.schema.json); cached, do not mutate."""
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.exists():
        known = sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json"))
        raise KeyError(f"no schema named {name!r}; known: {', '.join(known)}")
    return json.loads(path.read_text(encoding="utf-8"))
