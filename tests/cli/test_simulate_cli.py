"""`flowright simulate`: DESIGN §10 arguments, the --json shape to the letter, readable errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main

FLOW = {
    "format": "flowright/v1",
    "key": "ebook",
    "name": "E-book nurture",
    "subject": "contact",
    "triggers": [{"type": "event", "event": "form.submitted"}],
    "start": "welcome",
    "settings": {"timezone": "Europe/Vilnius", "exit_on": [{"event": "meeting.booked"}]},
    "nodes": [
        {
            "id": "welcome",
            "type": "action",
            "action": "mail.send",
            "next": "wait",
            "params": {
                "to": "{{ contact.email }}",
                "subject": "Your {{ trigger.form }}",
                "body": "Here it is",
            },
        },
        {"id": "wait", "type": "delay", "duration": "P2D", "next": "tips"},
        {
            "id": "tips",
            "type": "action",
            "action": "mail.send",
            "params": {"to": "{{ contact.email }}", "subject": "Three tips", "body": "..."},
        },
    ],
}


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(FLOW))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["simulate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_output_follows_design_to_the_letter(flow_file: Path, tmp_path: Path) -> None:
    subject = tmp_path / "ann.json"
    subject.write_text(json.dumps({"contact": {"email": "ann@example.com"}}))
    code, out, _ = invoke(
        str(flow_file),
        "--subject",
        f"@{subject}",
        "--trigger",
        '{"form": "e-book"}',
        "--start",
        "2026-03-02T09:00:00Z",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"status", "path", "steps", "effects"}
    assert data["status"] == "completed"
    assert data["path"] == ["welcome", "wait", "tips"]
    assert all(set(s) == {"node", "at", "port", "output"} for s in data["steps"])
    assert [set(e) for e in data["effects"]] == [{"node", "action", "at", "params"}] * 2
    assert data["effects"][0]["params"]["subject"] == "Your e-book"
    assert data["effects"][1]["at"] == "2026-03-04T09:00:00Z"


def test_events_file_reaches_the_goal(flow_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"after": "P1D", "type": "meeting.booked", "data": {}}]))
    code, out, _ = invoke(
        str(flow_file),
        "--subject",
        '{"contact": {"email": "a@b.c"}}',
        "--trigger",
        '{"form": "guide"}',
        "--events",
        f"@{events}",
        "--start",
        "2026-03-02T09:00:00Z",
        "--json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["status"] == "exited"
    assert [e["node"] for e in data["effects"]] == ["welcome"]


def test_readable_timeline_without_json(flow_file: Path) -> None:
    code, out, _ = invoke(
        str(flow_file),
        "--subject",
        '{"contact": {"email": "a@b.c"}}',
        "--trigger",
        '{"form": "guide"}',
        "--start",
        "2026-03-02T09:00:00Z",
    )
    assert code == 0
    assert "Mon 2026-03-02 11:00  welcome" in out  # local time in the flow's timezone
    assert "mail.send" in out and "Your guide" in out
    assert out.strip().splitlines()[-1].startswith("status: completed")


def test_timeline_is_in_the_contacts_timezone_when_it_drove_the_schedule(flow_file: Path) -> None:
    subject = '{"contact": {"email": "a@b.c", "timezone": "America/New_York"}}'
    code, out, err = invoke(str(flow_file), "--subject", subject, "--trigger", '{"form": "guide"}',
                            "--start", "2026-03-02T09:00:00Z")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "E-book nurture — simulated; times in America/New_York (the contact's timezone)"
    assert lines[1].startswith("Mon 2026-03-02 04:00  welcome")  # 09:00Z in New York
    assert any(line.startswith("Wed 2026-03-04 04:00  tips") for line in lines)


def test_timeline_names_the_flows_timezone_when_the_contact_has_none(flow_file: Path) -> None:
    code, out, _ = invoke(str(flow_file), "--subject", '{"contact": {"email": "a@b.c"}}',
                          "--trigger", '{"form": "guide"}', "--start", "2026-03-02T09:00:00Z")
    assert code == 0
    assert out.splitlines()[0] == "E-book nurture — simulated; times in Europe/Vilnius (the flow's timezone)"


@pytest.mark.parametrize("as_json", [False, True])
def test_an_invalid_contact_timezone_falls_back_with_a_warning(flow_file: Path, as_json: bool) -> None:
    subject = '{"contact": {"email": "a@b.c", "timezone": "Nowhere/X"}}'
    args = ["--subject", subject, "--trigger", '{"form": "guide"}', "--start", "2026-03-02T09:00:00"]
    code, out, err = invoke(str(flow_file), *args, *(["--json"] if as_json else []))
    assert code == 0
    assert err == (
        f"{flow_file}: warning: contact.timezone 'Nowhere/X' is not a known IANA timezone such as "
        "Europe/Vilnius; the run follows the flow's timezone (Europe/Vilnius)\n"
    )
    if as_json:  # the run itself falls back, as it does in production: a naive start is Vilnius time
        assert json.loads(out)["steps"][0]["at"] == "2026-03-02T07:00:00Z"
    else:
        assert "times in Europe/Vilnius (the flow's timezone)" in out.splitlines()[0]


def test_invalid_flow_prints_pointer_lines(tmp_path: Path) -> None:
    broken = dict(FLOW, start="nowhere")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    code, _, err = invoke(str(path), "--subject", "{}")
    assert code == 1
    assert f"{path}:/start:" in err


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--subject", "{not json"], "--subject"),
        (["--subject", "{}", "--events", '{"a": 1}'], "--events"),
        (["--subject", "{}", "--start", "tomorrow"], "--start"),
        (["--subject", '{"lead": {}}'], "unknown key"),
        (["--subject", "@/no/such/file.json"], "cannot read file"),
        (["--subject", "{}", "--events", "[5]"], "events/0: an event is an object"),
        (["--subject", "{}", "--events", '[{"after": "P1Q", "type": "a.b"}]'], "events/0/after"),
        (["--subject", "{}", "--events", '[{"after": "P1D"}]'], "needs a 'type'"),
        (["--subject", '{"contact_id": [7]}'], "contact_id must be"),
        (
            [
                "--subject",
                "{}",
                "--start",
                "2026-03-02T09:00:00Z",
                "--events",
                '[{"after": "-P1D", "type": "a.b"}]',
            ],
            "before the run starts",
        ),
    ],
)
def test_bad_arguments_give_clear_errors(flow_file: Path, args: list[str], phrase: str) -> None:
    code, out, err = invoke(str(flow_file), *args)
    assert code != 0
    assert phrase in out + err
    assert "Traceback" not in out + err


def test_installed_command_runs(flow_file: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "builder.cli",
            "simulate",
            str(flow_file),
            "--subject",
            '{"contact": {"email": "a@b.c"}}',
            "--trigger",
            '{"form": "guide"}',
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "completed"


def simulate_json(flow_file: Path, *args: str) -> dict:
    code, out, err = invoke(str(flow_file), "--trigger", '{"form": "guide"}', *args, "--json")
    assert code == 0, err
    return json.loads(out)  # stdout holds the one JSON object and nothing else


def test_naive_start_is_read_in_the_flows_timezone(flow_file: Path) -> None:
    data = simulate_json(
        flow_file, "--subject", '{"contact": {"email": "a@b.c"}}', "--start", "2026-03-02T09:00:00"
    )
    assert data["steps"][0]["at"] == "2026-03-02T07:00:00Z"  # 09:00 in Vilnius


def test_naive_start_follows_the_contacts_timezone(flow_file: Path) -> None:
    subject = '{"contact": {"email": "a@b.c", "timezone": "America/New_York"}}'
    data = simulate_json(flow_file, "--subject", subject, "--start", "2026-03-02T09:00:00")
    assert data["steps"][0]["at"] == "2026-03-02T14:00:00Z"


def test_subject_by_id_as_events_give_it(flow_file: Path) -> None:
    subject = '{"contact_id": 7, "contact": {"email": "a@b.c"}}'
    data = simulate_json(flow_file, "--subject", subject, "--start", "2026-03-02T09:00:00Z")
    assert data["status"] == "completed"
    alone = simulate_json(flow_file, "--subject", '{"contact_id": 7}', "--start", "2026-03-02T09:00:00Z")
    assert alone["status"] == "failed"  # a contact with only an id has no e-mail to render
    assert "contact.email is undefined" in alone["steps"][0]["output"]["error"]


def test_one_event_object_is_a_list_of_one(flow_file: Path) -> None:
    event = '{"after": "P1D", "type": "meeting.booked"}'
    data = simulate_json(
        flow_file,
        "--subject",
        '{"contact": {"email": "a@b.c"}}',
        "--events",
        event,
        "--start",
        "2026-03-02T09:00:00Z",
    )
    assert data["status"] == "exited"
    assert data["path"] == ["welcome", "wait"]


def test_a_failed_run_is_a_result_not_an_error(flow_file: Path) -> None:
    """Exit 0 whenever the simulation ran, whatever the run's status; 1: bad flow or input; 2: usage."""
    data = simulate_json(flow_file, "--subject", '{"contact": {}}', "--start", "2026-03-02T09:00:00Z")
    assert data["status"] == "failed"
    assert data["steps"][0]["port"] is None


