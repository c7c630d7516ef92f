"""``dumpflow --help`` stays cheap: what it imports is measured, not timed (no flaky clocks).

The start-up time itself is measured side by side by ``benchmarks/cli_startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dumpflow.cli.main import COMMANDS, app, load_command

# Importing any of these costs 50 ms to seconds; none is needed to print help or the version.
HEAVY = ("boto3", "botocore", "moto", "dbt", "pymysql", "mysql", "rich", "yaml", "pydantic")
HEAVY_OWN = ("dumpflow.local", "dumpflow.loader", "dumpflow.ops", "dumpflow.control")

PROBE = """
import json, sys
from dumpflow.cli.main import app
try:
    app(sys.argv[2:], prog_name="dumpflow")
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def imported_by(tmp_path: Path, *args: str) -> list[str]:
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(listing.read_text()))


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_help_and_version_import_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    modules = imported_by(tmp_path, *args)
    heavy = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY_OWN)]
    assert heavy == []
    assert "dumpflow.cli.main" in modules


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    modules = imported_by(tmp_path, "status", "--help")
    assert "dumpflow.cli.ops_cmds" in modules
    assert not [m for m in modules if m.startswith(("dumpflow.local", "dumpflow.loader", "moto"))]


def test_the_listing_says_what_each_command_says_of_itself() -> None:
    for spec in COMMANDS:
        command = load_command(spec)
        own = command.short_help or (command.help or "").strip().split("\n")[0]
        assert spec.short_help == own, spec.name


def test_help_lists_every_command_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for spec in COMMANDS:
        assert f"  {spec.name} " in result.stdout


def test_version_is_the_installed_distributions() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"dumpflow {version('dumpflow')}"


def test_a_usage_error_is_one_line_with_exit_2() -> None:
    for args in (["status", "--limit", "many"], ["nope"], ["--endpoint-url"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("dumpflow")
