"""Layer 1: JSON Schema errors turned into plain sentences at JSON pointers.

One small function per schema keyword, looked up in a table (the way jsonschema itself is written).
The same translation serves the flow schema, the event schema and actions' params schemas.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

import schemas
from runtime.durations import DURATION_PATTERN
from runtime.templates import is_template
from runtime.validation.problems import Problem, did_you_mean, join, pointer

# What a pattern means, in words, for the patterns of our schemas.
PATTERN_HINTS: dict[str, str] = {
    DURATION_PATTERN: "an ISO-8601 duration such as P2D, PT1H30M or -P1D",
    "^[a-z][a-z0-9_]*$": "a valid node id (a lowercase letter, then lowercase letters, digits or _)",
    "^[a-z][a-z0-9_-]*$": "a valid key (a lowercase letter, then lowercase letters, digits, - or _)",
    "^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$": "an action key such as mail.send",
    "^[a-z][a-z0-9_]*\\.[a-z0-9_.-]+$": "an event type such as deal.stage_changed",
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": "a local time HH:MM such as 09:00",
    "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$": "a local time HH:MM such as 17:30 (or 24:00)",
    "^[A-Za-z_][A-Za-z0-9_]*$": "a valid variable name (letters, digits and _, not starting with a digit)",
}

TYPE_WORDS: dict[str, str] = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _properties(
    validator: Validator, properties: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """`properties` as jsonschema has it, except that a property whose schema is `false` is reported at
    that property: jsonschema's shortcut for `false` drops the property from both the instance path and
    the schema path, so `{"duration", "until"}` on a delay was reported at the node as 'properties'."""
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name not in instance:
            continue
        if subschema is False:
            yield ValidationError(
                f"False schema does not allow {instance[name]!r}", validator=None, validator_value=None,
                instance=instance[name], schema=False, path=[name], schema_path=[name],
            )
        else:
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


FlowValidator = validators.extend(Draft202012Validator, {"properties": _properties})


@cache
def validator_for(name: str) -> Validator:
    """The compiled validator of one of our schemas ("flow", "event"), with format checking."""
    schema = schemas.load(name)
    FlowValidator.check_schema(schema)
    return FlowValidator(schema, format_checker=FlowValidator.FORMAT_CHECKER)


def show(value: Any, limit: int = 60) -> str:
    """A short JSON rendering of a value for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    for kind, types in (("a number", (int, float)), ("a string", (str,)), ("a list", (list, tuple)),
                        ("an object", (Mapping,))):
        if isinstance(value, types):
            return kind
    return type(value).__name__


# ---------------------------------------------------------------- one function per keyword
# Each takes (error, where) and yields (pointer, message).

Translated = Iterator[tuple[str, str]]


def _required(error: ValidationError, where: str) -> Translated:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    for name in error.validator_value:
        if name not in instance:
            yield where, f"missing required property {name!r}"


def _additional(error: ValidationError, where: str) -> Translated:
    if not isinstance(error.instance, Mapping):
        return
    allowed = list((error.schema or {}).get("properties", {}))
    for key in error.instance:
        if key not in allowed:
            yield join(where, key), f"unknown property {key!r}{did_you_mean(key, allowed)}"


def _type_words(wanted: Any) -> str:
    wanted = wanted if isinstance(wanted, list) else [wanted]
    return " or ".join(TYPE_WORDS.get(str(t), str(t)) for t in wanted)


def _type(error: ValidationError, where: str) -> Translated:
    if _unusable_number(error.instance):
        yield where, _out_of_range(error)
    elif isinstance(error.instance, float) and error.validator_value in ("integer", ["integer"]):
        yield where, f"must be a whole number, not {show(error.instance)}"
    else:
        yield where, f"must be {_type_words(error.validator_value)}, not {json_type(error.instance)}"


def _unusable_number(value: Any) -> bool:
    """1e400 (read as infinity), -1e400 and NaN: JSON numbers no computation can use."""
    return isinstance(value, float) and not math.isfinite(value)