def test_trigger_data_no_event_trigger_accepts_is_a_warning_on_stderr(tmp_path: Path) -> None:
    flow = dict(
        FLOW,
        triggers=[
            {
                "type": "event",
                "event": "form.submitted",
                "where": {"field": "event.form", "op": "eq", "value": "guide"},
            }
        ],
    )
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow))
    args = ["--subject", '{"contact": {"email": "a@b.c"}}', "--start", "2026-03-02T09:00:00Z", "--json"]
    code, out, err = invoke(str(path), "--trigger", '{"form": "webinar"}', *args)
    assert code == 0
    assert json.loads(out)["status"] == "completed"  # simulated as given
    assert "matches the 'where' of none" in err
    code, out, err = invoke(str(path), "--trigger", '{"form": "Guide"}', *args)
    assert code == 0 and err == ""


def test_unreadable_inputs_are_one_line_errors(flow_file: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{}")
    cases = [
        ([str(flow_file), "--subject", f"@{deep}"], "nested too deeply"),
        ([str(flow_file), "--subject", "[" * 5000 + "]" * 5000], "nested too deeply"),
        ([str(flow_file), "--subject", f"@{binary}"], "not UTF-8"),
        ([str(flow_file), "--subject", "@"], "needs a file name"),
        ([str(deep), "--subject", "{}"], "nested too deeply"),
    ]
    for args, phrase in cases:
        code, out, err = invoke(*args, "--json")
        assert code in (1, 2), args
        assert out == ""
        assert phrase in err and "Traceback" not in err


def test_a_whole_event_as_trigger_gives_its_data(flow_file: Path) -> None:
    event = (
        '{"id": "e1", "type": "form.submitted", "data": {"form": "checklist"}, "at": "2026-03-02T09:00:00Z"}'
    )
    code, out, err = invoke(
        str(flow_file),
        "--subject",
        '{"contact": {"email": "a@b.c"}}',
        "--trigger",
        event,
        "--start",
        "2026-03-02T09:00:00Z",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["effects"][0]["params"]["subject"] == "Your checklist"
    assert "note: --trigger is a whole form.submitted event" in err


def test_subject_is_optional_only_for_subject_none(flow_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    nodes = [
        {"id": "post", "type": "action", "action": "slack.post", "params": {"text": "{{ trigger.name }}"}}
    ]
    path.write_text(json.dumps({**FLOW, "subject": "none", "settings": {}, "start": "post", "nodes": nodes}))
    code, out, err = invoke(str(path), "--trigger", '{"name": "Zed"}', "--json")
    assert code == 0, err
    assert json.loads(out)["effects"][0]["params"] == {"text": "Zed"}
    code, out, err = invoke(str(flow_file), "--json")
    assert code == 2 and out == ""
    assert "--subject is required" in err
