"""Templates: Jinja2 in a sandbox with StrictUndefined.

A template that is exactly one `{{ expression }}` yields the expression's native value (number,
bool, list, datetime); any other template yields a string. Syntax is checked at validation time;
at run time an undefined name fails the step with a message naming the template and the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from runtime.durations import iso, parse_duration, to_datetime
from runtime.errors import DurationError, TemplateError

# Exactly one `{{ ... }}` and nothing around it, not even a space (DESIGN §3): `" {{ 1 }}"` is text.
_SINGLE_EXPR = re.compile(r"\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|%\}).)*)\}\}", re.S)
_MARKERS = ("{{", "{%", "{#")


def _filter_duration(text: str) -> Any:
    return parse_duration(text).approx()


def _filter_datetime(value: Any) -> datetime:
    moment = to_datetime(value)
    if moment is None:
        raise TemplateError(f"{value!r} is not a date or datetime")
    return moment


def _filter_add(value: Any, duration: str) -> datetime:
    """`{{ deal.renewal_at | add_duration('-P30D') }}`: a datetime moved by an ISO duration."""
    return parse_duration(duration).add_to(_filter_datetime(value))


def _filter_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    return _filter_datetime(value).strftime(fmt)


_FUNCTION = "it gives a method, not a value (no field of that name); call it or name a field"


def _finalize(value: Any) -> Any:
    """What `{{ ... }}` prints inside a text template: a datetime in ISO-8601 with its own offset, UTC
    as `Z` (`2026-03-02T10:00:00Z`, as in params, not `2026-03-02 10:00:00+00:00`); never a method."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if callable(value) and not isinstance(value, Undefined):
        raise TemplateError(_FUNCTION)
    return value


_KEPT = (str, int, float, bool, type(None), datetime, date, timedelta)


def _native(value: Any) -> Any:
    """A native result made plain data: iterators and ranges become lists, an undefined name anywhere
    inside fails, and a method (`{{ contact.keys }}` with no such field) is an error, not a value."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, _KEPT):
        return value
    if isinstance(value, Mapping):
        return {k: _native(v) for k, v in value.items()}
    if callable(value):
        raise TemplateError(_FUNCTION)
    if isinstance(value, Iterable):
        return [_native(v) for v in value]
    return value


class _DataEnvironment(SandboxedEnvironment):
    """Dots reach a record's keys before a dict's methods: `trigger.items` is the form's `items` field.

    Jinja looks attributes up first, so `{{ trigger.items }}` gave dict.items; a method is still
    reached when no key of that name exists (`contact.get('nickname', 'friend')`).
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)


def _make_env(autoescape: bool) -> SandboxedEnvironment:
    env = _DataEnvironment(
        undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True, finalize=_finalize
    )
    env.filters.update(
        {
            "duration": _filter_duration,
            "datetime": _filter_datetime,
            "add_duration": _filter_add,
            "date": _filter_date,
            "isoformat": lambda v: iso(_filter_datetime(v)),
        }
    )
    return env


TEXT_ENV = _make_env(autoescape=False)
HTML_ENV = _make_env(autoescape=True)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and any(m in value for m in _MARKERS)


def single_expression(text: str) -> str | None:
    """The expression inside a template that is exactly one `{{ ... }}`, else None."""
    match = _SINGLE_EXPR.fullmatch(text)
    return match.group("expr").strip() if match else None


@lru_cache(maxsize=4096)
def _compile(text: str, html: bool) -> Any:
    env = HTML_ENV if html else TEXT_ENV
    expr = single_expression(text)
    if expr is not None:
        return ("expr", env.compile_expression(expr, undefined_to_none=False))
    return ("text", env.from_string(text))


def check_syntax(text: str) -> str | None:
    """None if `text` compiles, else a plain sentence saying what is wrong (for the validator)."""
    if not is_template(text):
        return None
    try:
        _compile(text, False)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message} (line {exc.lineno})"
    return None


def render(text: str, context: Mapping[str, Any], *, html: bool = False, pointer: str = "") -> Any:
    """Render one template string; TemplateError names the template, the place and the undefined name."""
    if not is_template(text):
        return text
    try:
        kind, compiled = _compile(text, html)
        if kind == "expr":
            return _native(compiled(**context))
        return compiled.render(**context)
    except UndefinedError as exc:
        raise TemplateError(
            f"template {text!r} uses an undefined name: {_undefined_name(text, exc.message or '')}",
            template=text,
            pointer=pointer,
        ) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"template {text!r} has a syntax error: {exc.message}", template=text, pointer=pointer
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            f"template {text!r} is not allowed: {exc}", template=text, pointer=pointer
        ) from None
    except (DurationError, TemplateError) as exc:
        raise TemplateError(f"template {text!r} failed: {exc}", template=text, pointer=pointer) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateError(f"template {text!r} failed: {exc}", template=text, pointer=pointer) from None


_NO_ATTR = re.compile(r"has no attribute '(?P<attr>[^']+)'")


def _undefined_name(text: str, message: str) -> str:
    """Turn Jinja's "'dict object' has no attribute 'x'" into "contact.x is undefined" where we can."""
    match = _NO_ATTR.search(message)
    if match:
        attr = re.escape(match.group("attr"))
        path = re.search(rf"[A-Za-z_][\w.\[\]'\"]*\.{attr}\b", text)
        if path:
            return f"{path.group(0)} is undefined"
    return message


HTML_KEYS = frozenset({"html"})


def render_value(value: Any, context: Mapping[str, Any], pointer: str = "") -> Any:
    """Render every template string inside a JSON value (dicts, lists), keeping non-templates as they are.

    Strings under a key named `html` are rendered with autoescape.
    """
    if isinstance(value, str):
        html = pointer.rsplit("/", 1)[-1] in HTML_KEYS
        return render(value, context, html=html, pointer=pointer)
    if isinstance(value, Mapping):
        return {k: render_value(v, context, f"{pointer}/{_escape(k)}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context, f"{pointer}/{i}") for i, v in enumerate(value)]
    return value


def iter_templates(value: Any, pointer: str = ""):
    """Yield (pointer, string) for every template string inside a JSON value."""
    if isinstance(value, str):
        if is_template(value):
            yield pointer, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from iter_templates(v, f"{pointer}/{_escape(k)}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_templates(v, f"{pointer}/{i}")


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
