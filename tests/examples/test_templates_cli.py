"""`flowright templates list | install`: through the real CLI group, the real database and Redis."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from builder.cli import main
from runtime import db
from runtime.bundles import list_bundles
from runtime.models import Flow as FlowRow


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_list_shows_every_bundle_with_its_flows() -> None:
    code, output = invoke("templates", "list")
    assert code == 0
    for bundle in list_bundles():
        assert bundle.name in output and bundle.title in output
    assert "flows: amo-new-lead, amo-ready-to-enroll-stuck, amo-partial-payment" in output


def test_list_json() -> None:
    code, output = invoke("templates", "list", "--json")
    rows = {row["name"]: row for row in json.loads(output)}
    assert code == 0
    assert rows["review-request"]["flows"] == ["review-request", "publish-positive-reviews"]


def test_install_to_a_folder_resolves_params_with_types(tmp_path: Path) -> None:
    code, output = invoke("templates", "install", "warming-funnel", "--out", str(tmp_path),
                          "--param", "engaged_points=35", "--param", "interval=P10D")
    assert code == 0, output
    flow = json.loads((tmp_path / "warming-funnel.json").read_text(encoding="utf-8"))
    nodes = {n["id"]: n for n in flow["nodes"]}
    assert nodes["score"]["params"]["points"] == 35
    assert nodes["click_1"]["timeout"] == "P10D"
    assert "credentials this bundle needs: mail (default)" in output


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--param", "colour=red"], "/params/colour: unknown parameter 'colour'"),
        (["--param", "engaged_points=many"], "engaged_points"),
        (["--param", "interval=ten days"], "/params/interval: parameter 'interval' must be an ISO-8601"),
        (["--param", "novalue"], "is not NAME=VALUE"),
    ],
)
def test_install_reports_bad_params(tmp_path: Path, args: list[str], phrase: str) -> None:
    code, output = invoke("templates", "install", "warming-funnel", "--out", str(tmp_path), *args)
    assert code != 0
    assert phrase in output
    assert not list(tmp_path.glob("*.json"))


def test_install_unknown_bundle_lists_the_known_ones(tmp_path: Path) -> None:
    code, output = invoke("templates", "install", "nope", "--out", str(tmp_path))
    assert code != 0 and "no template bundle named 'nope'" in output and "review-request" in output


@pytest.fixture
def instance(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh instance: SQLite database upgraded in a temporary FLOWRIGHT_HOME, the test Redis."""
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'flowright.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("FLOWRIGHT_HOME", str(home))
    db.upgrade(url)
    yield url


def stored_flows(url: str) -> dict[str, FlowRow]:
    engine = db.make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return {r.key: r for r in session.execute(select(FlowRow)).scalars()}
    finally:
        engine.dispose()


def test_install_creates_draft_flows_in_the_database(instance: str) -> None:
    code, output = invoke("templates", "install", "review-request", "--param", "care_channel=#care")
    assert code == 0, output
    assert "created draft review-request" in output and "created draft publish-positive-reviews" in output
    rows = stored_flows(instance)
    assert set(rows) == {"review-request", "publish-positive-reviews"}
    assert all(row.published_version is None for row in rows.values())
    alert = next(n for n in rows["review-request"].document["nodes"] if n["id"] == "care_alert")
    assert alert["params"]["channel"] == "#care"
    assert "{{ params." not in json.dumps([row.document for row in rows.values()])


def test_an_installed_draft_can_be_published(instance: str) -> None:
    assert invoke("templates", "install", "ebook-lead-magnet")[0] == 0
    code, output = invoke("flows", "publish", "ebook-nurture")
    assert code == 0, output
    assert stored_flows(instance)["ebook-nurture"].published_version == 1


def _node(url: str, key: str, node_id: str) -> dict[str, Any]:
    return next(n for n in stored_flows(url)[key].document["nodes"] if n["id"] == node_id)


def test_install_refuses_existing_flows_unless_replace(instance: str) -> None:
    assert invoke("templates", "install", "quote-request")[0] == 0
    code, output = invoke("templates", "install", "quote-request", "--param", "reply_within=PT4H")
    assert code != 0 and "flows already exist: quote-request; nothing was installed" in output
    assert _node(instance, "quote-request", "prepare_task")["params"]["due_in"] == "P2D"
    code, output = invoke("templates", "install", "quote-request", "--param", "reply_within=PT4H",
                          "--replace")
    assert code == 0 and "replaced draft quote-request" in output, output
    assert _node(instance, "quote-request", "prepare_task")["params"]["due_in"] == "PT4H"


def _consultant_bundle(folder: Path, second_action: str) -> None:
    """A bundle of two flows whose second one uses `second_action`."""
    def flow(key: str, action: str) -> dict[str, Any]:
        return {"format": "flowright/v1", "key": key, "name": key, "subject": "contact",
                "triggers": [{"type": "manual"}], "start": "tag",
                "nodes": [{"id": "tag", "type": "action", "action": action,
                           "params": {"tag": "{{ params.tag }}"}}]}

    bundle = {"format": "flowright-bundle/v1", "name": "consultant-pack", "title": "Consultant pack",
              "description": "Two tagging flows.", "practice": "Tag on demand.", "version": "0.1.0",
              "params": [{"name": "tag", "type": "string", "default": "vip", "description": "The tag."}],
              "flows": [flow("pack-first", "crm.add_tag"), flow("pack-second", second_action)]}
    (folder / "consultant-pack").mkdir(parents=True)
    (folder / "consultant-pack" / "bundle.json").write_text(json.dumps(bundle), encoding="utf-8")


def test_a_bundle_with_an_invalid_flow_installs_nothing(instance: str, tmp_path: Path) -> None:
    _consultant_bundle(tmp_path / "bundles", "crm.no_such_action")
    code, output = invoke("templates", "install", "consultant-pack", "--bundles", str(tmp_path / "bundles"))
    assert code != 0 and "nothing was installed" in output and "pack-second:/nodes/0/action" in output, output
    assert stored_flows(instance) == {}


def test_a_consultant_bundle_from_another_folder_installs(instance: str, tmp_path: Path) -> None:
    _consultant_bundle(tmp_path / "bundles", "crm.add_tag")
    folder = str(tmp_path / "bundles")
    code, output = invoke("templates", "list", "--bundles", folder)
    assert code == 0 and re.search(r"^consultant-pack +Consultant pack$", output, re.M), output
    code, output = invoke("templates", "install", "consultant-pack", "--bundles", folder,
                          "--param", "tag=gold")
    assert code == 0, output
    rows = stored_flows(instance)
    assert set(rows) == {"pack-first", "pack-second"}
    assert rows["pack-second"].document["nodes"][0]["params"] == {"tag": "gold"}
