"""`nexudus-pulumi export`: keys, the YAML merge, ownership, errors; against the sandbox."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from nexudus_pulumi import cli, program
from nexudus_pulumi.chatroom import KIND as ROOMS
from nexudus_pulumi.chatroom import ChatRoomProvider
from nexudus_pulumi.communitygroup import KIND as GROUPS
from nexudus_pulumi.communitythread import KIND as THREADS
from nexudus_pulumi.errors import ExportError, MissingCredentialsError, StackFileError
from nexudus_pulumi.export import (
    ExistingRecord,
    ExportOptions,
    apply_plan,
    derive_keys,
    managed_fields,
    plan_export,
    run_export,
    slug,
)
from nexudus_pulumi.kinds import tally_all
from nexudus_pulumi.recordkind import RecordKind
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from nexudus_pulumi.stackconfig import Project, StackFile

PROJECT = "name: nexudus-rooms\nruntime: python\nstackConfigDir: stacks\n"

HAND_WRITTEN = """\
# prod: the account as it was before Pulumi
config:
  nexudus:username: ops@example.com  # the pipeline's user
  nexudus-rooms:businessId: "1001"
  nexudus-rooms:rooms:
    # the front desk, adopted by hand last year
    front:
      name: Front desk
      importId: {front}  # adopted
    # a room we meant to create
    planned:
      name: Planned
  # the password, set with pulumi config set --secret
  nexudus:password:
    secure: v1:AAAA:BBBB
