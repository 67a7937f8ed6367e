"""`nexudus-pulumi clone`: what the target's config keeps, drops and maps (rooms and groups alike),
and its refusals.

The whole command, with Pulumi re-encrypting the secrets, runs end to end in
tests/e2e/test_adoption.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nexudus_pulumi.clone import (
    CloneOptions,
    carry_secrets,
    parse_business_map,
    rewrite_config,
    run_clone,
)
from nexudus_pulumi.errors import CloneError
from nexudus_pulumi.stackconfig import Project, StackFile

SOURCE = """\
# prod: adopted from the admin UI
encryptionsalt: v1:source-salt
config:
  nexudus:username: ops@example.com  # the pipeline's user
  nexudus:password:
    secure: v1:source:password
  nexudus-rooms:businessId: "1001"
  nexudus-rooms:rooms:
    # the lobby, the first room visitors see
    lobby:
      name: Lobby
      active: true
      users: [11, 12]
      importId: 87654321  # adopted in March
      protect: true
    # events run from the other building
    events:
      name: Events desk
      businessId: 1003
      importId: 87654322
      retainOnDelete: true
    # rooms in the main business with the override spelled out
    library:
      name: Library
      businessId: 1001
      takeOver: true
    # planned, not created yet
    planned:
      name: Planned
  nexudus-rooms:groups:
    # the makers meet on Tuesdays
    makers:
      name: Makers
      userId: 11
      groupAccess: public
      members: [12, 13]
      importId: 65432101
      protect: true  # exported
    # the other building's readers
    readers:
      name: Readers
      userId: 12
      businessId: 1003
      retainOnDelete: true
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(SOURCE)
    return Project.find(tmp_path)


def source(project: Project) -> StackFile:
    return StackFile.load(project.stack_file("prod"))


def options(**overrides: object) -> CloneOptions:
    values: dict[str, object] = {"source": "prod", "target": "staging", "business": 1002}
    values.update(overrides)
    return CloneOptions(**values)  # type: ignore[arg-type]


def test_map_business_is_parsed_and_checked() -> None:
    assert parse_business_map(["1003=1004", "1005=1005"]) == {1003: 1004, 1005: 1005}
    for bad in (["1003"], ["a=b"]):
        with pytest.raises(CloneError, match="--map-business wants OLD=NEW") as refused:
            parse_business_map(bad)
        assert refused.value.reason == "bad-business-map"
    with pytest.raises(CloneError) as refused:
        parse_business_map(["1003=1004", "1003=1005"])
    assert (refused.value.reason, refused.value.businesses) == ("bad-business-map", (1003,))


def test_a_room_with_its_own_business_is_not_cloned_silently(project: Project) -> None:
    stack_file = source(project)
    before = stack_file.dump()
    with pytest.raises(
        CloneError, match=r"business 1003: rooms.events, groups.readers.*--map-business 1003=NEW"
    ) as refused:
        rewrite_config(stack_file, project, options())
    assert (refused.value.reason, refused.value.businesses) == ("unmapped-business", (1003,))
    assert stack_file.dump() == before  # refused before any edit


def test_the_clone_drops_what_ties_it_to_the_source_and_keeps_the_comments(
    project: Project,
) -> None:
    stack_file = source(project)
    report = rewrite_config(stack_file, project, options(business_map={1003: 1004}))
    text = stack_file.dump()
    config = yaml.safe_load(text)["config"]
    assert config["nexudus-rooms:businessId"] == "1002"  # as the source wrote it: a string
    assert config["nexudus-rooms:rooms"] == {
        "lobby": {"name": "Lobby", "active": True, "users": [11, 12]},
        "events": {"name": "Events desk", "businessId": 1004},
        "library": {"name": "Library", "businessId": 1002},  # the stack's business follows
        "planned": {"name": "Planned"},
    }
    assert config["nexudus-rooms:groups"] == {
        "makers": {"name": "Makers", "userId": 11, "groupAccess": "public", "members": [12, 13]},
        "readers": {"name": "Readers", "userId": 12, "businessId": 1004},
    }
    for comment in (
        "# prod: adopted from the admin UI\n",
        "  nexudus:username: ops@example.com  # the pipeline's user\n",
        "    # the lobby, the first room visitors see\n    lobby:\n",
        "    # events run from the other building\n    events:\n",
        "    # rooms in the main business with the override spelled out\n    library:\n",
        "    # planned, not created yet\n    planned:\n",
        "    # the makers meet on Tuesdays\n    makers:\n",
        "      members: [12, 13]\n    # the other building's readers\n    readers:\n",
    ):
        assert comment in text
    assert "adopted in March" not in text  # the comment of a removed line goes with it
    assert "exported" not in text
    assert {name: n for name, n in report.counts.items() if n} == {"rooms": 4, "groups": 2}
    assert (report.untied, report.unprotected) == (4, 4)
    assert report.moved == {
        "rooms.events": (1003, 1004),
        "rooms.library": (1001, 1002),
        "groups.readers": (1003, 1004),
    }


