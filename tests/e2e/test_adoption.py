"""Bringing an existing account under management, then cloning it: the real CLI, step by step.

An account with 25 rooms made by hand (through the API), `nexudus-pulumi export`, `pulumi up`
adopting them without a POST, `nexudus-pulumi clone` to another business, `up` and `destroy`
there, and the protected source refusing `destroy`.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import requests
import yaml

from nexudus_pulumi.kinds import tally_all
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import FAST, PulumiProject, assert_cloned, cli, settle

COLLECTION = "/api/support/chatrooms"
MANAGED = ("Name", "Active", "Users")
"""The fields export writes by default, so the fields an adoption or a clone must carry."""


def seed_account(sandbox: Sandbox) -> list[dict[str, Any]]:
    """25 rooms of business 1001 as people made them, and one that another stack manages."""
    bodies: list[dict[str, Any]] = [
        {"Name": "Lobby", "Active": True, "Users": [12, 11]},
        {"Name": "Lobby", "Active": False},  # the same name twice
        {"Active": True},  # no name
        {"Name": "Café Zürich", "LastAgentVisit": "2025-01-15T10:30:00Z"},
        {"Name": "会议室 A", "Active": True, "Users": [7]},
    ]
    bodies += [
        {"Name": f"Room {n}", "Active": n % 3 != 0, "Users": list(range(100 + n, 100 + n % 4))}
        for n in range(len(bodies), 25)
    ]
    bodies.append({"Name": "Theirs", "SystemId": "pulumi:nexudus-rooms/other/theirs"})
    with requests.Session() as session:
        session.auth = (DEMO_USER, DEMO_PASSWORD)
        for body in bodies:
            answer = session.post(sandbox.url + COLLECTION, json={"BusinessId": 1001, **body})
            answer.raise_for_status()
    return sandbox.store.all()


def request_counts(sandbox: Sandbox, since: int) -> Counter[str]:
    settle(sandbox)
    return Counter(
        "token" if path == "/api/token" else method for method, path, _ in sandbox.requests[since:]
    )


def fields(record: dict[str, Any]) -> tuple[Any, ...]:
    """The managed fields; users as a set, as the provider treats them."""
    return tuple(sorted(record[n]) if n == "Users" else record[n] for n in MANAGED)


def test_adopt_an_account_clone_it_and_protect_it(project: PulumiProject, sandbox: Sandbox) -> None:
    seeded = seed_account(sandbox)
    theirs = next(r for r in seeded if r["Name"] == "Theirs")
    account = [r for r in seeded if r["Id"] != theirs["Id"]]
    assert len(account) == 25

    # 1. A stack, then export: 25 rooms with their importId, protected; the other stack's is named.
    project.init_stack("prod", business=None, rooms={}, **FAST)
    export = cli(project, "export", "--business", "1001", "--stack", "prod")
    assert f"{tally_all({'rooms': 25})} of business 1001 written to stacks/Pulumi.prod.yaml" in (
        export.output
    )
    assert "1 skipped as managed by other stacks" in export.output
    skipped = (
        f"skipped room {theirs['Id']} 'Theirs': managed by the stack nexudus-rooms/other/theirs"
    )
    assert skipped in export.output
    rooms = project.rooms("prod")
    assert sorted(spec["importId"] for spec in rooms.values()) == [r["Id"] for r in account]
    assert all(spec["protect"] is True for spec in rooms.values())
    assert {"lobby", "lobby-2", "cafe-zurich", "会议室-a"} <= set(rooms)
    text = project.stack_file("prod").read_text()
    project.stack_file("prod").write_text("# prod: the account as we found it\n" + text)

    # 2. The review before the first `up` (the stack has no id yet) names each adoption.
    preview = project.ok("preview", stack="prod")
    diagnostics = preview.output.partition("\nDiagnostics:\n")[2]
    assert diagnostics.count("will adopt existing id") == 25
    assert f"will adopt existing id {account[0]['Id']} instead of creating one" in preview.output

    # 3. `pulumi up` adopts every room: no POST, the marker written, then nothing to do.
    since = len(sandbox.requests)
    up = project.ok("up", "--yes", stack="prod")
    adoption = request_counts(sandbox, since)
    print(f"\nadopting 25 rooms: {dict(sorted(adoption.items()))} requests")
    assert "+ 27 created" in up.output  # 25 rooms, the stack and its identity: state only
    assert adoption["POST"] == 0
    assert adoption["PUT"] <= 25
    assert project.room_ids("prod") == {key: str(spec["importId"]) for key, spec in rooms.items()}
    project.ok("preview", "--expect-no-changes", stack="prod")
    held = project.sandbox_rooms()
    for before in account:
        after = held[str(before["Id"])]
        assert fields(after) == fields(before), after
        assert after["SystemId"].startswith("pulumi:nexudus-rooms/prod/")
        assert after["BusinessId"] == 1001
    # lastAgentVisit is left out of the export by default (it is Nexudus's to move); that the
    # adoption leaves it alone is test_an_adoption_leaves_fields_it_does_not_manage_alone below.
    assert held[str(theirs["Id"])] == theirs

    # 4. Clone to business 1002: the same rooms, new ones, secrets re-encrypted, comments kept.
    clone = cli(project, "clone", "--from", "prod", "--to", "staging", "--business", "1002")
    assert (
        "staging cloned from prod" in clone.output
        and f"{tally_all({'rooms': 25})} for business 1002" in clone.output
    )
    staging_text = project.stack_file("staging").read_text()
    assert staging_text.startswith("# prod: the account as we found it\n")
    assert "importId" not in staging_text and "protect" not in staging_text
    staging = yaml.safe_load(staging_text)
    prod_salt = yaml.safe_load(project.stack_file("prod").read_text())["encryptionsalt"]
    assert staging["encryptionsalt"] != prod_salt
    password = project.ok("config", "get", "nexudus:password", stack="staging").output
    assert password.strip() == DEMO_PASSWORD

    prod_records = project.sandbox_rooms()
    since = len(sandbox.requests)
    project.ok("up", "--yes", stack="staging")
    cloning = request_counts(sandbox, since)
    print(f"cloning 25 rooms: {dict(sorted(cloning.items()))} requests")
    assert cloning["POST"] == 25
    held = project.sandbox_rooms()
    assert_cloned(held, project.room_ids("staging"), project.room_ids("prod"), fields)
    assert {room_id: held[room_id] for room_id in prod_records} == prod_records  # prod untouched

    # 5. Destroying the clone deletes its own rooms only.
    project.ok("destroy", "--yes", stack="staging")
    assert project.sandbox_rooms() == prod_records

    # 6. The protected source refuses `destroy` with Pulumi's own message and deletes nothing.
    since = len(sandbox.requests)
    destroy = project.run("destroy", "--yes", stack="prod")
    assert not destroy.ok
    assert re.search(r"cannot be deleted\s+because it is protected", destroy.output), destroy.output
    assert "pulumi state unprotect" in destroy.output
    assert request_counts(sandbox, since)["DELETE"] == 0
    assert project.sandbox_rooms() == prod_records

    # 7. Unprotected, with retainOnDelete on one room: destroy deletes all but that one.
    rooms = project.rooms("prod")
    for spec in rooms.values():
        spec["protect"] = False
    rooms["lobby"]["retainOnDelete"] = True
    project.declare("prod", rooms, business=1001)
    project.ok("up", "--yes", stack="prod")
    project.ok("destroy", "--yes", stack="prod")
    left = project.sandbox_rooms()
    assert sorted(left) == sorted([str(rooms["lobby"]["importId"]), str(theirs["Id"])])


def test_an_adoption_leaves_fields_it_does_not_manage_alone(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    visited = sandbox.store.insert(
        {"BusinessId": 1001, "Name": "Quiet room", "LastAgentVisit": "2025-01-15T10:30:00Z"}, "ui"
    )
    project.init_stack("prod", business=None, rooms={}, **FAST)
    cli(project, "export", "--business", "1001", "--stack", "prod")
    assert "lastAgentVisit" not in project.stack_file("prod").read_text()
    project.ok("up", "--yes", stack="prod")
    assert project.sandbox_rooms()[str(visited)]["LastAgentVisit"] == "2025-01-15T10:30:00Z"
