"""What the package installs with, and how the pipelines install it: dependency floors that the
hardening needs, a lock file with hashes that CI and `make venv` install from."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def dependencies() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {Requirement(d).name.lower(): Requirement(d) for d in project["dependencies"]}


@pytest.mark.parametrize(
    ("name", "too_old", "first_fixed"),
    [
        # urllib3 2.5 decodes a 590-byte double-gzip answer past the 30 s timeout
        ("urllib3", "2.5.0", "2.6.0"),
        # CVE-2024-47081: requests before 2.32.4 leaks .netrc credentials to another host
        ("requests", "2.32.3", "2.32.4"),
    ],
)
def test_the_dependency_floors_refuse_the_versions_the_hardening_cannot_rely_on(
    name: str, too_old: str, first_fixed: str
) -> None:
    requirement = dependencies().get(name)
    assert requirement is not None, f"pyproject.toml does not constrain {name}"
    assert not requirement.specifier.contains(too_old), requirement
    assert requirement.specifier.contains(first_fixed), requirement