def test_keep_protect_keeps_protection_but_never_import_ids(project: Project) -> None:
    stack_file = source(project)
    rewrite_config(stack_file, project, options(business_map={1003: 1003}, keep_protect=True))
    rooms = yaml.safe_load(stack_file.dump())["config"]["nexudus-rooms:rooms"]
    assert rooms["lobby"]["protect"] is True
    assert rooms["events"] == {"name": "Events desk", "businessId": 1003, "retainOnDelete": True}
    assert not any("importId" in room or "takeOver" in room for room in rooms.values())
    groups = yaml.safe_load(stack_file.dump())["config"]["nexudus-rooms:groups"]
    assert groups["makers"]["protect"] is True and "importId" not in groups["makers"]
    assert groups["readers"]["retainOnDelete"] is True


def test_secrets_and_salt_come_from_pulumis_copy(project: Project) -> None:
    stack_file = source(project)
    copied = StackFile.parse(
        "encryptionsalt: v1:target-salt\n"
        "config:\n  nexudus:password:\n    secure: v1:target:password\n",
        project.stack_file("staging"),
    )
    assert carry_secrets(stack_file.document, copied.document) == 1
    document = yaml.safe_load(stack_file.dump())
    assert document["encryptionsalt"] == "v1:target-salt"
    assert document["config"]["nexudus:password"] == {"secure": "v1:target:password"}
    assert stack_file.dump().startswith("# prod: adopted from the admin UI\nencryptionsalt:")


def test_a_secret_missing_from_pulumis_copy_is_an_error(project: Project) -> None:
    copied = StackFile.parse("config: {}\n", project.stack_file("staging"))
    with pytest.raises(CloneError) as refused:
        carry_secrets(source(project).document, copied.document)
    assert (refused.value.reason, refused.value.key) == ("no-secret", "nexudus:password")


def test_refusals_come_before_pulumi_is_run(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")  # were pulumi needed, the error would say it is missing
    stacks = project.root / "stacks"
    with pytest.raises(CloneError) as refused:
        run_clone(project.root, options())
    assert refused.value.reason == "unmapped-business"
    with pytest.raises(CloneError) as refused:
        run_clone(project.root, options(source="nowhere"))
    assert (refused.value.reason, refused.value.path) == (
        "no-source",
        stacks / "Pulumi.nowhere.yaml",
    )
    (stacks / "Pulumi.staging.yaml").write_text("config: {}\n")
    with pytest.raises(CloneError, match="choose another name") as refused:
        run_clone(project.root, options(business_map={1003: 1004}))
    assert refused.value.reason == "target-exists"
    assert (refused.value.path, refused.value.stack) == (stacks / "Pulumi.staging.yaml", "staging")
    assert sorted(p.name for p in (project.root / "stacks").iterdir()) == [
        "Pulumi.prod.yaml",
        "Pulumi.staging.yaml",
    ]


NOTE = "was set by another integration: takeOver replaces it with this stack's marker"
EXPORTED = f"""\
config:
  nexudus-rooms:businessId: 1001
  nexudus-rooms:rooms:
    # SystemId "crm:42" {NOTE}
    # synced nightly from the CRM
    synced:
      name: Synced
      importId: 87654321
      takeOver: true
    lobby:
      name: Lobby
    # the stack we took it from
    # managed by the stack "nexudus-rooms/other/x": takeOver moves it to this stack
    theirs:
      name: Theirs
      takeOver: true
    # SystemId 'crm:7' {NOTE}
    older:
      name: Older
      takeOver: true
"""


def test_the_notes_about_take_over_go_with_it(project: Project) -> None:
    project.stack_file("prod").write_text(EXPORTED)
    stack_file = source(project)
    rewrite_config(stack_file, project, options())
    text = stack_file.dump()
    assert "takeOver" not in text
    assert "SystemId" not in text and "managed by the stack" not in text
    assert "    # synced nightly from the CRM\n    synced:\n" in text
    assert "      name: Lobby\n    # the stack we took it from\n    theirs:\n" in text
    assert list(yaml.safe_load(text)["config"]["nexudus-rooms:rooms"]) == [
        "synced",
        "lobby",
        "theirs",
        "older",
    ]


def test_a_nameless_record_is_cloned_with_a_warning(project: Project) -> None:
    """Export writes a room without a name (made so in the admin UI) under `room-<id>`; a clone
    would make more of them, unnoticed, unless it says so."""
    path = project.stack_file("prod")
    nameless = SOURCE.replace("    planned:\n      name: Planned\n", "    room-87654330: {}\n")
    path.write_text(nameless)
    report = rewrite_config(source(project), project, options(business_map={1003: 1004}))
    assert report.warnings == [
        "warning: rooms.room-87654330 has no name: the clone creates a room without one, as "
        "prod holds it; give it a name in the clone's file for people to find it"
    ]
