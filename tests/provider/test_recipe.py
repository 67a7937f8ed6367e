"""CONTRIBUTING.md's recipe for a record type, walked: a throwaway type written in one module
(`tests/widget.py`) and registered by one line (`tests/widget_registry.py`) passes the contract
suite, through both front doors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_a_type_added_by_the_recipe_passes_the_contract_suite() -> None:
    suite = ["-p", "no:cacheprovider", "-p", "no:xdist", "-p", "tests.widget_registry"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", *suite, "tests/provider/test_contract.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    test = r"^tests/provider/test_contract\.py::\S+\[(\S+)\] (PASSED|SKIPPED)"
    ran = re.findall(test, done.stdout, re.M)
    print(f"\nthe widget's contract: {len(ran)} tests, {done.stdout.splitlines()[-1]}")
    assert ran and all("widgets" in ids for ids, _ in ran)
    doors = {ids.split("-", 1)[0] for ids, outcome in ran if outcome == "PASSED"}
    assert doors == {"dynamic", "plugin"}
