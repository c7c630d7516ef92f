"""``dumpflow validate-dump FILE --against-previous``: the quality gate on a local server for a
file, judged against a published load; nothing is published and no private schema is left."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pymysql
import pytest
from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.db import Dsn
from dumpflow.loader import load_dump
from dumpflow.loader.quality.validate import PRIVATE_PREFIX
from dumpflow.sample import SampleDump, write_sample_dumps
from loader.support import checksums

DAY_1 = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def dumps(mariadb_dsn: Dsn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampleDump]:
    root: Path = tmp_path_factory.mktemp("validate_gate")
    good = write_sample_dumps(root / "good", DAY_1, 2, scale=0.02, dsn=mariadb_dsn)
    stale = write_sample_dumps(
        root / "stale", DAY_1, 2, scale=0.02, dsn=mariadb_dsn, variant="stale"
    )
    return {"day1": good[0], "day2": good[1], "stale": stale[1]}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": "160"}).invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def url(dsn: Dsn) -> str:
    return f"mysql://{dsn.user}@{dsn.host}:{dsn.port}"


def private_schemas(dsn: Dsn) -> list[str]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
                (PRIVATE_PREFIX + "%",),
            )
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.mariadb
def test_validate_against_previous_passes_a_good_dump_and_fails_a_stale_one(
    dumps: dict[str, SampleDump], mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> None:
    published = schema_factory("vgate")
    load_dump(str(dumps["day1"].path), published, mariadb_dsn)
    before = checksums(mariadb_dsn, published)
    leftovers = set(private_schemas(mariadb_dsn))

    code, out, err = run(
        "validate-dump",
        str(dumps["day2"].path),
        "--against-previous",
        "--schema",
        published,
        "--dsn",
        url(mariadb_dsn),
    )
    assert code == 0, out + err
    assert "check" in out and "verdict" in out and "freshness" in out
    assert f"verdict pass against {published}" in out

    code, out, err = run(
        "validate-dump",
        str(dumps["stale"].path),
        "--against-previous",
        "--schema",
        published,
        "--dsn",
        url(mariadb_dsn),
        "--json",
    )
    assert code == 1
    document = json.loads(out)
    assert document["verdict"] == "fail" and "stale content (rooms)" in document["summary"]
    assert document["previous_schema"] == published
    # the manifest beside the file was read and agrees with the data
    agreement = [c for c in document["checks"] if c["check"] == "manifest_agreement"]
    assert agreement and all(c["verdict"] == "pass" for c in agreement)

    assert checksums(mariadb_dsn, published) == before
    assert set(private_schemas(mariadb_dsn)) == leftovers


@pytest.mark.mariadb
def test_validate_with_a_server_but_no_previous_judges_the_content_alone(
    dumps: dict[str, SampleDump], mariadb_dsn: Dsn
) -> None:
    code, out, _ = run("validate-dump", str(dumps["stale"].path), "--dsn", url(mariadb_dsn))
    assert code == 1 and "stale content" in out and "no previous load" in out


@pytest.mark.mariadb
def test_validate_gate_input_errors_exit_2(
    dumps: dict[str, SampleDump], mariadb_dsn: Dsn, tmp_path: Path
) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("{nope")
    path = str(dumps["day2"].path)
    for extra, cause in (
        (["--manifest", str(bad)], "cannot read the manifest"),
        (["--date", "25/11/2026"], "is not YYYY-MM-DD"),
        (["--schema", "x`; DROP", "--against-previous"], "is not a name"),
    ):
        code, _, err = run("validate-dump", path, "--dsn", url(mariadb_dsn), *extra)
        assert code == 2 and cause in err, (extra, err)
