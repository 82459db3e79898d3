"""`flowright up --port N` as a real process: with FLOWRIGHT_PUBLIC_URL unset, webhook (and tracking) URLs
are built on the address it serves, not on port 5000; and it stops promptly on SIGTERM after refusing
input nested too deeply."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from tests.durable.test_up import ROOT, Up, cli

DRIP = {
    "format": "flowright/v1", "key": "drip", "name": "Drip", "subject": "contact",
    "triggers": [{"type": "webhook"}], "start": "tag",
    "nodes": [{"id": "tag", "type": "action", "action": "crm.add_tag", "params": {"tag": "lead"}}],
}


@pytest.mark.slow
def test_up_builds_urls_on_its_own_port_and_stops_promptly(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "FLOWRIGHT_PUBLIC_URL")}
    env.update({"FLOWRIGHT_HOME": str(home), "PYTHONPATH": str(ROOT)})
    up = Up(home, env)
    try:
        token = cli(env, "tokens", "create", "--role", "admin").strip()
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        assert api.post(f"{up.url}/api/flows", json=DRIP, timeout=10).status_code == 201
        hook = api.post(f"{up.url}/api/flows/drip/hook", json={}, timeout=10).json()
        assert hook["url"].startswith(f"http://localhost:{up.port}/hooks/"), hook
        deep = '{"a": ' * 600 + "1" + "}" * 600
        for path in ("/api/events", "/api/flows/drip/enroll"):
            reply = api.post(f"{up.url}{path}", data=deep, headers={"Content-Type": "application/json"},
                             timeout=10)
            assert reply.status_code == 422, reply.text
    finally:
        started = time.monotonic()
        assert up.stop() == 0
    # ~5 s of this is the embedded Redis shutdown's wait for its process (runtime.redis_embedded)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "http://localhost:8123"), ("0.0.0.0", "http://localhost:8123"),
    ("flows.lan", "http://flows.lan:8123"), ("fe80::1", "http://[fe80::1]:8123"),
])
def test_web_and_up_default_the_public_url_to_where_they_serve(
    monkeypatch: pytest.MonkeyPatch, host: str, expected: str
) -> None:
    from builder.cli.processes import _default_public_url

    monkeypatch.delenv("FLOWRIGHT_PUBLIC_URL", raising=False)
    assert _default_public_url(host, 8123) == expected == os.environ["FLOWRIGHT_PUBLIC_URL"]
    monkeypatch.setenv("FLOWRIGHT_PUBLIC_URL", "https://flows.example.com")
    assert _default_public_url(host, 8123) == "https://flows.example.com"
