"""docs/library.md's example program, as a user's own Pulumi project runs it with the real CLI:
every output it exports has a value after its first `up`."""

from __future__ import annotations

import json
import re

from nexudus_pulumi.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox
from tests.e2e.harness import REPO, PulumiProject

USER_PROJECT = """\
name: my-infra
runtime:
  name: python
  options:
    virtualenv: .venv
"""


def library_example() -> str:
    page = (REPO / "docs" / "library.md").read_text()
    found = re.search(r"```python\n(.*?)```", page, re.DOTALL)
    assert found is not None, "docs/library.md shows no program"
    return found.group(1)


def test_the_library_pages_program_exports_a_value_for_each_output_after_its_first_up(
    project: PulumiProject, sandbox: Sandbox
) -> None:
    program = library_example()
    exported = re.findall(r'pulumi\.export\("([^"]+)"', program)
    assert exported, program
    (project.root / "Pulumi.yaml").write_text(USER_PROJECT)
    (project.root / "__main__.py").write_text(program)
    project.ok("stack", "init", "dev", stack=None)
    for key, value in [("baseUrl", sandbox.url), ("username", DEMO_USER)]:
        project.ok("config", "set", f"nexudus:{key}", value)
    project.ok("config", "set", "--secret", "nexudus:password", DEMO_PASSWORD)
    project.ok("up", "--yes")
    listed = project.ok("stack", "output", "--json").output
    outputs = json.loads(listed[listed.index("{") :])
    assert {name: outputs.get(name) is not None for name in exported} == dict.fromkeys(
        exported, True
    ), outputs
