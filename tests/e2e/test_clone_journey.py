"""`nexudus-pulumi clone` as docs/guides/clone-an-environment.md tells it, when the first try goes
wrong: a wrong passphrase, then the right one. The failed try must leave nothing behind (no stack,
no file) and the stack that was selected still selected, so the retry is the same command."""

from __future__ import annotations

from nexudus_pulumi.sandbox import DEMO_PASSWORD
from tests.e2e.harness import PulumiProject, Result, run_cli


def clone(project: PulumiProject, passphrase: str) -> Result:
    """`nexudus-pulumi clone --from prod --to x2 --business 1002`, with `pulumi` on PATH as the
    docs guides set it up, and the given passphrase."""
    env = {**project.env, "PULUMI_CONFIG_PASSPHRASE": passphrase}
    return run_cli(project, "clone", "--from", "prod", "--to", "x2", "--business", "1002", env=env)


def selected(project: PulumiProject) -> str:
    return project.ok("stack", "--show-name", stack=None).output.strip()


def stacks(project: PulumiProject) -> set[str]:
    listing = project.ok("stack", "ls", stack=None).output.splitlines()[1:]
    return {line.split()[0].rstrip("*") for line in listing if line.strip()}


def test_a_clone_with_the_wrong_passphrase_leaves_nothing_and_the_retry_works(
    project: PulumiProject,
) -> None:
    project.init_stack("prod", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("stack", "select", "prod", stack=None)

    failed = clone(project, "not-the-passphrase")
    assert not failed.ok
    assert "incorrect passphrase" in failed.output, failed.output
    # what to change, and that the failed try was undone, rather than Pulumi's half-sentence
    assert "Created stack 'x2' error" not in failed.output, failed.output
    assert (
        "PULUMI_CONFIG_PASSPHRASE does not open the secrets of prod: set prod's passphrase"
        in failed.output
    ), failed.output
    assert "cleaned up: the stack x2 that `pulumi stack init` made is removed" in failed.output
    assert "x2" not in stacks(project)
    assert not project.stack_file("x2").exists()
    assert selected(project) == "prod"

    retried = clone(project, project.env["PULUMI_CONFIG_PASSPHRASE"])
    assert retried.ok, retried.output
    assert "x2 cloned from prod" in retried.output
    assert project.stack_file("x2").exists()
    assert project.ok("config", "get", "nexudus:password", stack="x2").output.strip() == (
        DEMO_PASSWORD
    )


def test_a_target_in_the_backend_without_a_file_is_refused_and_kept(
    project: PulumiProject,
) -> None:
    """A stack whose file was never committed (made on another machine) is not the clone's to
    make, nor to remove when the clone fails."""
    project.init_stack("prod", business=1001, rooms={"lobby": {"name": "Lobby"}})
    project.ok("stack", "init", "x2", stack=None)
    project.stack_file("x2").unlink()
    project.ok("stack", "select", "prod", stack=None)

    refused = clone(project, project.env["PULUMI_CONFIG_PASSPHRASE"])
    assert not refused.ok
    assert "the stack x2 already exists" in refused.output, refused.output
    assert "x2" in stacks(project) and selected(project) == "prod"
