"""``dumpflow load-dump`` and ``dumpflow validate-dump`` as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.db import Dsn
from loader.support import checksums

runner = CliRunner()


def dsn_url(dsn: Dsn) -> str:
    return f"mysql://{dsn.user}{':' + dsn.password if dsn.password else ''}@{dsn.host}:{dsn.port}"


@pytest.mark.mariadb
def test_load_dump_prints_the_json_report(
    mariadb_dsn: Dsn,
    production_dump: Path,
    source_schema: str,
    schema_factory: Callable[[str], str],
) -> None:
    target = schema_factory("ldcli")

    result = runner.invoke(
        app,
        [
            "load-dump",
            str(production_dump),
            "--schema",
            target,
            "--dsn",
            dsn_url(mariadb_dsn),
            "--require-tables",
            "apartments,tenants",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema"] == target
    assert report["totals"]["rows"] == 11
    assert checksums(mariadb_dsn, target) == checksums(mariadb_dsn, source_schema)


@pytest.mark.mariadb
def test_load_dump_summary_and_failure_exit(
    mariadb_dsn: Dsn, production_dump: Path, schema_factory: Callable[[str], str]
) -> None:
    target = schema_factory("ldcli")

    ok = runner.invoke(
        app, ["load-dump", str(production_dump), "--schema", target, "--tables", "rooms"]
    )
    failed = runner.invoke(
        app,
        ["load-dump", str(production_dump), "--schema", target, "--expected-sha256", "00" * 32],
    )

    assert ok.exit_code == 0, ok.output
    assert "rooms" in ok.stdout and "4 rows" in ok.stdout
    assert failed.exit_code == 1
    # one error line (root also gets the loader's warning about its global privileges)
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "read failed: sha256 mismatch" in errors[0]
    assert list(checksums(mariadb_dsn, target)) == ["rooms"]


def test_validate_dump_counts_and_refusals(production_dump: Path, tmp_path: Path) -> None:
    good = runner.invoke(app, ["validate-dump", str(production_dump), "--json"])
    bad_path = tmp_path / "bad.sql"
    bad_path.write_bytes(production_dump.read_bytes() + b"GRANT ALL ON *.* TO 'x'@'%';\n")
    bad = runner.invoke(app, ["validate-dump", str(bad_path)])

    assert good.exit_code == 0, good.output
    report = json.loads(good.stdout)
    assert report["ok"] is True
    assert report["statement_kinds"]["create_table"] == 4
    assert report["insert_statements_by_table"] == {"apartments": 1, "rooms": 1, "tenants": 1}
    assert {item["kind"] for item in report["skipped"]} == {"view", "trigger", "routine", "event"}
    assert bad.exit_code == 1
    offset = len(production_dump.read_bytes())
    assert f"(byte offset {offset}) GRANT ALL" in bad.stderr


@pytest.mark.mariadb
def test_names_and_errors_are_printed_verbatim(
    mariadb_dsn: Dsn, schema_factory: Callable[[str], str], tmp_path: Path
) -> None:
    """Brackets and :emoji: codes from a dump are text, never rich markup (issue 10)."""
    names = ["[bold]x[/bold]", "a]b[/]", ":x: t", "[link=http://e]y"]
    dump = tmp_path / "odd.sql"
    dump.write_bytes(
        b"".join(
            b"CREATE TABLE `%s` (`id` int);\nINSERT INTO `%s` VALUES (1);\n"
            % (name.encode(), name.encode())
            for name in names
        )
        + b"CREATE VIEW `[/red]v:x:` AS SELECT 1;\n"
    )
    target = schema_factory("ldcli")

    ok = runner.invoke(app, ["load-dump", str(dump), "--schema", target])
    bad_path = tmp_path / "bad[red]:x:.sql"
    bad_path.write_bytes(b"CREATE TABLE `[/]` (a int) ENGINE=[red]x;\n")
    bad = runner.invoke(app, ["load-dump", str(bad_path), "--schema", target])
    shown = runner.invoke(app, ["validate-dump", str(bad_path)])

    assert ok.exit_code == 0, ok.output
    for name in names:
        assert name in ok.stdout
    assert "skipped view [/red]v:x:" in ok.stdout
    assert sorted(checksums(mariadb_dsn, target)) == sorted(names)
    assert bad.exit_code == 1 and "bad[red]:x:.sql" in bad.stderr and "[red]" in bad.stderr
    assert shown.exit_code == 1 and "ENGINE=[red]x" in shown.stderr
