"""`flowright flows import` of a template bundle stores its flows with the parameters' defaults filled in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main

BUNDLE = Path("examples/ebook-lead-magnet/bundle.json")


@pytest.fixture
def instance(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWRIGHT_HOME", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path  # no `db upgrade`: the embedded database needs no set-up step


def test_a_bundle_imports_as_resolved_drafts(instance: Path) -> None:
    bundle = json.loads(BUNDLE.read_text())
    runner = CliRunner()
    done = runner.invoke(main, ["flows", "import", str(BUNDLE)])
    assert done.exit_code == 0, done.output
    keys = [flow["key"] for flow in bundle["flows"]]
    assert done.stdout.splitlines() == [f"imported {key}" for key in keys]
    exported = runner.invoke(main, ["flows", "export", keys[0]])
    assert exported.exit_code == 0, exported.output
    assert "params." not in exported.stdout


def test_a_bundle_needing_install_values_is_refused_with_a_hint(instance: Path, tmp_path: Path) -> None:
    bundle = json.loads(BUNDLE.read_text())
    del bundle["params"][0]["default"]  # a parameter without a default must be given at install
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    done = CliRunner().invoke(main, ["flows", "import", str(path)])
    assert done.exit_code == 1
    assert "flowright templates install" in done.output
    assert "Traceback" not in done.output
