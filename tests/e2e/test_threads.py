"""CommunityThreads with the real `pulumi` CLI against the sandbox: a group and its welcome
thread, which names the group by its key in the same stack file."""

from __future__ import annotations

import json
from typing import Any

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject

THREAD_TYPE = "pulumi-python:dynamic/nexudus:CommunityThread"
THREADS = "/api/community/communitythreads"

GROUPS: dict[str, Any] = {"makers": {"name": "Makers", "userId": 11, "groupAccess": "public"}}
WELCOME: dict[str, Any] = {
    "subject": "Welcome to the makers",
    "message": "Read this first.\nBook the laser cutter before you use it.",
    "userId": 11,
    "tags": "welcome,rules",
    "group": "makers",
}


def output(project: PulumiProject, name: str) -> Any:
    result = project.ok("stack", "output", name, "--json")
    return json.loads(result.output[result.output.index("{") :])


def test_a_welcome_thread_in_a_group_of_the_stack(project: PulumiProject, sandbox: Sandbox) -> None:
    threads = sandbox.stores[THREADS]
    project.init_stack("dev", business=1001, rooms={})
    project.declare("dev", {}, business=1001, groups=GROUPS, threads={"welcome": WELCOME})

    # preview: the thread's group id is not known until the group exists; nothing is sent
    preview = project.ok("preview")
    assert "+ 4 to create" in preview.output  # group, thread, the stack and its identity
    assert threads.all() == [] and sandbox.groups.all() == []

    up = project.ok("up", "--yes")
    assert "+ 4 created" in up.output
    group_id = int(output(project, "groups")["makers"])
    thread_id = int(output(project, "threads")["welcome"])
    thread = threads.get(thread_id)
    assert thread is not None
    assert (thread["CommunityGroupId"], thread["Subject"], thread["Tags"]) == (
        group_id,
        "Welcome to the makers",
        "welcome,rules",
    )
    assert thread["Message"] == WELCOME["message"]
    assert thread["SystemId"].startswith("pulumi:nexudus-rooms/dev/welcome#")
    resources = project.state()["deployment"]["resources"]
    [state] = [r for r in resources if r["type"] == THREAD_TYPE]
    assert any(urn.endswith("::makers") for urn in state["dependencies"])

    project.ok("refresh", "--yes", "--expect-no-changes")
    project.ok("preview", "--expect-no-changes")

    project.ok("destroy", "--yes")  # the thread first, then the group it depends on
    assert threads.all() == [] and sandbox.groups.all() == []