encryptionsalt: v1:salt:salt
"""


def existing(room_id: int, name: str | None) -> ExistingRecord:
    return ExistingRecord(ROOMS, room_id, 1001, {"name": name, "active": True}, None)


# ----- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Lobby", "lobby"),
        ("Members' lounge #2", "members-lounge-2"),
        ("Café Zürich", "cafe-zurich"),
        ("Straße", "strasse"),
        ("Ørsted Hall", "orsted-hall"),
        ("\uff26\uff35\uff2c\uff2c width", "full-width"),  # full-width Latin letters
        ("会议室 A", "会议室-a"),
        ("Кафе «Центр»", "кафе-центр"),
        ("कक्ष", "कक्ष"),  # the virama is part of the word, not an accent to drop
        ("  --  ", ""),
        ("🎉", ""),
    ],
)
def test_keys_are_readable_slugs_of_names(name: str, key: str) -> None:
    assert slug(name) == key


def test_a_long_name_is_cut_at_a_word() -> None:
    key = slug("The very long name of a room on the third floor near the kitchen and lifts")
    assert key == "the-very-long-name-of-a-room-on-the-third-floor-near-the"
    assert len(key) <= 60


def test_duplicates_are_numbered_in_id_order_and_nameless_rooms_use_their_id() -> None:
    rooms = [
        existing(30, "Lobby"),
        existing(10, "Lobby"),
        existing(20, "lobby"),
        existing(40, None),
        existing(50, "!!!"),
        existing(60, "Lobby 2"),
    ]
    keys = derive_keys(rooms)
    assert keys == {
        10: "lobby",
        20: "lobby-2",
        30: "lobby-3",
        40: "room-40",
        50: "room-50",
        60: "lobby-2-2",  # "lobby-2" went to an older room
    }


def test_keys_already_in_the_file_are_not_given_again() -> None:
    keys = derive_keys([existing(10, "Lobby"), existing(11, "Events")], taken={"lobby"})
    assert keys == {10: "lobby-2", 11: "events"}


def test_a_newer_room_does_not_change_older_keys() -> None:
    older = [existing(10, "Lobby"), existing(20, "Lobby"), existing(30, None)]
    newer = [*older, existing(5_000, "Lobby"), existing(6_000, "Lobby 2")]
    assert derive_keys(newer).items() >= derive_keys(older).items()


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=10_000),
            st.none() | st.text(alphabet=st.sampled_from("aA é-2 _Ü会#"), max_size=8),
        ),
        unique_by=lambda pair: pair[0],
        max_size=30,
    )
)
def test_keys_are_unique_non_empty_and_independent_of_listing_order(
    pairs: list[tuple[int, str | None]],
) -> None:
    rooms = [existing(room_id, name) for room_id, name in pairs]
    keys = derive_keys(rooms)
    assert sorted(keys) == sorted(room_id for room_id, _ in pairs)
    assert len(set(keys.values())) == len(keys)
    assert all(keys.values())
    assert derive_keys(list(reversed(rooms))) == keys


# ----- the command against the sandbox ------------------------------------------------------


@pytest.fixture
def project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(PROJECT)
    (tmp_path / "stacks").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def environ(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "NEXUDUS_BASE_URL": sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
        "NEXUDUS_MIN_INTERVAL_MS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def stack_file(project_root: Path) -> Path:
    """The stack file an export of the stack `prod` writes (and the tests hand-write first)."""
    return project_root / "stacks" / "Pulumi.prod.yaml"


def seed(sandbox: Sandbox, **fields: Any) -> int:
    return sandbox.store.insert({"BusinessId": 1001, **fields}, "ui")


def rooms_in(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text())["config"]["nexudus-rooms:rooms"])


Export = Callable[..., Any]


@pytest.fixture
def export(project_root: Path, environ: dict[str, str]) -> Export:
    def run(stack: str = "prod", business: int = 1001, **kwargs: Any) -> Any:
        options = {
            k: kwargs.pop(k)
            for k in ("protect", "include_owned", "with_fields", "kinds")
            if k in kwargs
        }
        return run_export(
            project_root, stack, ExportOptions(business, **options), environ=environ, **kwargs
        )

    return run


def test_export_writes_every_room_with_its_fields_and_import_id(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    lobby = seed(sandbox, Name="Lobby", Active=True, Users=[12, 11])
    quiet = seed(sandbox, Name="Quiet room", LastAgentVisit="2025-01-15T10:30:00Z")
    nameless = seed(sandbox)
    seed(sandbox, BusinessId=1002, Name="Elsewhere")
    report = export()
    document = yaml.safe_load(stack_file.read_text())
    assert document["config"]["nexudus-rooms:businessId"] == 1001
    assert document["config"]["nexudus-rooms:rooms"] == {
        "lobby": {
            "name": "Lobby",
            "active": True,
            "users": [11, 12],
            "importId": lobby,
            "protect": True,
        },
        "quiet-room": {"name": "Quiet room", "active": False, "importId": quiet, "protect": True},
        f"room-{nameless}": {"active": False, "importId": nameless, "protect": True},
    }
    assert report.lines[-1].startswith(
        f"{tally_all({'rooms': 3})} of business 1001 written to stacks/Pulumi.prod.yaml"
    )
    assert "users: [11, 12]" in stack_file.read_text()


def test_no_protect_and_last_agent_visit_on_request(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed(sandbox, Name="Quiet room", LastAgentVisit="2025-01-15T10:30:00.000+00:00")
    export(protect=False, with_fields=frozenset({"lastAgentVisit"}))
    text = stack_file.read_text()
    assert 'lastAgentVisit: "2025-01-15T10:30:00Z"' in text  # quoted: not a YAML timestamp
    assert "protect" not in text


def test_a_room_another_stack_manages_is_skipped_and_named(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed(sandbox, Name="Mine")
    owned = seed(sandbox, Name="Theirs", SystemId="pulumi:nexudus-rooms/staging/theirs#1a2b")
    report = export()
    assert list(rooms_in(stack_file)) == ["mine"]
    assert any(
        f"skipped room {owned} 'Theirs': managed by the stack nexudus-rooms/staging/theirs" in line
        for line in report.lines
    )
    assert "1 skipped as managed by other stacks" in report.lines[-1]

    report = export(force=True, include_owned=True)
    rooms = rooms_in(stack_file)
    assert rooms["theirs"]["takeOver"] is True
    assert rooms["theirs"]["importId"] == owned
    text = stack_file.read_text()
    assert '# managed by the stack "nexudus-rooms/staging/theirs": takeOver moves it' in text


def test_a_declared_room_another_stack_took_is_kept_and_named_not_dropped(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    front = seed(sandbox, Name="Front desk", SystemId="pulumi:nexudus-rooms/staging/front")
    stack_file.write_text(HAND_WRITTEN.format(front=front))
    report = export(force=True)
    assert rooms_in(stack_file)["front"] == {"name": "Front desk", "importId": front}
    assert any(
        line.startswith(
            f"warning: front adopts room {front} 'Front desk', which the stack "
            "nexudus-rooms/staging/front manages"
        )
        for line in report.lines
    )


def test_a_system_id_of_another_integration_is_taken_only_when_asked(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    synced = seed(sandbox, Name="Synced", SystemId="crm:42")
    seed(sandbox, Name="Mine")
    report = export()
    assert list(rooms_in(stack_file)) == ["mine"]
    assert (
        f"skipped room {synced} 'Synced': managed by another integration (its SystemId is "
        '"crm:42") (--include-owned writes it with takeOver: true)'
    ) in report.lines
    assert "1 skipped as managed by other stacks or integrations" in report.lines[-1]

    report = export(force=True, include_owned=True)
    assert rooms_in(stack_file)["synced"]["takeOver"] is True
    assert '# SystemId "crm:42" was set by another integration' in stack_file.read_text()
    [warning] = [line for line in report.lines if line.startswith("warning: synced")]
    assert 'managed by another integration (its SystemId is "crm:42")' in warning
    assert "None" not in warning


def test_a_room_map_is_not_overwritten_without_force(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    front = seed(sandbox, Name="Front desk")
    stack_file.write_text(HAND_WRITTEN.format(front=front))
    before = stack_file.read_text()
    with pytest.raises(ExportError, match=r"--force merges") as refused:
        export()
    assert refused.value.reason == "already-declared"
    assert (refused.value.path, refused.value.declared) == (stack_file, {"rooms": 2})
    assert stack_file.read_text() == before
    assert sandbox.requests == []  # refused before anything was sent


def test_force_merges_keeping_keys_comments_and_other_config(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    front = seed(sandbox, Name="Front desk (renamed)", Active=True)
    lobby = seed(sandbox, Name="Lobby", Users=[7])
    stack_file.write_text(HAND_WRITTEN.format(front=front))
    report = export(force=True)
    text = stack_file.read_text()
    for kept in (
        "# prod: the account as it was before Pulumi\n",
        "  nexudus:username: ops@example.com  # the pipeline's user\n",
        '  nexudus-rooms:businessId: "1001"\n',  # its quoting too
        "    # the front desk, adopted by hand last year\n    front:\n",
        f"      importId: {front}  # adopted\n",
        "  # the password, set with pulumi config set --secret\n"
        "  nexudus:password:\n    secure: v1:AAAA:BBBB\n",
        "encryptionsalt: v1:salt:salt\n",
    ):
        assert kept in text
    assert "planned" not in text and "a room we meant to create" not in text
    assert (
        "warning: removed planned and the comments above it: no room of business 1001 matches "
        "it (--keep-unmatched keeps such keys)"
    ) in report.lines
    rooms = rooms_in(stack_file)
    assert list(rooms) == ["front", "lobby"]  # the file's key first, new keys after
    assert rooms["front"] == {"name": "Front desk (renamed)", "active": True, "importId": front}
    assert rooms["lobby"] == {
        "name": "Lobby",
        "active": False,
        "users": [7],
        "importId": lobby,
        "protect": True,
    }
    assert "1 already declared, kept their keys" in report.lines[-1]


def test_force_keeps_a_key_declared_in_another_business(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    # `events` lives in business 1002: no room of 1001 matches it, yet it is no leftover, and
    # removing its key would make the next `up` delete the room.
    front = seed(sandbox, Name="Front desk")
    stack_file.write_text(
        HAND_WRITTEN.format(front=front).replace(
            "    # a room we meant to create\n",
            "    events:\n      name: Events desk\n      businessId: 1002\n"
            "    # a room we meant to create\n",
        )
    )
    report = export(force=True)
    rooms = rooms_in(stack_file)
    assert rooms["events"] == {"name": "Events desk", "businessId": 1002}
    assert "planned" not in rooms  # of business 1001, matching nothing: removed, and said
    assert [x for x in report.lines if x.startswith("warning: removed ")] == [
        "warning: removed planned and the comments above it: no room of business 1001 matches "
        "it (--keep-unmatched keeps such keys)"
    ]


def test_force_refuses_to_move_a_stack_to_another_business(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed(sandbox, Name="Lobby", BusinessId=1002)
    stack_file.write_text(HAND_WRITTEN.format(front=seed(sandbox, Name="Front desk")))
    before = stack_file.read_text()
    with pytest.raises(ExportError) as refused:
        export(force=True, business=1002)
    assert (refused.value.reason, refused.value.business) == ("other-business", 1001)
    assert refused.value.path == stack_file
    assert "(nexudus-rooms:businessId)" in str(refused.value)  # the setting to look at
    assert "--business 1001" in str(refused.value)
    assert stack_file.read_text() == before
    assert sandbox.requests == []  # refused before anything was sent


def test_output_dash_prints_the_file_and_writes_nothing(
    stack_file: Path,
    environ: dict[str, str],
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    front = seed(sandbox, Name="Front desk")
    seed(sandbox, Name="Lobby")
    stack_file.write_text(HAND_WRITTEN.format(front=front))
    before = stack_file.read_text()
    code = cli.main(["export", "--business", "1001", "--stack", "prod", "--output", "-"])
    printed = capsys.readouterr()
    assert code == 0
    assert stack_file.read_text() == before
    printed_rooms = yaml.safe_load(printed.out)["config"]["nexudus-rooms:rooms"]
    assert list(printed_rooms) == ["front", "lobby"]
    assert "# the front desk, adopted by hand last year" in printed.out
    assert f"{tally_all({'rooms': 2})} of business 1001 written to stdout" in printed.err


def test_the_cli_writes_the_stack_file_and_says_how_many_rooms(
    stack_file: Path,
    environ: dict[str, str],
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("A", "B", "C"):
        seed(sandbox, Name=name)
    assert cli.main(["export", "--business", "1001", "--stack", "prod"]) == 0
    assert (
        f"{tally_all({'rooms': 3})} of business 1001 written to stacks/Pulumi.prod.yaml"
        in capsys.readouterr().out
    )
    assert list(rooms_in(stack_file)) == ["a", "b", "c"]


# ----- groups: the same rules, driven by the CommunityGroup model ----------------------------

GROUPS_BY_HAND = """\
config:
  nexudus-rooms:businessId: 1001
  nexudus-rooms:groups:
    # the makers, adopted by hand
    makers:
      name: Makers
      userId: 11
      groupAccess: restricted  # said on purpose
      description: Old text
      importId: {makers}
    # a group we meant to create
    planned:
      name: Planned
      userId: 12
  # the end of the groups
