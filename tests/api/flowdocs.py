"""Flow documents the API tests use (probe actions from tests/durable/support)."""

from __future__ import annotations

from typing import Any

CLOSED = "http://127.0.0.1:9/"


def drip(url: str = CLOSED, key: str = "drip", event: str = "form.submitted") -> dict[str, Any]:
    """Contact flow: event/manual/webhook triggers, a one-day delay, then a probe call (fails when `url` is
    closed, with no retries)."""
    return {
        "format": "flowright/v1",
        "key": key,
        "name": "Drip",
        "subject": "contact",
        "triggers": [{"type": "event", "event": event}, {"type": "manual"}, {"type": "webhook"}],
        "start": "pause",
        "settings": {"reenroll": "always"},
        "nodes": [
            {"id": "pause", "type": "delay", "duration": "P1D", "next": "send"},
            {"id": "send", "type": "action", "action": "probe.call", "params": {"url": url, "label": "send"},
             "retry": {"max_attempts": 1}},
        ],
    }


def quick(key: str = "quick") -> dict[str, Any]:
    """Contact flow that fails at once on a closed port: for failed runs and retries."""
    document = drip(key=key)
    document["start"] = "send"
    document["nodes"] = document["nodes"][1:]
    return document
