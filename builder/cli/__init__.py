"""The `flowright` command. Each area adds its commands from its own module (see COMMAND_MODULES)."""

from __future__ import annotations

import importlib

import click

# Modules exposing `register(group: click.Group) -> None`; a module not written yet is skipped.
COMMAND_MODULES: tuple[str, ...] = (
    "builder.cli.validate",
    "builder.cli.simulate",
    "builder.cli.templates",
    "builder.cli.processes",
    "builder.cli.data",
    "builder.cli.bench",
    "builder.cli.tokens",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowright")
def main() -> None:
    """Flowright: durable no-code automation flows for CRM and marketing work."""


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(main)


_register_all()
