"""`flowright bench [NAME]`: run the benchmarks in tests/bench/ (each module's `run() -> dict`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import click

BENCH_DIR = Path(__file__).resolve().parents[2] / "tests" / "bench"


def register(group: click.Group) -> None:
    group.add_command(bench_command)


def available() -> dict[str, Path]:
    """Benchmarks by name: tests/bench/bench_<name>.py."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(BENCH_DIR.glob("bench_*.py"))}


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"flowright_bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@click.command("bench")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
def bench_command(name: str | None, as_json: bool) -> None:
    """Run every benchmark, or the one called NAME, and print its numbers."""
    benches = available()
    if not benches:
        raise click.ClickException(f"no benchmarks found in {BENCH_DIR} (they ship with the source tree)")
    if name is not None and name not in benches:
        raise click.ClickException(f"unknown benchmark {name!r}; known: {', '.join(benches)}")
    results = {}
    for bench_name, path in benches.items():
        if name is not None and bench_name != name:
            continue
        if not as_json:
            click.echo(f"== {bench_name}", err=True)
        results[bench_name] = _load(path).run()
        if not as_json:
            for key, value in results[bench_name].items():
                click.echo(f"{bench_name}.{key}: {value}")
    if as_json:
        click.echo(json.dumps(results, indent=2, default=str))
