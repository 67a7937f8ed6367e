"""`pulumi preview` as a pull-request gate, with the real CLI against the sandbox: what `up`
would trip over fails here first, and the message says what to change."""

from __future__ import annotations

import socket
from typing import Any

import yaml

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import PulumiProject
from tests.helpers import BAD_VALUES, settled_requests

ROOMS: dict[str, Any] = {"lobby": {"name": "Lobby", "users": [11, 12]}}


def set_config(project: PulumiProject, values: dict[str, Any], stack: str = "dev") -> None:
    """Edit the stack's YAML as a user would."""
    path = project.stack_file(stack)
    document = yaml.safe_load(path.read_text()) or {}
    document.setdefault("config", {}).update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def first_error_line(output: str) -> str:
    """The first `error:` line: what the progress view shows next to the resource."""
    return next(line for line in output.splitlines() if "error: " in line).split("error: ", 1)[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_bad_settings_fail_preview_naming_every_key(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms=ROOMS)
    bad = {**BAD_VALUES, "nexudus:pasword": "x"}  # every checked key, and a typo of a key
    set_config(project, bad)
    preview = project.run("preview")
    assert not preview.ok
    for key, value in bad.items():
        if key == "nexudus:pasword":
            assert "nexudus:pasword is not a setting (did you mean 'nexudus:password'?)" in (
                preview.output
            )
        else:
            assert f"{key}: " in preview.output and repr(value) in preview.output, key
    assert "Traceback" not in preview.output
    assert settled_requests(sandbox) == []


def test_a_wrong_password_fails_preview_with_the_url_and_where_it_came_from(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms=ROOMS)
    project.ok("config", "set", "--secret", "nexudus:password", "not-the-password")
    preview = project.run("preview")
    assert not preview.ok
    assert first_error_line(preview.output).startswith(
        f"Nexudus authentication failed at {sandbox.url}: POST /api/token answered HTTP 400: "
        "invalid_grant"
    )  # the message alone, as the error leads with it, and no traceback after it
    assert "Traceback" not in preview.output
    assert "the password from nexudus:password in stack config" in preview.output
    assert "not-the-password" not in preview.output
    assert settled_requests(sandbox, 1) == [("POST", "/api/token", 400)]


def test_an_unreachable_address_fails_preview_and_an_offline_preview_can_skip_it(
    project: PulumiProject,
) -> None:
    project.init_stack("dev", business=1001, rooms=ROOMS, maxRetries="1", backoffBaseMs="10")
    port = closed_port()
    project.ok("config", "set", "nexudus:baseUrl", f"http://127.0.0.1:{port}")
    preview = project.run("preview")
    assert not preview.ok
    assert first_error_line(preview.output).startswith(
        f"cannot reach Nexudus at http://127.0.0.1:{port} (nexudus:baseUrl in stack config): "
        f"127.0.0.1 refused the connection on port {port}"
    )
    assert "Traceback" not in preview.output
    assert "set nexudus:skipCredentialsValidation to true" in preview.output
    assert "using Basic" not in preview.output

    project.ok("config", "set", "nexudus:skipCredentialsValidation", "true")
    project.ok("preview")


def test_a_token_left_in_the_environment_is_named_and_stack_config_wins_over_it(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.ok("stack", "init", "dev", stack=None)
    project.ok("config", "set", "nexudus:baseUrl", sandbox.url)
    project.declare("dev", ROOMS, business=1001)
    project.env.update(
        NEXUDUS_TOKEN="from-an-old-session",
        NEXUDUS_USERNAME=DEMO_USER,
        NEXUDUS_PASSWORD=DEMO_PASSWORD,
    )
    preview = project.run("preview")
    assert not preview.ok
    assert "the token from NEXUDUS_TOKEN in the environment" in preview.output
    assert "unset NEXUDUS_TOKEN if it is a leftover" in preview.output

    project.ok("config", "set", "nexudus:username", DEMO_USER)
    project.ok("config", "set", "--secret", "nexudus:password", DEMO_PASSWORD)
    project.ok("up", "--yes")
    assert len(sandbox.store.all()) == 1


def test_room_mistakes_stop_preview_with_what_to_set_and_no_rooms_is_fine(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=None, rooms={"lobby": {"nmae": "Lobby"}})
    preview = project.run("preview")
    assert not preview.ok
    assert "nexudus-rooms:rooms.lobby: 'nmae' is not a room setting (did you mean 'name'?)" in (
        preview.output
    )
    assert "nexudus-rooms:rooms.lobby has no business" in preview.output
    assert "pulumi config set nexudus-rooms:businessId" in preview.output
    assert "Traceback" not in preview.output

    path = project.stack_file("dev")
    document = yaml.safe_load(path.read_text())
    del document["config"]["nexudus-rooms:rooms"]
    path.write_text(yaml.safe_dump(document))
    project.ok("up", "--yes")
    assert project.output_rooms() == {}
    assert sandbox.store.all() == []


def test_values_written_as_users_write_yaml(project: PulumiProject, sandbox: Sandbox) -> None:
    legacy = sandbox.store.insert({"BusinessId": 1002, "Name": "Legacy"}, "ui")
    project.init_stack("dev", business=1001, rooms={})
    path = project.stack_file("dev")
    document = yaml.safe_load(path.read_text())
    del document["config"]["nexudus-rooms:rooms"]
    # unquoted timestamp with an offset; ids quoted, as `pulumi stack output` prints them
    rooms = (
        "config:\n"
        "  nexudus-rooms:rooms:\n"
        "    members:\n"
        "      name: Members\n"
        "      lastAgentVisit: 2025-01-15T10:30:00+02:00\n"
        "      businessId: '1002'\n"
        "    legacy:\n"
        "      name: Legacy\n"
        "      businessId: '1002'\n"
        f"      importId: '{legacy}'\n"
    )
    path.write_text(yaml.safe_dump(document, sort_keys=False).replace("config:\n", rooms, 1))
    project.ok("up", "--yes")
    held = {r["Name"]: r for r in sandbox.store.all()}
    assert held["Members"]["LastAgentVisit"] == "2025-01-15T10:30:00+02:00"
    assert held["Members"]["BusinessId"] == 1002
    assert project.room_ids()["legacy"] == str(legacy)

    path.write_text(path.read_text().replace("name: Members", "name: 2025-03-01"))
    preview = project.run("preview")
    assert not preview.ok
    assert 'quote it: name: "2025-03-01"' in preview.output


def test_a_secret_in_the_rooms_map_stays_secret_in_the_state(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    project.init_stack("dev", business=1001, rooms={"lobby": {"users": [11]}})
    secret_name = "Project Falcon war room"
    project.ok("config", "set", "--path", "--secret", "nexudus-rooms:rooms.lobby.name", secret_name)
    project.ok("up", "--yes")
    [held] = sandbox.store.all()
    assert held["Name"] == secret_name  # Nexudus gets the value...
    sandbox.store.update(held["Id"], {"Users": [11, 12]}, "someone")
    project.ok("refresh", "--yes")
    project.ok("preview", "--diff")
    stored = "\n".join(p.read_text(errors="replace") for p in project.state_files())
    assert secret_name not in stored  # ...the state holds it encrypted only
    printed = "\n".join(r.output for r in project.transcript)
    assert secret_name not in printed
    assert "[secret]" in project.transcript[-1].output


def test_refresh_uses_the_saved_settings_unless_the_program_runs(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    """What docs/configuration.md, "Saved settings", says: Pulumi keeps the default provider's
    config in the state; refresh and destroy use it; `--run-program` reads the stack's."""
    project.init_stack("dev", business=1001, rooms=ROOMS)
    project.ok("up", "--yes")
    project.ok("config", "set", "nexudus:baseUrl", f"http://127.0.0.1:{closed_port()}")
    project.ok("config", "set", "nexudus:maxRetries", "0")
    before = len(settled_requests(sandbox))
    project.ok("refresh", "--yes")  # still the saved address: the sandbox answers
    assert len(settled_requests(sandbox)) > before
    refresh = project.run("refresh", "--yes", "--run-program")
    assert not refresh.ok and "cannot reach Nexudus" in refresh.output

    # Settings from the environment are read by every command, saved or not.
    project.env["NEXUDUS_BASE_URL"] = sandbox.url
    project.ok("config", "rm", "nexudus:baseUrl")
    project.ok("config", "rm", "nexudus:maxRetries")
    project.ok("up", "--yes")  # saves a config without nexudus:baseUrl
    project.env["NEXUDUS_BASE_URL"] = f"http://127.0.0.1:{closed_port()}"
    project.env["NEXUDUS_MAX_RETRIES"] = "0"
    destroy = project.run("destroy", "--yes")
    assert not destroy.ok and "NEXUDUS_BASE_URL in the environment" in destroy.output
    project.env["NEXUDUS_BASE_URL"] = sandbox.url
    project.ok("destroy", "--yes")
    assert sandbox.store.all() == []


def test_a_misspelt_namespace_stops_preview_and_up_and_deletes_nothing(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    """`nexudus-room:rooms` is read by nobody: taken for "no rooms", `up --yes` in a pipeline
    would delete every room of the stack."""
    project.init_stack("dev", business=1001, rooms={**ROOMS, "desk": {"name": "Desk"}})
    project.ok("up", "--yes")
    held = project.sandbox_rooms()
    path = project.stack_file("dev")
    path.write_text(path.read_text().replace("nexudus-rooms:rooms:", "nexudus-room:rooms:"))
    since = len(sandbox.requests)
    for command in (("preview",), ("up", "--yes")):
        result = project.run(*command)
        assert not result.ok, result.output
        assert "to delete" not in result.output and "deleted" not in result.output
        assert (
            "nexudus-room:rooms is not a setting (did you mean 'nexudus-rooms:rooms'?)"
            in result.output
        ), result.output
    assert [r for r in settled_requests(sandbox)[since:] if r[0] == "DELETE"] == []
    assert project.sandbox_rooms() == held
