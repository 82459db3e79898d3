"""Helpers shared by CLI commands: reading JSON arguments (`JSON` or `@file`) with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from runtime.db import database_url, upgrade


def read_json_file(path: str) -> Any:
    """The JSON document in a file; click.UsageError-free: raises click.ClickException naming the file."""
    if not path:
        raise click.ClickException("'@' needs a file name: @path/to/file.json")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise click.ClickException(f"{path}: invalid JSON: nested too deeply") from None


def json_argument(value: str | None, option: str) -> Any:
    """An option given as inline JSON or as `@file`; the error names the option."""
    if value is None:
        return None
    if value.startswith("@"):
        return read_json_file(value[1:])
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON ({exc.msg} at column {exc.colno}); give JSON or @file", param_hint=option
        ) from None
    except RecursionError:
        raise click.BadParameter("not valid JSON (nested too deeply)", param_hint=option) from None


def ready_database() -> None:
    """The embedded SQLite database upgraded to the latest schema, so no command needs a set-up step.

    A PostgreSQL database is left to `flowright db upgrade`, run once per release by its operator.
    """
    if database_url().startswith("sqlite"):
        upgrade()
