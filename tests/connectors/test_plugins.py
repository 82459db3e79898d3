"""A third-party connector installed in the environment is found through its entry point."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from connector_support import make_ctx

from connectors.errors import DuplicateConnectorError, UnknownConnectorError
from connectors.registry import ENTRY_POINT_GROUP, default_registry

PLUGIN = Path(__file__).resolve().parents[1] / "fixtures" / "plugin_connector"


def install(site: Path, dist: str, entry_points: str) -> None:
    """What pip leaves behind for an installed distribution: a .dist-info with entry_points.txt."""
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A site directory with the plug-in's package and its metadata, on sys.path for one test."""
    install(tmp_path, "flowright-echo", "echo = flowright_echo:CONNECTOR")
    sys.path[:0] = [str(tmp_path), str(PLUGIN)]
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.path.remove(str(PLUGIN))
        sys.modules.pop("flowright_echo", None)


def test_the_plugin_is_found_and_runs(site: Path) -> None:
    registry = default_registry()
    action = registry.action("echo.shout")
    assert registry.connector("echo").title == "Echo"
    assert action.run(make_ctx({"greeting": "YO"}), {"text": "hello"}) == {"text": "YO HELLO"}
    assert registry.has_action("mail.send")  # the built-ins are still there
    assert not default_registry(plugins=False).has_action("echo.shout")


def test_a_duplicate_key_raises(site: Path) -> None:
    install(site, "flowright-echo-copy", "echo_again = flowright_echo:CONNECTOR")
    with pytest.raises(DuplicateConnectorError, match="echo"):
        default_registry()


def test_an_unknown_action_lists_the_known_ones() -> None:
    registry = default_registry(plugins=False)
    with pytest.raises(UnknownConnectorError) as info:
        registry.action("mail.sned")
    assert "unknown action 'mail.sned'" in str(info.value) and "mail.send" in str(info.value)
    with pytest.raises(UnknownConnectorError, match="known connectors: accounting"):
        registry.connector("fax")
