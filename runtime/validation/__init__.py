"""Loading and validating flow documents (DESIGN §2).

`validate_flow` returns every problem at once, each a JSON pointer and a plain sentence, and never
raises, whatever it is given. `load_flow` returns a `Flow` ready to interpret or raises `FlowInvalid`
carrying the errors (warnings do not stop a flow from loading).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connectors.registry import ConnectorRegistry, default_registry
from runtime.errors import FlowInvalid
from runtime.flow import Flow
from runtime.validation.problems import ERROR, WARNING, Problem, Problems
from runtime.validation.schema_layer import schema_problems, validator_for
from runtime.validation.semantic import semantic_problems

__all__ = ["ERROR", "WARNING", "FlowInvalid", "Problem", "load_flow", "validate_event", "validate_flow",
           "validator_for"]

log = logging.getLogger(__name__)
_REGISTRY: ConnectorRegistry | None = None


def _registry(registry: ConnectorRegistry | None) -> ConnectorRegistry:
    global _REGISTRY
    if registry is not None:
        return registry
    if _REGISTRY is None:
        _REGISTRY = default_registry()
    return _REGISTRY


def validate_flow(document: Any, registry: ConnectorRegistry | None = None) -> list[Problem]:
    """Every problem of a flow document: schema errors first, then the semantic checks."""
    problems = Problems()
    try:
        problems.extend(schema_problems(document, "flow"))
    except RecursionError:
        problems.add("", "the document is nested too deeply to check")
        return problems.items
    try:
        semantic_problems(document, _registry(registry), problems)
    except RecursionError:
        problems.add("", "the document is nested too deeply to check")
    except Exception as exc:  # a check's bug must not turn a user's typo into a crash
        log.exception("a semantic check failed")
        problems.add("", f"the flow could not be checked completely ({type(exc).__name__}); "
                         "fix the problems above and validate again")
    return problems.items


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def load_flow(document: Any, registry: ConnectorRegistry | None = None, version: int = 0) -> Flow:
    """A Flow ready to interpret; FlowInvalid (with every error) when the document does not validate."""
    errors = errors_of(validate_flow(document, registry))
    if errors:
        raise FlowInvalid(errors)
    assert isinstance(document, Mapping)
    return Flow.from_document(document, version)


def validate_event(event: Any) -> list[Problem]:
    """Schema problems of an event (DESIGN §4)."""
    return schema_problems(event, "event")