"""


def seed_group(sandbox: Sandbox, **fields: Any) -> int:
    return sandbox.groups.insert({"BusinessId": 1001, "UserId": 11, **fields}, "ui")


def groups_in(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text())["config"]["nexudus-rooms:groups"])


def test_export_writes_every_group_with_the_fields_worth_managing(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    lobby_room = seed(sandbox, Name="Lobby", Active=True)
    makers = seed_group(
        sandbox,
        Name="Makers",
        UserId=12,
        Description="3D printing",
        GroupAccess=2,
        Members=[13, 12],
    )
    club = seed_group(sandbox, Name="Book club", Description="", GroupAccess=1)
    club_2 = seed_group(sandbox, Name="Book club", GroupAccess=3, Members=[11])
    lobby = seed_group(sandbox, Name="Lobby", Description="yes")  # text YAML 1.1 reads as true
    signs = seed_group(sandbox, Name="!!!")
    seed_group(sandbox, BusinessId=1002, Name="Elsewhere")
    report = export()
    assert groups_in(stack_file) == {
        "makers": {
            "name": "Makers",
            "userId": 12,
            "description": "3D printing",
            "groupAccess": "public",
            "members": [12, 13],
            "importId": makers,
            "protect": True,
        },
        "book-club": {"name": "Book club", "userId": 11, "importId": club, "protect": True},
        "book-club-2": {
            "name": "Book club",
            "userId": 11,
            "groupAccess": "private",
            "members": [11],
            "importId": club_2,
            "protect": True,
        },
        "lobby": {
            "name": "Lobby",
            "userId": 11,
            "description": "yes",
            "importId": lobby,
            "protect": True,
        },
        f"group-{signs}": {"name": "!!!", "userId": 11, "importId": signs, "protect": True},
    }
    assert rooms_in(stack_file)["lobby"]["importId"] == lobby_room  # a room may share a group's key
    text = stack_file.read_text()
    assert "members: [12, 13]" in text and 'description: "yes"' in text
    assert report.lines[-1].startswith(
        f"{tally_all({'rooms': 1, 'groups': 5})} of business 1001 written to "
        "stacks/Pulumi.prod.yaml"
    )


def test_a_group_of_another_business_than_the_stacks_says_so_last() -> None:
    record = ExistingRecord.from_record(
        GROUPS,
        {"Id": 7, "BusinessId": 1002, "Name": "Makers", "UserId": 11, "GroupAccess": 3},
    )
    fields = managed_fields(record, 1001, ExportOptions(1001))
    assert list(fields.items()) == [
        ("name", "Makers"),
        ("userId", 11),
        ("groupAccess", "private"),
        ("businessId", 1002),
    ]


def test_groups_other_stacks_or_integrations_manage(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed_group(sandbox, Name="Mine")
    owned = seed_group(sandbox, Name="Theirs", SystemId="pulumi:nexudus-rooms/staging/theirs#1a")
    seed_group(sandbox, Name="Synced", SystemId="crm:42")
    report = export()
    assert list(groups_in(stack_file)) == ["mine"]
    assert (
        f"skipped group {owned} 'Theirs': managed by the stack nexudus-rooms/staging/theirs "
        "(--include-owned writes it with takeOver: true)"
    ) in report.lines
    assert "2 skipped as managed by other stacks or integrations" in report.lines[-1]

    report = export(force=True, include_owned=True)
    theirs, synced = groups_in(stack_file)["theirs"], groups_in(stack_file)["synced"]
    assert (theirs["importId"], theirs["takeOver"]) == (owned, True)
    assert synced["takeOver"] is True
    text = stack_file.read_text()
    assert '# managed by the stack "nexudus-rooms/staging/theirs": takeOver' in text
    assert '# SystemId "crm:42" was set by another integration' in text
    assert any(line.startswith("warning: synced (group ") for line in report.lines)


def test_force_merges_groups_keeping_keys_and_comments(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    makers = seed_group(sandbox, Name="Makers (renamed)", GroupAccess=1, Members=[12])
    readers = seed_group(sandbox, Name="Readers", GroupAccess=2)
    lobby = seed(sandbox, Name="Lobby")
    stack_file.write_text(GROUPS_BY_HAND.format(makers=makers))
    with pytest.raises(ExportError) as refused:
        export()
    assert refused.value.reason == "already-declared"
    assert refused.value.declared == {"groups": 2}
    assert "in nexudus-rooms:groups" in str(refused.value)  # the config key, as the file has it
    report = export(force=True)
    text = stack_file.read_text()
    for kept in (
        "    # the makers, adopted by hand\n    makers:\n",
        "      groupAccess: restricted  # said on purpose\n",  # declared: kept, at its default
        "  # the end of the groups\n",
    ):
        assert kept in text
    assert "planned" not in text and "a group we meant to create" not in text
    assert (
        "warning: removed planned and the comments above it: no group of business 1001 matches "
        "it (--keep-unmatched keeps such keys)"
    ) in report.lines
    groups = groups_in(stack_file)
    assert list(groups) == ["makers", "readers"]
    assert groups["makers"] == {
        "name": "Makers (renamed)",
        "userId": 11,
        "groupAccess": "restricted",
        "members": [12],
        "importId": makers,
    }  # no description: Nexudus holds none
    assert groups["readers"] == {
        "name": "Readers",
        "userId": 11,
        "groupAccess": "public",
        "importId": readers,
        "protect": True,
    }
    assert "1 already declared, kept their keys" in report.lines[-1]
    # the rooms map is new: added whole, after the groups, before the comment ending the config
    assert rooms_in(stack_file) == {
        "lobby": {"name": "Lobby", "active": False, "importId": lobby, "protect": True}
    }
    assert text.endswith("      protect: true\n  # the end of the groups\n")


def test_only_one_map_is_exported_when_asked(
    stack_file: Path,
    environ: dict[str, str],
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    makers = seed_group(sandbox, Name="Makers")
    seed(sandbox, Name="Lobby")
    stack_file.write_text(GROUPS_BY_HAND.format(makers=makers))
    before = groups_in(stack_file)
    assert cli.main(["export", "--business", "1001", "--stack", "prod", "--only", "rooms"]) == 0
    assert "1 room(s) of business 1001 written" in capsys.readouterr().out
    assert groups_in(stack_file) == before  # declared groups, no --force needed: not touched
    assert list(rooms_in(stack_file)) == ["lobby"]

    code = cli.main(["export", "--business", "1001", "--stack", "prod", "--only", "groups"])
    assert code == 1
    assert "already declares 2 group(s)" in capsys.readouterr().err


def test_output_dash_prints_groups_too(
    stack_file: Path,
    environ: dict[str, str],
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    makers = seed_group(sandbox, Name="Makers", Members=[12])
    stack_file.write_text(GROUPS_BY_HAND.format(makers=makers))
    before = stack_file.read_text()
    code = cli.main(["export", "--business", "1001", "--stack", "prod", "--output", "-"])
    printed = capsys.readouterr()
    assert code == 0
    assert stack_file.read_text() == before
    assert yaml.safe_load(printed.out)["config"]["nexudus-rooms:groups"]["makers"]["members"] == [
        12
    ]
    assert "# the makers, adopted by hand" in printed.out
    assert f"{tally_all({'groups': 1})} of business 1001 written to stdout" in printed.err


def test_a_business_without_groups_gets_no_groups_map(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed(sandbox, Name="Lobby")
    export()
    config = yaml.safe_load(stack_file.read_text())["config"]
    assert "nexudus-rooms:groups" not in config


def test_two_keys_adopting_one_group_are_refused(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    group = seed_group(sandbox, Name="Makers")
    stack_file.write_text(
        f"config:\n  nexudus-rooms:groups:\n    a: {{importId: {group}}}\n"
        f"    b: {{importId: {group}}}\n"
    )
    with pytest.raises(ExportError) as refused:
        export(force=True)
    assert refused.value.reason == "adopted-twice"
    assert (refused.value.map_name, refused.value.keys) == ("groups", ("a", "b"))
    assert refused.value.record_id == group


# ----- errors a user can act on -------------------------------------------------------------


def test_an_unknown_business_is_named_and_nothing_is_written(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed(sandbox, Name="Lobby")
    with pytest.raises(ExportError, match=r"check --business") as refused:
        export(business=4242)
    assert (refused.value.reason, refused.value.business) == ("no-records", 4242)
    assert not stack_file.exists()


def test_no_credentials_stops_before_any_request(
    project_root: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"NEXUDUS_BASE_URL": sandbox.url}
    with pytest.raises(
        MissingCredentialsError, match="no Nexudus credentials: set NEXUDUS_USERNAME"
    ):
        run_export(project_root, "prod", ExportOptions(1001), environ=env)
    assert sandbox.requests == []


def test_a_stack_file_that_is_not_yaml_is_named(export: Export, stack_file: Path) -> None:
    stack_file.write_text("config:\n  rooms: [unclosed\n")
    with pytest.raises(StackFileError) as refused:
        export()
    assert (refused.value.reason, refused.value.path) == ("invalid-yaml", stack_file)
    assert refused.value.line == 3
    assert f"at line {refused.value.line}" in str(refused.value)


def test_a_key_written_twice_in_the_file_is_named(export: Export, stack_file: Path) -> None:
    stack_file.write_text(
        "config:\n  nexudus-rooms:rooms:\n    lobby: {name: A}\n    lobby: {name: B}\n"
    )
    with pytest.raises(StackFileError, match=r"a key appears twice.*lobby") as refused:
        export(force=True)
    assert (refused.value.reason, refused.value.path) == ("duplicate-key", stack_file)


def test_two_keys_adopting_one_room_are_refused(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    room = seed(sandbox, Name="Lobby")
    stack_file.write_text(
        f"config:\n  nexudus-rooms:rooms:\n    lobby: {{importId: {room}}}\n"
        f"    lobby-twin: {{importId: {room}}}\n"
    )
    with pytest.raises(ExportError, match="keep one of them") as refused:
        export(force=True)
    assert refused.value.reason == "adopted-twice"
    assert (refused.value.map_name, refused.value.keys) == ("rooms", ("lobby", "lobby-twin"))
    assert refused.value.record_id == room


def test_run_outside_a_project_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match=r"run this command in the Pulumi project's root") as e:
        run_export(tmp_path, "prod", ExportOptions(1001), environ={})
    assert (e.value.reason, e.value.path) == ("no-project", tmp_path / "Pulumi.yaml")


# ----- protect and retainOnDelete in the program ---------------------------------------------


class Recorded:
    """Stands in for `ChatRoom`: records what the program passes it."""

    provider_type = ChatRoomProvider

    def __init__(self, key: str, **kwargs: Any) -> None:
        self.key = key
        self.opts: pulumi.ResourceOptions = kwargs.pop("opts")
        self.inputs = kwargs


RECORDED_ROOMS: Any = RecordKind(Recorded, "rooms", "room")
NOTHING = program.Declared({})
"""No record declared before: what a reference would be resolved from."""


def test_protection_settings_become_resource_options_not_room_fields() -> None:
    entry = {"name": "Lobby", "protect": True, "retainOnDelete": True, "importId": 5}
    room: Any = program._declare(RECORDED_ROOMS, "lobby", entry, 1001, NOTHING, secret=False)
    assert room.opts.protect is True and room.opts.retain_on_delete is True
    assert "protect" not in room.inputs and "retain_on_delete" not in room.inputs
    plain_room: Any = program._declare(
        RECORDED_ROOMS, "plain", {"name": "Plain"}, 1001, NOTHING, secret=False
    )
    assert plain_room.opts.protect is None and plain_room.opts.retain_on_delete is None


def test_a_protection_setting_that_is_not_a_boolean_is_named() -> None:
    problems = program._record_problems(
        RECORDED_ROOMS, "rooms.lobby", {"protect": "yes"}, 1001, "p"
    )
    assert problems == ["rooms.lobby.protect must be true or false, got 'yes'"]


def test_aliases_become_pulumi_aliases_of_the_earlier_keys() -> None:
    one: Any = program._declare(
        RECORDED_ROOMS,
        "front-desk",
        {"name": "Front", "aliases": "lobby"},
        1001,
        program.Declared({}),
        secret=False,
    )
    assert [alias.name for alias in one.opts.aliases] == ["lobby"]
    assert "aliases" not in one.inputs
    two: Any = program._declare(
        RECORDED_ROOMS,
        "desk",
        {"aliases": ["lobby", "front-desk"]},
        1001,
        program.Declared({}),
        secret=False,
    )
    assert [alias.name for alias in two.opts.aliases] == ["lobby", "front-desk"]


@pytest.mark.parametrize("value", [True, [], [""], ["lobby", 3], {"lobby": 1}])
def test_aliases_that_are_not_keys_are_named(value: Any) -> None:
    problems = program._record_problems(RECORDED_ROOMS, "rooms.desk", {"aliases": value}, 1001, "p")
    assert problems == [
        "rooms.desk.aliases must be the room's earlier key, or a list of them "
        f"(aliases: [front-desk]), got {value!r}"
    ]


# ----- text from the API is data, never YAML syntax -------------------------------------------

BREAKS = ["\r", "\n", "\r\n", "\x85", "\u2028", "\u2029"]
"""What ends a line (so a comment) for one YAML reader or another."""


def read_both(text: str) -> tuple[Any, Any]:
    """The file as a YAML 1.2 reader (ruamel) and a YAML 1.1 reader (PyYAML) see it."""
    return YAML(typ="safe").load(io.StringIO(text)), yaml.safe_load(text)


@pytest.mark.parametrize("brk", BREAKS)
def test_a_system_id_cannot_inject_a_key_into_the_stack_file(
    export: Export, sandbox: Sandbox, stack_file: Path, brk: str
) -> None:
    payload = (
        f"pulumi:other/prod/x{brk}  nexudus:baseUrl: http://evil{brk}"
        f"  nexudus-rooms:rooms: {{evil: {{name: Evil}}}}{brk} #"
    )
    lobby = seed(sandbox, Name="Lobby")
    theirs = seed(sandbox, Name="Theirs", SystemId=payload)
    foreign = seed(sandbox, Name="Synced", SystemId="crm" + payload)
    export(include_owned=True)
    text = stack_file.read_text()
    for document in read_both(text):
        config = document["config"]
        assert set(config) == {"nexudus-rooms:businessId", "nexudus-rooms:rooms"}
        rooms = config["nexudus-rooms:rooms"]
        assert {key: entry["importId"] for key, entry in rooms.items()} == {
            "lobby": lobby,
            "theirs": theirs,
            "synced": foreign,
        }
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) == 2
    assert all(line.isascii() and line.isprintable() for line in comments)
    assert "nexudus:baseUrl: http://evil" in text  # shown, escaped, inside the comment only


@pytest.mark.parametrize(
    "text",
    [
        "a\x85b",
        "line\u2028separator\u2029paragraph",
        "carriage\rreturn\nnewline\ttab",
        "esc \x1b[31m red",
        " leading and trailing ",
        "# not a comment",
        "key: value",
        "- item",
        '"quoted"',
        "'single'",
        "\\backslash",
    ],
)
def test_awkward_text_survives_a_round_trip_exactly(
    export: Export, sandbox: Sandbox, stack_file: Path, text: str
) -> None:
    seed_group(sandbox, Name="Makers", Description=text)
    export()
    written = stack_file.read_text()
    for document in read_both(written):
        assert document["config"]["nexudus-rooms:groups"]["makers"]["description"] == text


@pytest.mark.parametrize(
    "name",
    ["yes", "No", "on", "OFF", "y", "n", "Y", "true", "null", "~", "12", "1.5", "0x1F", "1e3"],
)
def test_keys_and_values_yaml_1_1_reads_as_something_else_are_quoted(
    export: Export, sandbox: Sandbox, stack_file: Path, name: str
) -> None:
    room = seed(sandbox, Name=name)
    export()
    for document in read_both(stack_file.read_text()):
        rooms = document["config"]["nexudus-rooms:rooms"]
        assert list(rooms) == [slug(name) or f"room-{room}"]
        [entry] = rooms.values()
        assert entry["name"] == name
    if name.casefold() in {"y", "n", "yes", "no", "on", "off"}:  # booleans to Go's yaml.v2
        assert f'\n    "{name.casefold()}":\n      name: "{name}"\n' in stack_file.read_text()


@pytest.mark.parametrize("name", [12, 1.5, True, {"en": "Lobby"}, ["Lobby"], "Half \ud83d"])
def test_a_name_that_is_not_text_is_not_written_and_is_named(name: Any) -> None:
    # The sandbox stores names as text; Nexudus's JSON could carry anything.
    record = ExistingRecord.from_record(
        ROOMS, {"Id": 7, "BusinessId": 1001, "Name": name, "Active": True}
    )
    options = ExportOptions(1001)
    plan = plan_export(ROOMS, [record], {}, project="nexudus-rooms", stack="prod", options=options)
    stack_file = StackFile.parse("", Path("Pulumi.prod.yaml"))
    apply_plan([plan], stack_file, Project(Path("."), "nexudus-rooms", Path(".")), options)
    rooms = yaml.safe_load(stack_file.dump())["config"]["nexudus-rooms:rooms"]
    key = (slug(name) if isinstance(name, str) else "") or "room-7"
    assert rooms == {key: {"active": True, "importId": 7, "protect": True}}
    [warning] = plan.warnings(options)
    assert warning.startswith(f"warning: {key} (room 7")
    assert "): its name from Nexudus, " in warning
    assert "is not written: a declaration refuses it" in warning
    assert warning.isprintable()


def test_a_name_a_declaration_refuses_is_not_written_and_is_named(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    room = seed(sandbox, Name="Bell\x07room")
    report = export()
    assert rooms_in(stack_file)["bell-room"] == {
        "active": False,
        "importId": room,
        "protect": True,
    }
    [warning] = [line for line in report.lines if line.startswith("warning:")]
    assert "\x07" not in warning and "\\x07" in warning
    assert "control character" in warning


SECRET_ROOMS = """\
config:
  nexudus-rooms:businessId: 1001
  nexudus-rooms:rooms:
    lobby:
      name:
        secure: v1:cipher-of-the-name
      importId: {lobby}
    hidden:
      secure: v1:cipher-of-a-whole-room
