"""The `flowright` command. Each area adds its commands from its own module (see COMMAND_MODULES).

Modules are imported when one of their commands runs, not all at start: `flowright runs list` should
not pay for the simulator, the validator and the web server. COMMANDS says which module holds which
command; a command it does not name is looked for in every module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

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
COMMANDS: dict[str, str] = {
    "validate": "builder.cli.validate",
    "simulate": "builder.cli.simulate",
    "templates": "builder.cli.templates",
    **dict.fromkeys(("up", "web", "worker", "scheduler", "db"), "builder.cli.processes"),
    **dict.fromkeys(("flows", "enroll", "events", "runs", "records", "credentials"), "builder.cli.data"),
    "bench": "builder.cli.bench",
    "tokens": "builder.cli.tokens",
}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


class LazyGroup(click.Group):
    """A group that imports a command's module the first time the command is asked for."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self._loaded: set[str] = set()

    def _load(self, module_name: str) -> None:
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        module = _module(module_name)
        if module is not None:
            module.register(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for name in [COMMANDS[cmd_name]] if cmd_name in COMMANDS else COMMAND_MODULES:
                self._load(name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in COMMAND_MODULES:
            self._load(name)
        return super().list_commands(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowright")
def main() -> None:
    """Flowright: durable no-code automation flows for CRM and marketing work."""
