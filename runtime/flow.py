"""The loaded flow: the validated document with its nodes indexed by id and settings defaulted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from runtime.durations import get_zone

FORMAT = "flowright/v1"
NODE_TYPES = ("action", "branch", "split", "delay", "wait_for", "set", "exit")
SUBJECTS = ("contact", "deal", "none")
REENROLL = ("never", "after_exit", "always")
DEFAULT_MAX_STEPS = 1000
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class Flow:
    """A flow document ready to interpret. Build it with `runtime.validation.load_flow` (which validates)
    or `Flow.from_document` for a document already known to be valid."""

    document: Mapping[str, Any]
    version: int = 0
    nodes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], version: int = 0) -> Flow:
        nodes = {n["id"]: n for n in document.get("nodes", []) if isinstance(n, Mapping) and "id" in n}
        return cls(document=document, version=version, nodes=nodes)

    @property
    def key(self) -> str:
        return str(self.document.get("key", ""))

    @property
    def name(self) -> str:
        return str(self.document.get("name", self.key))

    @property
    def subject(self) -> str:
        return str(self.document.get("subject", "contact"))

    @property
    def start(self) -> str:
        return str(self.document["start"])

    @property
    def triggers(self) -> list[Mapping[str, Any]]:
        return list(self.document.get("triggers", []))

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.document.get("settings") or {}

    @property
    def reenroll(self) -> str:
        return str(self.settings.get("reenroll", "after_exit"))

    @property
    def max_steps(self) -> int:
        return int(self.settings.get("max_steps", DEFAULT_MAX_STEPS))

    @property
    def exit_when(self) -> Mapping[str, Any] | None:
        return self.settings.get("exit_when")

    @property
    def exit_on(self) -> list[Mapping[str, Any]]:
        return list(self.settings.get("exit_on") or [])

    @cached_property
    def timezone(self) -> ZoneInfo:
        return get_zone(str(self.settings.get("timezone") or DEFAULT_TIMEZONE))

    def node(self, node_id: str) -> Mapping[str, Any]:
        return self.nodes[node_id]

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each node id's index in `nodes` (for JSON pointers in run-time errors)."""
        return {node_id: index for index, node_id in enumerate(self.nodes)}
