"""`flowright validate FILE...`: exit codes and one `FILE:POINTER: message` line per problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main

VALID = {
    "format": "flowright/v1",
    "key": "welcome",
    "name": "Welcome",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "contact.created"}],
    "start": "hello",
    "nodes": [
        {
            "id": "hello",
            "type": "action",
            "action": "mail.send",
            "params": {"to": "{{ contact.email }}", "subject": "Hi", "body": "Welcome"},
            "next": "pause",
        },
        {"id": "pause", "type": "delay", "duration": "P2D"},
    ],
}


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_flow_exits_zero_silently(tmp_path: Path) -> None:
    assert invoke(str(write(tmp_path, "ok.json", VALID))) == (0, "", "")


def test_broken_flow_prints_one_line_per_problem(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(VALID))
    doc["nodes"][0]["action"] = "mail.sent"
    doc["nodes"][0]["next"] = "pasue"
    doc["nodes"][1]["duration"] = "two days"
    path = write(tmp_path, "bad.json", doc)
    code, out, _ = invoke(str(path))
    assert code == 1
    assert out.splitlines() == [
        f'{path}:/nodes/1/duration: "two days" is not an ISO-8601 duration such as P2D, PT1H30M or -P1D',
        f"{path}:/nodes/0/next: no node has id 'pasue'; did you mean 'pause'?",
        f"{path}:/nodes/1: node 'pause' is unreachable: no path from start 'hello' leads to it",
        f"{path}:/nodes/0/action: unknown action 'mail.sent'; did you mean 'mail.send'?",
    ]


def test_several_files_each_named(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.json", VALID)
    bad = write(tmp_path, "bad.json", {**VALID, "start": "nowhere"})
    code, out, _ = invoke(str(ok), str(bad))
    assert code == 1
    assert out == f"{bad}:/start: no node has id 'nowhere'\n"


def test_unreadable_and_malformed_files_are_problems_not_tracebacks(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.json", '{"format": ')
    code, out, _ = invoke(str(broken), str(tmp_path / "missing.json"))
    assert code == 1
    assert out.splitlines() == [
        f"{broken}:: not valid JSON: Expecting value at line 1 column 12",
        f"{tmp_path / 'missing.json'}:: cannot read the file: No such file or directory",
    ]


def test_a_directory_is_a_problem_line_not_a_usage_error(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.json", VALID)
    code, out, err = invoke(str(tmp_path), str(ok))
    assert (code, out, err) == (1, f"{tmp_path}:: cannot read the file: it is a directory\n", "")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_a_problem_line_not_a_usage_error(tmp_path: Path) -> None:
    secret = write(tmp_path, "secret.json", VALID)
    secret.chmod(0)
    code, out, _ = invoke(str(secret))
    assert (code, out) == (1, f"{secret}:: cannot read the file: Permission denied\n")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_file_that_fails_to_read_is_a_problem_line() -> None:
    code, out, _ = invoke("/proc/self/mem")  # opens, then every read fails, even for root
    assert code == 1
    assert out.startswith("/proc/self/mem:: cannot read the file: ")


def test_warnings_go_to_stderr_and_do_not_fail(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(VALID))
    doc["nodes"][1] = {"id": "pause", "type": "set", "values": {"n": 1}, "next": "hello"}
    path = write(tmp_path, "loop.json", doc)
    code, out, err = invoke(str(path))
    assert (code, out) == (0, "")
    assert err.startswith(f"{path}:/nodes/0: warning: the loop hello -> pause -> hello has no delay")


def test_a_bundle_is_checked_with_its_flows(tmp_path: Path) -> None:
    shipped = sorted(Path("examples").glob("*/bundle.json"))
    assert shipped and invoke(*map(str, shipped))[0] == 0
    bundle = json.loads(shipped[0].read_text())
    bundle["flows"][0]["nodes"][0]["id"] = "Bad Id"
    path = write(tmp_path, "bundle.json", bundle)
    code, out, _ = invoke(str(path))
    assert code == 1
    assert f"{path}:/flows/0/nodes/0/id: " in out


def test_the_installed_command_never_prints_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.json", [1, {"nodes": None}])
    proc = subprocess.run(
        [sys.executable, "-m", "builder.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == f"{path}:: must be an object, not a list\n"
    assert "Traceback" not in proc.stderr
