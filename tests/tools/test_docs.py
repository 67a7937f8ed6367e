"""The documentation a user navigates: generated tables that match the code, one template for
every record type's page, a short README, and links that lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nexudus_pulumi import cli, docgen
from nexudus_pulumi.kinds import KINDS
from nexudus_pulumi.recordkind import RecordKind

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    return [
        REPO / "README.md",
        REPO / "CONTRIBUTING.md",
        REPO / "bench" / "README.md",
        *sorted((REPO / "docs").rglob("*.md")),
    ]


def test_every_generated_page_matches_the_code() -> None:
    """A model's field, type, default or docstring changed without `make docs` fails here."""
    stale = docgen.stale(docgen.pages().items())
    assert stale == [], f"out of date, run `make docs`: {[str(p) for p in stale]}"


def test_a_page_that_disagrees_with_its_model_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    kind = KINDS[0]
    field = kind.model.model_fields["business_id"]  # every record type has one
    monkeypatch.setattr(field, "description", "a description the page does not hold")
    assert docgen.page_path(kind) in docgen.stale(docgen.pages().items())


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.map_name)
def test_every_record_type_has_a_page_with_the_templates_headings(kind: RecordKind[Any]) -> None:
    page = docgen.page_path(kind)
    assert page.exists(), f"{kind.spec.record_name} has no page: run `make docs`"
    assert docgen.headings(page.read_text()) == list(docgen.HEADINGS)
    assert docgen.headings(docgen.TEMPLATE) == list(docgen.HEADINGS)


def test_the_readme_fits_a_newcomer() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    first_screen = "\n".join(readme.splitlines()[:40])
    assert "make demo" in first_screen and "make test" in first_screen


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.relative_to(REPO)}: {target} leads nowhere"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.relative_to(REPO)}: no heading #{anchor}"


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to `-`."""
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("#") and not line.startswith("#!"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return found


def test_the_readmes_command_table_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    usage = capsys.readouterr().out
    commands = re.search(r"\{([a-z,]+)\}", usage)
    assert commands is not None
    table = (REPO / "README.md").read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in commands.group(1).split(",") if f"`nexudus-pulumi {c}" not in table]
    assert missing == [], f"README's command table lacks {missing}"


def test_the_adopt_guide_names_every_map_export_writes() -> None:
    """`export` writes every kind of the registry; the guide's first paragraph says which."""
    guide = (REPO / "docs" / "guides" / "adopt-an-account.md").read_text()
    opening = guide.split("\n\n", 2)[1]
    assert [k.map_name for k in KINDS if f"`{k.map_name}`" not in opening] == []
