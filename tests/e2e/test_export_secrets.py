"""`nexudus-pulumi export` writes a thread's `zoomEventData` (a meeting's details, a passcode
maybe) only encrypted, by the stack's own secrets provider: the file never holds it in
plaintext, and Pulumi reads it back."""

from __future__ import annotations

import json

import yaml

from nexudus_pulumi.sandbox import Sandbox
from tests.e2e.harness import PulumiProject, cli

THREADS = "/api/community/communitythreads"
ZOOM = json.dumps({"id": 81234567890, "passcode": "583920", "join_url": "https://zoom.us/j/1"})


def test_export_writes_a_threads_zoom_event_data_as_a_secret(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    group = sandbox.groups.insert({"BusinessId": 1001, "Name": "Makers", "UserId": 12}, "ui")
    sandbox.stores[THREADS].insert(
        {
            "BusinessId": 1001,
            "CommunityGroupId": group,
            "Subject": "Monthly call",
            "Message": "Join us",
            "UserId": 11,
            "IncludeZoomInvite": True,
            "ZoomEventData": ZOOM,
        },
        "ui",
    )
    project.init_stack("dev", business=1001, rooms={})

    exported = cli(project, "export", "--business", "1001", "--stack", "dev", "--force")

    text = project.stack_file("dev").read_text()
    assert "583920" not in text and "583920" not in exported.output
    [(key, thread)] = yaml.safe_load(text)["config"]["nexudus-rooms:threads"].items()
    assert set(thread["zoomEventData"]) == {"secure"}
    assert thread["zoomEventData"]["secure"].startswith("v1:")
    read_back = project.ok("config", "get", "--path", f"nexudus-rooms:threads.{key}.zoomEventData")
    assert json.loads(read_back.output.strip()) == json.loads(ZOOM)
