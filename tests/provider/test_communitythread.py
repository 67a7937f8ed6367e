"""The CommunityThread record type: what only a thread has. Its subject and message rules, the
sandbox's reading of the reference (a group named must exist), a message edited in place with
the fields left to Nexudus kept, a thread naming its group by key in the stack file, and export.
What every record type promises is tests/provider/test_contract.py's, run for every kind."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest
import requests
import yaml

from nexudus_pulumi import CommunityGroup, CommunityThread, CommunityThreadProvider, cli
from nexudus_pulumi.clone import CloneOptions, rewrite_config
from nexudus_pulumi.communitythread import KIND
from nexudus_pulumi.export import ExportOptions, run_export
from nexudus_pulumi.program import declare_stack
from nexudus_pulumi.provider import RecordOperationError
from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from nexudus_pulumi.stackconfig import Project, StackFile
from tests.helpers import (
    AUTH,
    Created,
    RecordingMocks,
    configure,
    create,
    edited,
    only_failure,
    sandbox_config,
)

THREADS = "/api/community/communitythreads"


def thread(key: str, **fields: Any) -> dict[str, Any]:
    """Inputs as the engine passes them after check: numbers arrive as floats."""
    props: dict[str, Any] = {
        "businessId": 1001.0,
        "subject": key.title(),
        "message": "Read this first.",
        "userId": 11.0,
        "ownerTag": f"p/t/{key}",
    }
    return props | fields


@pytest.fixture
def provider(sandbox: Sandbox) -> CommunityThreadProvider:
    return configure(CommunityThreadProvider(), sandbox_config(sandbox))


def stored(sandbox: Sandbox, created: Created) -> dict[str, Any]:
    record = sandbox.stores[THREADS].get(int(created.id))
    assert record is not None
    return record


def make_group(sandbox: Sandbox) -> int:
    return sandbox.groups.insert({"BusinessId": 1001, "UserId": 11, "Name": "Makers"}, "ui")


# ----- check -----------------------------------------------------------------------------------

VALID = {"businessId": 1001, "subject": "Welcome", "message": "Read this first.", "userId": 11}


@pytest.mark.parametrize(
    ("change", "prop", "words"),
    [
        ({"message": " \n "}, "message", "must not be blank"),
        ({"subject": "Line\nbreak"}, "subject", "control characters"),
        ({"communityGroupId": "makers"}, "communityGroupId", "integer"),
        ({"tags": ["welcome", "rules"]}, "tags", "string"),
        ({"private": "yes"}, "private", "boolean"),
        ({"guests": [12, 12]}, "guests", "id 12 is listed twice"),
    ],
)
def test_check_names_the_bad_property(change: dict[str, Any], prop: str, words: str) -> None:
    failure = only_failure(CommunityThreadProvider(), edited(VALID, change))
    assert failure.property == prop
    assert words in failure.reason


def test_a_message_keeps_its_line_breaks() -> None:
    message = "Welcome to the makers.\n\n1. Be kind.\n2. Clean the laser cutter."
    result = CommunityThreadProvider().check({}, {**VALID, "message": message})
    assert result.failures == [] and result.inputs["message"] == message


# ----- the sandbox, as the reference reads -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"Subject": " "}, "Subject: is a required field"),
        ({"Message": None}, "Message: is a required field"),
        ({"CommunityGroupId": 999}, "CommunityGroupId: CommunityGroup 999 does not exist"),
        ({"UserId": 99}, "UserId: user 99 does not exist"),
    ],
)
def test_the_sandbox_refuses_what_the_reference_does(
    sandbox: Sandbox, body: dict[str, Any], error: str
) -> None:
    valid = {"BusinessId": 1001, "UserId": 11, "Subject": "Welcome", "Message": "Hello"}
    answer = requests.post(sandbox.url + THREADS, json={**valid, **body}, auth=AUTH, timeout=5)
    assert answer.status_code == 400 and error in answer.json()["Message"]
    assert sandbox.stores[THREADS].all() == []


def test_a_thread_in_an_existing_group_is_posted(sandbox: Sandbox) -> None:
    group_id = make_group(sandbox)
    body = {"BusinessId": 1001, "UserId": 11, "Subject": "Welcome", "Message": "Hello"}
    answer = requests.post(
        sandbox.url + THREADS, json={**body, "CommunityGroupId": group_id}, auth=AUTH, timeout=5
    )
    thread_id = answer.json()["Value"]["Id"]
    record = requests.get(f"{sandbox.url}{THREADS}/{thread_id}", auth=AUTH, timeout=5).json()
    assert (record["CommunityGroupId"], record["Tags"], record["Private"]) == (
        group_id,
        None,
        False,
    )
    assert (record["Guests"], record["LastMessageDate"]) == ([], None)


# ----- over HTTP ---------------------------------------------------------------------------------


def test_create_sends_the_declared_fields_and_the_marker(
    sandbox: Sandbox, provider: CommunityThreadProvider
) -> None:
    group_id = make_group(sandbox)
    news = thread("welcome", communityGroupId=str(group_id), tags="welcome,rules")
    created = create(provider, provider.check({}, news).inputs)
    record = stored(sandbox, created)
    assert {k: record[k] for k in ("Subject", "Message", "UserId", "CommunityGroupId")} == {
        "Subject": "Welcome",
        "Message": "Read this first.",
        "UserId": 11,
        "CommunityGroupId": group_id,  # a group's id as its resource's output hands it: text
    }
    assert (record["Tags"], record["SystemId"]) == ("welcome,rules", "pulumi:p/t/welcome")
    assert sandbox.posts_by_record["CommunityThread"] == 1


def test_an_edited_message_is_written_in_place_and_undeclared_fields_are_kept(
    sandbox: Sandbox, provider: CommunityThreadProvider
) -> None:
    created = create(provider, thread("rules"))
    sandbox.stores[THREADS].update(int(created.id), {"Guests": [12, 13], "Tags": "pinned"}, "cm")
    refreshed = configure(CommunityThreadProvider(), sandbox_config(sandbox))
    outs = refreshed.read(created.id, created.outs).outs
    assert outs is not None and (outs["guests"], outs["tags"]) == ([12, 13], "pinned")
    news = thread("rules", message="Read this first. Updated: the laser cutter needs a booking.")
    assert refreshed.diff(created.id, outs, news).changes is True
    refreshed.update(created.id, outs, news)
    record = stored(sandbox, created)
    assert str(record["Id"]) == created.id and sandbox.posts_by_record["CommunityThread"] == 1
    assert record["Message"].endswith("needs a booking.")
    assert (record["Guests"], record["Tags"]) == ([12, 13], "pinned")  # never declared: kept


def test_a_thread_lost_in_a_killed_run_is_found_by_its_subject(sandbox: Sandbox) -> None:
    sandbox.fidelity.listing_system_id = False  # the marker must be found by name: subject
    orphan = create(configure(CommunityThreadProvider(), sandbox_config(sandbox)), thread("faq"))
    again = create(configure(CommunityThreadProvider(), sandbox_config(sandbox)), thread("faq"))
    assert again.id == orphan.id and sandbox.posts_by_record["CommunityThread"] == 1


def test_a_missing_group_is_named_with_the_apis_words(provider: CommunityThreadProvider) -> None:
    with pytest.raises(RecordOperationError) as caught:
        provider.create(thread("welcome", communityGroupId=999.0))
    message = str(caught.value)
    assert message.startswith("CommunityThread 'welcome' (subject 'Welcome'): create failed")
    assert "CommunityGroup 999 does not exist" in message


# ----- a thread naming its group in the stack file -----------------------------------------------


def use_maps(monkeypatch: pytest.MonkeyPatch, **maps: Any) -> None:
    """Stack config as the language host hands it over (see test_program.py)."""
    config = {f"nexudus-rooms:{name}": json.dumps(value) for name, value in maps.items()}
    config["nexudus-rooms:businessId"] = "1001"
    pulumi.runtime.set_all_config(config, [])
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))


MAKERS = {"name": "Makers", "userId": 11}


@pulumi.runtime.test  # type: ignore[untyped-decorator]  # the SDK leaves it untyped
def test_group_names_a_group_of_the_stack_by_key(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    welcome = {"subject": "Welcome", "message": "Hello", "userId": 11, "group": "makers"}
    use_maps(monkeypatch, groups={"makers": MAKERS}, threads={"welcome": welcome})
    declared = declare_stack()
    thread_resource = declared.of(KIND)["welcome"]
    assert isinstance(thread_resource, CommunityThread)
    assert isinstance(declared.resources["groups"]["makers"], CommunityGroup)

    def verify(_: Any) -> None:
        welcome = mocks.created["welcome"]
        assert "group" not in welcome
        assert welcome["communityGroupId"] == "id-makers"  # the group's id: declared first
        assert "makers" in mocks.created

    return thread_resource.community_group_id.apply(verify)


@pytest.mark.parametrize(
    ("welcome", "words"),
    [
        (
            {"group": "makrs"},
            "nexudus-rooms:threads.welcome.group names 'makrs', which is not a key of "
            "nexudus-rooms:groups (did you mean 'makers'?)",
        ),
        (
            {"group": "makers", "communityGroupId": 65432101},
            "nexudus-rooms:threads.welcome.group and communityGroupId both say which record",
        ),
        ({"group": ["makers"]}, "names ['makers'], which is not a key of nexudus-rooms:groups"),
    ],
)
def test_a_reference_to_no_key_stops_the_program_naming_it(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch, welcome: dict[str, Any], words: str
) -> None:
    entry = {"subject": "Welcome", "message": "Hello", "userId": 11, **welcome}
    use_maps(monkeypatch, groups={"makers": MAKERS}, threads={"welcome": entry})
    with pytest.raises(pulumi.RunError) as caught:
        declare_stack()
    assert words in str(caught.value)
    assert mocks.created == {}  # nothing declared


# ----- export ------------------------------------------------------------------------------


def test_export_keys_threads_by_subject(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    sandbox.stores[THREADS].insert(
        {"BusinessId": 1001, "UserId": 11, "Subject": "House rules", "Message": "Be kind."}, "ui"
    )
    environ = {
        "NEXUDUS_BASE_URL": sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
    }
    options = ExportOptions(business=1001, kinds=(KIND,))
    report = run_export(tmp_path, "prod", options, environ=environ)
    text = (tmp_path / "stacks" / "Pulumi.prod.yaml").read_text()
    assert "nexudus-rooms:threads:" in text and "house-rules:" in text
    assert "subject: House rules" in text and "message: Be kind." in text
    assert "1 thread(s) of business 1001 written" in report.lines[-1]
    assert Counter(m for m, p, _ in sandbox.requests if p.startswith(THREADS))["POST"] == 0


def test_export_names_a_threads_group_by_its_key(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    group_id = make_group(sandbox)
    rules = {"BusinessId": 1001, "UserId": 11, "Subject": "House rules", "Message": "Be kind."}
    sandbox.stores[THREADS].insert({**rules, "CommunityGroupId": group_id}, "ui")
    elsewhere = sandbox.groups.insert({"BusinessId": 1002, "UserId": 11, "Name": "Other"}, "ui")
    sandbox.stores[THREADS].insert(
        {**rules, "Subject": "Elsewhere", "CommunityGroupId": elsewhere}, "ui"
    )
    environ = {
        "NEXUDUS_BASE_URL": sandbox.url,
        "NEXUDUS_USERNAME": DEMO_USER,
        "NEXUDUS_PASSWORD": DEMO_PASSWORD,
    }
    run_export(tmp_path, "prod", ExportOptions(business=1001), environ=environ)
    config = yaml.safe_load((tmp_path / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    threads = config["nexudus-rooms:threads"]
    assert threads["house-rules"]["group"] == "makers"  # the stack holds the link
    assert "communityGroupId" not in threads["house-rules"]
    # a group the export does not write (another business) stays an id
    assert threads["elsewhere"]["communityGroupId"] == elsewhere
    # `export --force` on that stack keeps each form: the `group:` key (it once added a
    # communityGroupId beside it, which the next preview refused), and the id
    run_export(tmp_path, "prod", ExportOptions(business=1001), environ=environ, force=True)
    config = yaml.safe_load((tmp_path / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    threads = config["nexudus-rooms:threads"]
    assert threads["house-rules"]["group"] == "makers"
    assert "communityGroupId" not in threads["house-rules"]
    assert threads["elsewhere"]["communityGroupId"] == elsewhere


def test_a_clone_says_which_thread_keeps_a_group_id(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    welcome = {"subject": "Welcome", "message": "Hi", "userId": 11, "group": "makers"}
    faq = {"subject": "FAQ", "message": "Ask", "userId": 11, "communityGroupId": 65432101}
    source = {
        "nexudus-rooms:businessId": 1001,
        "nexudus-rooms:groups": {"makers": MAKERS},
        "nexudus-rooms:threads": {"welcome": welcome, "faq": faq},
    }
    path = tmp_path / "stacks" / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": source}))
    project = Project.find(tmp_path)
    options = CloneOptions(source="prod", target="staging", business=1002)
    report = rewrite_config(StackFile.load(path), project, options)
    assert report.warnings == [
        "warning: threads.faq.communityGroupId keeps 65432101, most likely a groups record of "
        "the source's business: name the clone's by its key instead (group: <key of groups>)"
    ]  # welcome names its group by key: the clone's own


def test_the_thread_listing_names_each_by_its_subject(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = {"BusinessId": 1001, "UserId": 11, "Subject": "House rules", "Message": "Be kind."}
    sandbox.stores[THREADS].insert(rules, "ui")
    for name, value in [
        ("BASE_URL", sandbox.url),
        ("USERNAME", DEMO_USER),
        ("PASSWORD", DEMO_PASSWORD),
    ]:
        monkeypatch.setenv(f"NEXUDUS_{name}", value)
    assert cli.main(["threads"]) == 0
    header, row, total, unlisted = capsys.readouterr().out.splitlines()
    assert header.endswith("Subject") and row.endswith("House rules") and "Be kind." in row
    assert total == "1 thread(s)"
    assert unlisted.startswith("(Nexudus's listings leave out guests")