def _out_of_range(error: ValidationError) -> str:
    """One sentence for an unusable number, the same from the type and the bound keywords (so it is
    said once): what the schema wants, with its range, and that this number is not one."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    wanted = _type_words(schema.get("type", "number"))
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        wanted += f" from {low} to {high}"
    else:
        bounds = [f"{word} {schema[key]}" for key, word in RANGE_WORDS.items() if key in schema]
        wanted += f" {' and '.join(bounds)}" if bounds else ""
    value = error.instance
    what = "NaN" if math.isnan(value) else "a number this large" if value > 0 else "a number this far below 0"
    return f"must be {wanted}, not {what}"


RANGE_WORDS = {"minimum": "at least", "exclusiveMinimum": "greater than", "maximum": "at most",
               "exclusiveMaximum": "less than"}


def _enum(error: ValidationError, where: str) -> Translated:
    options = [str(o) for o in error.validator_value]
    hint = did_you_mean(error.instance, options)
    yield where, f"{show(error.instance)} is not one of: {', '.join(options)}{hint}"


def _const(error: ValidationError, where: str) -> Translated:
    yield where, f"must be {show(error.validator_value)}, not {show(error.instance)}"


def _pattern(error: ValidationError, where: str) -> Translated:
    hint = PATTERN_HINTS.get(error.validator_value, f"text matching {error.validator_value}")
    yield where, f"{show(error.instance)} is not {hint}"


def _format(error: ValidationError, where: str) -> Translated:
    yield where, f"{show(error.instance)} is not a valid {error.validator_value}"


def _bound(word: str) -> Callable[[ValidationError, str], Translated]:
    def translate(error: ValidationError, where: str) -> Translated:
        if _unusable_number(error.instance):
            yield where, _out_of_range(error)
        else:
            yield where, f"must be {word} {error.validator_value}, not {show(error.instance)}"

    return translate


def _length(error: ValidationError, where: str) -> Translated:
    n = error.validator_value
    if error.validator == "minLength":
        yield where, "must not be empty" if n == 1 else f"must be at least {n} characters long"
    else:
        yield where, f"must be at most {n} characters long"


def _items_count(error: ValidationError, where: str) -> Translated:
    n = error.validator_value
    if error.validator == "minItems":
        yield where, "must not be an empty list" if n == 1 else f"must have at least {n} items"
    else:
        yield where, f"must have at most {n} items"


def _properties_count(error: ValidationError, where: str) -> Translated:
    n = error.validator_value
    if error.validator == "minProperties":
        yield where, "must not be empty" if n == 1 else f"must have at least {n} properties"
    else:
        yield where, f"must have at most {n} properties"


def _unique(error: ValidationError, where: str) -> Translated:
    yield where, "has duplicate items"


def _dependent_required(error: ValidationError, where: str) -> Translated:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    for key, needed in (error.validator_value or {}).items():
        if key in instance:
            for name in needed:
                if name not in instance:
                    yield join(where, key), f"{key!r} can only be used together with {name!r}"


def _false_schema(error: ValidationError, where: str) -> Translated:
    """A property a `false` schema forbids, at that property: under `dependentSchemas/<other>` it is
    one that cannot be given together with <other> (a delay's `until` or `offset` with `duration`)."""
    path = list(error.schema_path)
    if "dependentSchemas" in path and len(path) > path.index("dependentSchemas") + 3:
        at = path.index("dependentSchemas")
        other, field = path[at + 1], path[-1]
        yield where, f"{field!r} cannot be used together with {other!r}"
    else:
        yield where, "is not allowed here"


def _choice(error: ValidationError, where: str) -> Translated:
    """anyOf / oneOf: "needs one of" for required-only branches, else the most relevant sub-error."""
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    names = [b["required"][0] for b in branches if isinstance(b, Mapping) and list(b) == ["required"]]
    if names and len(names) == len(branches):
        present = [n for n in names if isinstance(error.instance, Mapping) and n in error.instance]
        if present:
            given = " and ".join(map(repr, present))
            yield where, f"only one of {' or '.join(map(repr, names))} may be given, not {given}"
        else:
            yield where, f"needs one of {' or '.join(map(repr, names))}"
        return
    best = best_match(error.context) if error.context else None
    if best is None:
        yield where, f"{show(error.instance)} does not match any of the allowed forms"
        return
    yield from translate(best, where_of(best, where, error))


def _fallback(error: ValidationError, where: str) -> Translated:
    yield where, error.message


KEYWORDS: dict[str | None, Callable[[ValidationError, str], Translated]] = {
    "required": _required,
    "additionalProperties": _additional,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "format": _format,
    "minimum": _bound("at least"),
    "maximum": _bound("at most"),
    "exclusiveMinimum": _bound("greater than"),
    "exclusiveMaximum": _bound("less than"),
    "minLength": _length,
    "maxLength": _length,
    "minItems": _items_count,
    "maxItems": _items_count,
    "minProperties": _properties_count,
    "maxProperties": _properties_count,
    "uniqueItems": _unique,
    "dependentRequired": _dependent_required,
    None: _false_schema,
    "anyOf": _choice,
    "oneOf": _choice,
}


def where_of(error: ValidationError, base: str, parent: ValidationError | None = None) -> str:
    """The pointer of an error; sub-errors of anyOf/oneOf have paths relative to their parent."""
    if parent is not None:
        return base + pointer(*error.relative_path)
    return base + pointer(*error.absolute_path)


def translate(error: ValidationError, where: str) -> Translated:
    yield from KEYWORDS.get(error.validator, _fallback)(error, where)


def problems_from(errors: Iterable[ValidationError], base: str = "",
                  keep: Callable[[ValidationError], bool] = lambda e: True) -> list[Problem]:
    """Plain-sentence problems for schema errors, pointers prefixed by `base`."""
    found: list[Problem] = []
    for error in errors:
        if not keep(error):
            continue
        for where, message in translate(error, where_of(error, base)):
            if Problem(where, message) not in found:  # two keywords may say the same thing
                found.append(Problem(where, message))
    return found


def schema_problems(document: Any, name: str = "flow") -> list[Problem]:
    """Every schema error of a document against one of our schemas."""
    return problems_from(validator_for(name).iter_errors(document))


def not_about_a_template(error: ValidationError) -> bool:
    """False for a params error about a template string: its type is only known once rendered."""
    if is_template(error.instance):
        return False
    return not any(is_template(sub.instance) for sub in error.context or ())
