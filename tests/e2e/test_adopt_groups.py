"""Bringing a business's CommunityGroups under management, then cloning them: the real CLI.

Groups made through the API (administrators, descriptions, every access level, members, another
integration's SystemId, one another stack manages), `nexudus-pulumi export`, `pulumi up` adopting
them without a POST, `nexudus-pulumi clone` to another business, `up` and `destroy` there; then
the protection `export` writes by default, which the program must turn into resource options.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import requests
import yaml

from nexudus_pulumi.kinds import tally_all
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import FAST, PulumiProject, assert_cloned, cli, group_ids, held, settle

GROUPS = "/api/community/communitygroups"
ROOMS = "/api/support/chatrooms"
RECORD = "CommunityGroup"
MANAGED = ("Name", "UserId", "Description", "GroupAccess", "Members")
"""What a group holds that an adoption must leave and a clone must carry."""


def post(sandbox: Sandbox, collection: str, bodies: list[dict[str, Any]]) -> list[int]:
    """Records of business 1001 made as people made them: through the API."""
    ids = []
    with requests.Session() as session:
        session.auth = (DEMO_USER, DEMO_PASSWORD)
        for body in bodies:
            answer = session.post(
                sandbox.url + collection, json={"BusinessId": 1001, "GroupAccess": 1, **body}
            )
            answer.raise_for_status()
            ids.append(int(answer.json()["Value"]["Id"]))
    return ids


def seed_groups(sandbox: Sandbox) -> dict[str, int]:
    """Eleven groups worth adopting and one another stack manages; name -> id."""
    bodies: list[dict[str, Any]] = [
        {"Name": "Makers", "UserId": 11, "Description": "3D printing", "GroupAccess": 2},
        {"Name": "Makers", "UserId": 12, "Members": [14, 13]},  # the same name twice
        {"Name": "Book club", "UserId": 13, "GroupAccess": 3, "Members": [11, 12, 15]},
        {"Name": "Café Zürich", "UserId": 14, "GroupAccess": 1},
        {"Name": "会议室 A", "UserId": 15, "Description": "Floor 2", "Members": [16]},
    ]
    bodies += [
        {"Name": f"Team {n}", "UserId": 20 + n, "GroupAccess": 1 + n % 3, "Members": [40 + n]}
        for n in range(len(bodies), 11)
    ]
    bodies.append({"Name": "Theirs", "UserId": 11, "SystemId": "pulumi:nexudus-rooms/other/x"})
    ids = post(sandbox, GROUPS, bodies)
    return {f"{body['Name']}#{i}": ids[i] for i, body in enumerate(bodies)}


def counts(sandbox: Sandbox, since: int) -> Counter[str]:
    """Requests since `since`, as `METHOD groups` / `METHOD rooms` / `token`."""
    settle(sandbox)
    kinds = {GROUPS: "groups", ROOMS: "rooms"}
    return Counter(
        "token"
        if path == "/api/token"
        else f"{method} {next((k for p, k in kinds.items() if path.startswith(p)), path)}"
        for method, path, _ in sandbox.requests[since:]
    )


def managed(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(record[n]) if n == "Members" else record[n] for n in MANAGED)


def exported_groups(project: PulumiProject, stack: str) -> dict[str, Any]:
    document = yaml.safe_load(project.stack_file(stack).read_text())
    return dict(document["config"]["nexudus-rooms:groups"])


def test_adopt_groups_then_clone_them(project: PulumiProject, sandbox: Sandbox) -> None:
    seeded = seed_groups(sandbox)
    theirs = seeded.pop("Theirs#11")
    post(sandbox, ROOMS, [{"Name": "Lobby", "Active": True}, {"Name": "Makers"}])
    account = {str(i): r for i, r in held(sandbox).items() if int(i) != theirs}
    assert len(account) == 11

    # 1. export writes the groups beside the rooms, each with its importId; skips the other
    #    stack's. (--no-protect: the protection is test_exported_groups_are_protected below.)
    project.init_stack("prod", business=None, rooms={}, **FAST)
    export = cli(project, "export", "--business", "1001", "--stack", "prod", "--no-protect")
    assert f"{tally_all({'rooms': 2, 'groups': 11})} of business 1001 written" in export.output
    assert f"skipped group {theirs} 'Theirs': managed by the stack nexudus-rooms/other/x" in (
        export.output
    )
    groups = exported_groups(project, "prod")
    assert sorted(str(g["importId"]) for g in groups.values()) == sorted(account)
    assert {"makers", "makers-2", "book-club", "cafe-zurich", "会议室-a"} <= set(groups)
    assert set(project.rooms("prod")) == {"lobby", "makers"}  # a room may share a group's key
    assert groups["book-club"]["groupAccess"] == "private"

    # 2. `pulumi up` adopts every group: no POST, at most the marker's PUT, then nothing to do.
    since, posts = len(sandbox.requests), sandbox.posts_by_record[RECORD]
    up = project.ok("up", "--yes", stack="prod")
    adoption = counts(sandbox, since)
    print(f"\nadopting 11 groups and 2 rooms: {dict(sorted(adoption.items()))} requests")
    assert "+ 15 created" in up.output  # 13 records, the stack and its identity: state only
    assert sandbox.posts_by_record[RECORD] == posts
    assert adoption["POST groups"] == 0 and adoption["PUT groups"] <= 11
    ids = group_ids(project, "prod")
    assert ids == {key: str(spec["importId"]) for key, spec in groups.items()}
    project.ok("preview", "--expect-no-changes", stack="prod")
    prod_records = held(sandbox)
    for group_id, before in account.items():
        after = prod_records[group_id]
        assert managed(after) == managed(before), after
        assert after["SystemId"].startswith("pulumi:nexudus-rooms/prod/")
    assert prod_records[str(theirs)]["SystemId"] == "pulumi:nexudus-rooms/other/x"

    # 3. Clone to business 1002: the same groups, made there.
    clone = cli(project, "clone", "--from", "prod", "--to", "staging", "--business", "1002")
    assert f"{tally_all({'rooms': 2, 'groups': 11})} for business 1002" in clone.output
    assert "importId" not in project.stack_file("staging").read_text()
    since, posts = len(sandbox.requests), sandbox.posts_by_record[RECORD]
    project.ok("up", "--yes", stack="staging")
    cloning = counts(sandbox, since)
    print(f"cloning 11 groups and 2 rooms: {dict(sorted(cloning.items()))} requests")
    assert sandbox.posts_by_record[RECORD] - posts == 11
    records = held(sandbox)
    assert_cloned(records, group_ids(project, "staging"), ids, managed)
    assert {i: records[i] for i in prod_records} == prod_records  # prod untouched

    # 4. Destroying the clone deletes its groups only.
    project.ok("destroy", "--yes", stack="staging")
    assert held(sandbox) == prod_records


def test_exported_groups_are_protected(project: PulumiProject, sandbox: Sandbox) -> None:
    """`protect` and `retainOnDelete` on a group are Pulumi resource options, as on a room.

    Needs program.py to take them out of a group's settings before `_arguments` (which refuses
    any setting that is not an input) and pass them as `ResourceOptions`."""
    seeded = seed_groups(sandbox)
    theirs = seeded.pop("Theirs#11")
    project.init_stack("prod", business=None, rooms={}, **FAST)
    cli(project, "export", "--business", "1001", "--stack", "prod")
    groups = exported_groups(project, "prod")
    assert all(spec["protect"] is True for spec in groups.values())

    since, posts = len(sandbox.requests), sandbox.posts_by_record[RECORD]
    project.ok("up", "--yes", stack="prod")
    assert sandbox.posts_by_record[RECORD] == posts
    project.ok("preview", "--expect-no-changes", stack="prod")
    adopted = held(sandbox)

    # A protected group refuses `destroy` with Pulumi's own message; nothing is deleted.
    since = len(sandbox.requests)
    destroy = project.run("destroy", "--yes", stack="prod")
    assert not destroy.ok
    assert re.search(r"cannot be deleted\s+because it is protected", destroy.output), destroy.output
    assert counts(sandbox, since)["DELETE groups"] == 0
    assert held(sandbox) == adopted

    # A setting that is not a boolean is named before anything is sent.
    bad = {**groups, "makers": {**groups["makers"], "protect": "yes"}}
    project.declare("prod", {}, business=1001, groups=bad)
    since = len(sandbox.requests)
    preview = project.run("preview", stack="prod")
    assert not preview.ok
    assert "nexudus-rooms:groups.makers.protect must be true or false" in preview.output
    assert counts(sandbox, since)["PUT groups"] == 0

    # Unprotected, with retainOnDelete on one group: destroy deletes all but that one.
    for spec in groups.values():
        spec["protect"] = False
    groups["makers"]["retainOnDelete"] = True
    project.declare("prod", {}, business=1001, groups=groups)
    project.ok("up", "--yes", stack="prod")
    project.ok("destroy", "--yes", stack="prod")
    assert sorted(held(sandbox)) == sorted([str(groups["makers"]["importId"]), str(theirs)])