encryptionsalt: v1:salt:salt
"""


@pytest.mark.parametrize("to_stdout", [False, True])
def test_force_leaves_encrypted_values_encrypted(
    export: Export, sandbox: Sandbox, stack_file: Path, to_stdout: bool
) -> None:
    lobby = seed(sandbox, Name="Lobby (secret name)", Active=True)
    stack_file.write_text(SECRET_ROOMS.format(lobby=lobby))
    report = export(force=True, to_stdout=to_stdout)
    assert "Lobby (secret name)" not in report.text
    rooms = yaml.safe_load(report.text)["config"]["nexudus-rooms:rooms"]
    assert rooms["lobby"]["name"] == {"secure": "v1:cipher-of-the-name"}
    assert rooms["lobby"]["active"] is True
    assert rooms["hidden"] == {"secure": "v1:cipher-of-a-whole-room"}
    assert any("lobby.name is encrypted" in line for line in report.lines)
    assert any("hidden is encrypted" in line for line in report.lines)


SECRET_IN_A_LIST = """\
config:
  nexudus-rooms:businessId: 1001
  nexudus-rooms:rooms:
    lobby:
      name: Lobby
      users: [11, {{secure: v1:cipher-of-a-user}}]
      importId: {lobby}
encryptionsalt: v1:salt:salt
"""


@pytest.mark.parametrize("to_stdout", [False, True])
def test_force_keeps_an_encrypted_value_nested_in_a_list(
    export: Export, sandbox: Sandbox, stack_file: Path, to_stdout: bool
) -> None:
    """`users: [11, {secure: ...}]` once became `[11, 12]`, the secret written in plaintext."""
    lobby = seed(sandbox, Name="Lobby", Users=[11, 12])
    stack_file.write_text(SECRET_IN_A_LIST.format(lobby=lobby))
    report = export(force=True, to_stdout=to_stdout)
    lobby_entry = yaml.safe_load(report.text)["config"]["nexudus-rooms:rooms"]["lobby"]
    assert lobby_entry["users"] == [11, {"secure": "v1:cipher-of-a-user"}]
    assert any("lobby.users is encrypted" in line for line in report.lines)


def test_a_map_encrypted_whole_is_refused(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    seed(sandbox, Name="Lobby")
    stack_file.write_text("config:\n  nexudus-rooms:rooms:\n    secure: v1:cipher\n")
    before = stack_file.read_text()
    with pytest.raises(ExportError, match="nexudus-rooms:rooms is encrypted as a whole") as e:
        export(force=True)
    assert (e.value.reason, e.value.map_name, e.value.path) == (
        "encrypted-map",
        "rooms",
        stack_file,
    )
    assert stack_file.read_text() == before


def test_keep_unmatched_keeps_hand_written_keys_and_says_so(
    stack_file: Path,
    environ: dict[str, str],
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    front = seed(sandbox, Name="Front desk")
    stack_file.write_text(HAND_WRITTEN.format(front=front))
    command = ["export", "--business", "1001", "--stack", "prod", "--force", "--keep-unmatched"]
    assert cli.main(command) == 0
    out = capsys.readouterr().out
    kept = "    # a room we meant to create\n    planned:\n      name: Planned\n"
    assert kept in stack_file.read_text()
    assert "kept planned: no room of business 1001 matches it" in out
    assert "removed" not in out


def alias_bomb() -> str:
    """About 500 bytes that expand to 9^9 (387 million) values: each alias names the list
    above it nine times."""
    lines = ["config:", "  nexudus-rooms:businessId: 1001", "  a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    lines.append("  nexudus-rooms:rooms: {lobby: {name: Lobby, users: *a8}}")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(30)  # before the bound: 44 s and 2.3 GB
def test_an_alias_bomb_in_the_stack_file_fails_at_once_before_any_request(
    stack_file: Path, environ: dict[str, str], sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 600
    stack_file.write_text(bomb)
    started = time.monotonic()
    assert cli.main(["export", "--business", "1001", "--stack", "prod", "--force"]) == 1
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.startswith(f"error: {stack_file} holds more than 1,000,000 values once its YAML ")
    assert "aliases (*name) are expanded" in err and err.count("\n") == 1
    assert sandbox.requests == []
    assert stack_file.read_text() == bomb


def test_aliases_within_the_bound_are_read_and_kept(
    export: Export, sandbox: Sandbox, stack_file: Path
) -> None:
    lobby = seed(sandbox, Name="Lobby", Users=[11, 12])
    stack_file.write_text(
        "config:\n  nexudus-rooms:businessId: 1001\n  members: &members [11, 12]\n"
        f"  nexudus-rooms:rooms:\n    lobby: {{name: Lobby, users: *members, importId: {lobby}}}\n"
    )
    export(force=True)
    assert rooms_in(stack_file)["lobby"]["users"] == [11, 12]
    assert "*members" in stack_file.read_text()


def test_a_stack_file_nested_too_deep_for_python_is_refused(stack_file: Path) -> None:
    stack_file.write_text("config:\n  a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(StackFileError) as refused:
        StackFile.load(stack_file)
    assert (refused.value.reason, refused.value.path) == ("too-deep", stack_file)


def test_a_zoom_event_data_that_cannot_be_encrypted_is_not_written_and_is_named(
    export: Export, sandbox: Sandbox, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the pulumi CLI nothing can encrypt it: left out, never written in plaintext."""
    group = seed_group(sandbox, Name="Makers", UserId=12)
    sandbox.stores["/api/community/communitythreads"].insert(
        {
            "BusinessId": 1001,
            "CommunityGroupId": group,
            "Subject": "Monthly call",
            "Message": "Join us",
            "UserId": 11,
            "ZoomEventData": '{"passcode": "583920"}',
        },
        "ui",
    )
    monkeypatch.setenv("PATH", "")
    report = export(kinds=(GROUPS, THREADS))
    assert "583920" not in stack_file.read_text()
    [thread] = yaml.safe_load(stack_file.read_text())["config"]["nexudus-rooms:threads"].values()
    assert thread["subject"] == "Monthly call" and "zoomEventData" not in thread
    [warning] = [line for line in report.lines if "zoomEventData" in line]
    assert warning.startswith("warning: monthly-call.zoomEventData from Nexudus is not written")
    assert "the pulumi CLI is not on PATH" in warning
