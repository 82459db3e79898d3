"""Template bundles: flows shipped with parameters and credential slots, resolved at install (DESIGN §9).

A bundle lives in a folder `<name>/bundle.json` (with its simulation cases in `<name>/cases/*.json`).
Inside its flows, `{{ params.NAME }}` stands for a parameter: a string that is exactly one such
placeholder takes the parameter's native value (a number stays a number); a placeholder inside a
longer string is replaced by the value's text; `params.NAME` inside a larger expression
(`{{ deal.seats * params.upsell_usage }}`) is replaced by the value as a literal. Everything else in
a template (`{{ contact.first_name }}`) is left for the runtime.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

import schemas
from connectors.registry import ConnectorRegistry
from runtime import publish
from runtime.durations import is_duration
from runtime.errors import FlowInvalid, FlowrightError
from runtime.models import Flow as FlowRow
from runtime.services import Services
from runtime.validation import load_flow

FORMAT = "flowright-bundle/v1"
BUNDLE_FILE = "bundle.json"
CASES_DIR = "cases"
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

_WHOLE = re.compile(r"^\{\{\s*params\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_PART = re.compile(r"\{\{\s*params\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# A Jinja expression or statement block, and a `params.NAME` reference inside one.
_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_REF = re.compile(r"\bparams\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)\b")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class BundleProblem:
    """One thing wrong with a bundle or an install request: where (a JSON pointer) and what."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class BundleError(FlowrightError):
    """A bundle that cannot be loaded, validated or resolved; `problems` lists every one."""

    def __init__(self, problems: list[BundleProblem]) -> None:
        self.problems = problems
        text = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{len(problems)} problem(s): {text}{more}")


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle document and where it came from."""

    path: Path  # the bundle.json file
    document: Mapping[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.document.get("name", self.path.parent.name))

    @property
    def title(self) -> str:
        return str(self.document.get("title", self.name))

    @property
    def version(self) -> str:
        return str(self.document.get("version", ""))

    @property
    def params(self) -> list[Mapping[str, Any]]:
        return list(self.document.get("params") or [])

    @property
    def credentials(self) -> list[Mapping[str, Any]]:
        return list(self.document.get("credentials") or [])

    @property
    def flows(self) -> list[Mapping[str, Any]]:
        return list(self.document.get("flows") or [])

    @property
    def flow_keys(self) -> list[str]:
        return [str(f.get("key", "")) for f in self.flows]

    def case_files(self) -> list[Path]:
        return sorted((self.path.parent / CASES_DIR).glob("*.json"))

    def resolve(self, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return resolve_flows(self.document, values or {})


# ---------------------------------------------------------------- loading

def load_bundle(path: str | Path) -> Bundle:
    """Read a bundle from its folder or its bundle.json; BundleError if it is not JSON."""
    file = Path(path)
    if file.is_dir():
        file = file / BUNDLE_FILE
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError([BundleProblem("", f"{file} does not exist")]) from None
    except json.JSONDecodeError as exc:
        raise BundleError([BundleProblem("", f"{file} is not JSON: {exc}")]) from None
    if not isinstance(document, dict):
        raise BundleError([BundleProblem("", f"{file} does not hold a JSON object")])
    return Bundle(path=file, document=document)


def _bundle_files(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(Path(folder).glob(f"*/{BUNDLE_FILE}"))


def list_bundles(extra: Iterable[str | Path] = (), *, examples: bool = True) -> list[Bundle]:
    """Every bundle in the examples folder (unless `examples` is False) and in the `extra` folders,
    sorted by name. Two bundles with one name are an error: installs must be unambiguous."""
    folders = [EXAMPLES_DIR] if examples else []
    folders += [Path(f) for f in extra]
    bundles: dict[str, Bundle] = {}
    for file in _bundle_files(folders):
        bundle = load_bundle(file)
        if bundle.name in bundles:
            raise BundleError([BundleProblem(
                "/name", f"bundle {bundle.name!r} is in both {bundles[bundle.name].path} and {file}")])
        bundles[bundle.name] = bundle
    return [bundles[name] for name in sorted(bundles)]


def find_bundle(name: str, extra: Iterable[str | Path] = ()) -> Bundle:
    """The bundle called `name`; an unknown name lists the known ones."""
    bundles = {b.name: b for b in list_bundles(extra)}
    if name not in bundles:
        known = ", ".join(sorted(bundles)) or "none"
        raise BundleError([BundleProblem("", f"no template bundle named {name!r}; known: {known}")])
    return bundles[name]


# ---------------------------------------------------------------- validation

@cache
def _schema_validator() -> Draft202012Validator:
    schema = schemas.load("template")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value))


TYPE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "string": (_is_string, "a string"),
    "number": (_is_number, "a number"),
    "integer": (_is_integer, "a whole number"),
    "boolean": (_is_boolean, "true or false"),
    "duration": (is_duration, "an ISO-8601 duration such as P2D or PT4H"),
    "email": (_is_email, "an e-mail address"),
}


def _parse_boolean(text: str) -> bool:
    table = {"true": True, "yes": True, "1": True, "on": True,
             "false": False, "no": False, "0": False, "off": False}
    try:
        return table[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not true or false") from None


TEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "number": float,
    "integer": int,
    "boolean": _parse_boolean,
    "duration": str.strip,
    "email": str.strip,
}


def parse_param_text(param_type: str, text: str) -> Any:
    """A parameter value typed on the command line (`--param points=10`) in its native type."""
    value = TEXT_PARSERS[param_type](text)
    if param_type == "number" and float(value).is_integer() and "." not in text:
        return int(value)
    return value


def _placeholders(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(pointer, param name) for every `params.NAME` used in a template block of a JSON value."""
    if isinstance(value, str):
        for block in _BLOCK.finditer(value):
            for match in _REF.finditer(block.group(0)):
                yield pointer, match.group("name")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _placeholders(item, f"{pointer}{_pointer([key])}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, f"{pointer}/{index}")


def validate_bundle(document: Any) -> list[BundleProblem]:
    """Every problem with a bundle document: the schema first, then the checks a schema cannot make
    (unique parameter names and flow keys, placeholders naming declared parameters)."""
    problems = [
        BundleProblem(_pointer(error.absolute_path), error.message)
        for error in sorted(_schema_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if problems or not isinstance(document, Mapping):
        return problems
    declared: dict[str, int] = {}
    for index, param in enumerate(document.get("params") or []):
        if param["name"] in declared:
            problems.append(BundleProblem(f"/params/{index}/name",
                                          f"parameter {param['name']!r} is declared twice"))
        declared.setdefault(param["name"], index)
        if "default" in param:
            check, wanted = TYPE_CHECKS[param["type"]]
            if not check(param["default"]):
                problems.append(BundleProblem(f"/params/{index}/default",
                                              f"the default of {param['name']!r} must be {wanted}"))
    keys: set[str] = set()
    for index, flow in enumerate(document["flows"]):
        if flow["key"] in keys:
            problems.append(BundleProblem(f"/flows/{index}/key", f"flow key {flow['key']!r} is used twice"))
        keys.add(flow["key"])
    for pointer, name in _placeholders(document["flows"], "/flows"):
        if name not in declared:
            problems.append(BundleProblem(pointer, f"params.{name} is not a declared parameter"))
    return problems


# ---------------------------------------------------------------- resolution

def _text(value: Any) -> str:
    """A parameter value as it reads inside a longer string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal(value: Any) -> str:
    """A parameter value written as a Jinja literal, for use inside a larger expression."""
    return json.dumps(value, ensure_ascii=False)


def _substitute(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.match(value.strip())
        if whole:
            return copy.deepcopy(values[whole.group("name")])
        text = _PART.sub(lambda m: _text(values[m.group("name")]), value)
        def literals(block: re.Match[str]) -> str:
            return _REF.sub(lambda m: _literal(values[m.group("name")]), block.group(0))

        return _BLOCK.sub(literals, text)
    if isinstance(value, Mapping):
        return {key: _substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    return value


def param_values(document: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The value of every declared parameter: the given one (type-checked) or the default.
    Unknown names, missing required parameters and wrongly typed values are all reported at once."""
    problems: list[BundleProblem] = []
    declared = {p["name"]: (i, p) for i, p in enumerate(document.get("params") or [])}
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(BundleProblem(_pointer(["params", name]),
                                          f"unknown parameter {name!r}; this bundle takes: {known}"))
    values: dict[str, Any] = {}
    for name, (index, param) in declared.items():
        if name in given:
            check, wanted = TYPE_CHECKS[param["type"]]
            if not check(given[name]):
                problems.append(BundleProblem(_pointer(["params", name]),
                                              f"parameter {name!r} must be {wanted}, got {given[name]!r}"))
                continue
            values[name] = given[name]
        elif "default" in param:
            values[name] = param["default"]
        else:
            problems.append(BundleProblem(f"/params/{index}",
                                          f"parameter {name!r} is required: {param['description']}"))
    if problems:
        raise BundleError(problems)
    return values


def resolve_flows(
    document: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The bundle's flow documents with every `{{ params.NAME }}` resolved, ready to save as drafts.

    Raises BundleError (with JSON pointers) if the bundle is invalid or the values do not fit it.
    """
    problems = validate_bundle(document)
    if problems:
        raise BundleError(problems)
    values = param_values(document, given or {})
    return [_substitute(flow, values) for flow in document["flows"]]


# ---------------------------------------------------------------- installing

class BundleConflict(BundleError):
    """Flows of the bundle exist already and the install did not ask to replace them."""

    def __init__(self, taken: list[str]) -> None:
        self.taken = taken
        super().__init__([BundleProblem("/replace", f"flow {key!r} exists already") for key in taken])


@dataclass(frozen=True)
class InstalledFlow:
    key: str
    created: bool  # False: an existing draft was replaced


def check_flows(registry: ConnectorRegistry, flows: Iterable[Mapping[str, Any]]) -> list[BundleProblem]:
    """Every problem of every resolved flow (`/flows/<i>/...`), so a bundle installs whole or not at all."""
    problems: list[BundleProblem] = []
    for index, flow in enumerate(flows):
        try:
            load_flow(flow, registry)
        except FlowInvalid as exc:
            found = [p for p in exc.problems if getattr(p, "severity", "error") == "error"] or exc.problems
            problems += [BundleProblem(f"/flows/{index}{p.pointer}", p.message)
                         for p in found] or [BundleProblem(f"/flows/{index}", str(exc))]
    return problems


def install(
    services: Services, bundle: Bundle, values: Mapping[str, Any] | None = None, *, replace: bool = False
) -> list[InstalledFlow]:
    """Resolve `bundle` with `values` and save each flow as a DRAFT (nothing is published): the checks
    the CLI and the API share. Raises BundleError (parameters or flows that do not validate, with
    pointers) or BundleConflict (flow keys taken, unless `replace`); nothing is saved then."""
    flows = bundle.resolve(values)
    keys = [str(flow["key"]) for flow in flows]
    with Session(services.engine) as session:
        taken = sorted(session.execute(select(col(FlowRow.key)).where(col(FlowRow.key).in_(keys))).scalars())
    if taken and not replace:
        raise BundleConflict(taken)
    problems = check_flows(services.registry, flows)
    if problems:
        raise BundleError(problems)
    return [InstalledFlow(publish.save_draft(services, flow), flow["key"] not in taken) for flow in flows]
