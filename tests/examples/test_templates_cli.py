"""`flowright templates list | install`: through the real CLI group, the real database and Redis."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_install_creates_draft_flows_in_the_database(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'flowright.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("FLOWRIGHT_HOME", str(tmp_path / "home"))
    db.upgrade(url)
    code, output = invoke("templates", "install", "review-request", "--param", "care_channel=#care")
    assert code == 0, output
    assert "created draft review-request" in output and "created draft publish-positive-reviews" in output
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            rows = {r.key: r for r in session.execute(select(FlowRow)).scalars()}
    finally:
        engine.dispose()
    assert set(rows) == {"review-request", "publish-positive-reviews"}
    assert all(row.published_version is None for row in rows.values())
    alert = next(n for n in rows["review-request"].document["nodes"] if n["id"] == "care_alert")
    assert alert["params"]["channel"] == "#care"
