"""The Glue entry script, run as Glue runs it: job arguments, Aurora secret, S3 report."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pymysql
import pytest
from moto import mock_aws

from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
from dumpflow.sample import SampleDump, write_sample_dumps
from loader.accounts import restricted_user
from loader.support import PRODUCTION_OPTIONS, build_source, checksums, mariadb_dump

SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "load_dump_job.py"
BUCKET = "gghouse-dumps"
KEY = "dumps/gghouse_20261125.sql"
DAY_BEFORE = dt.date(2026, 11, 24)
REQUIRED_TABLES = "movings,tenants,apartments,rooms,inquiries"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_dump_job_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        yield {"s3": s3, "secrets": boto3.client("secretsmanager")}


@pytest.fixture()
def dump(mariadb_dsn: Dsn, schema_factory: Callable[[str], str]) -> tuple[str, bytes]:
    source = schema_factory("gluesrc")
    build_source(mariadb_dsn, source)
    return source, mariadb_dump(mariadb_dsn, source, *PRODUCTION_OPTIONS)


def job_args(target: str, **extra: str) -> list[str]:
    extra.setdefault("required_tables", "apartments,rooms,tenants")
    argv = [
        "--JOB_NAME",
        "dumpflow-load-dump",
        "--JOB_RUN_ID",
        "jr_0123",
        "--dump_bucket",
        BUCKET,
        "--dump_key",
        KEY,
        "--dump_date",
        "2026-11-25",
        "--target_schema",
        target,
        "--job-bookmark-option",
        "job-bookmark-disable",
    ]
    for name, value in extra.items():
        argv += [f"--{name}", value]
    return argv


@pytest.fixture(scope="module")
def samples(mariadb_dsn: Dsn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampleDump]:
    """Real sample dumps for 2026-11-24/25: a good pair, and a stale copy for the 25th."""
    root = tmp_path_factory.mktemp("glue_samples")
    good = write_sample_dumps(root / "good", DAY_BEFORE, 2, scale=0.02, dsn=mariadb_dsn)
    stale = write_sample_dumps(
        root / "stale", DAY_BEFORE, 2, scale=0.02, dsn=mariadb_dsn, variant="stale"
    )
    return {"before": good[0], "good": good[1], "stale": stale[1]}


def upload(s3: Any, dump: SampleDump, *, manifest: bytes | None = None) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=dump.path.read_bytes())
    s3.put_object(
        Bucket=BUCKET,
        Key="dumps-manifest/gghouse_20261125.json",
        Body=manifest if manifest is not None else dump.manifest_path.read_bytes(),
    )


def stored_report(s3: Any) -> dict[str, Any]:
    body = s3.get_object(Bucket=BUCKET, Key="reports/load/2026-11-25.json")["Body"].read()
    result: dict[str, Any] = json.loads(body)
    return result


@pytest.fixture()
def published(
    mariadb_dsn: Dsn,
    schema_factory: Callable[[str], str],
    samples: dict[str, SampleDump],
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A target holding the 24th's load (what the 25th is judged against)."""
    monkeypatch.setenv(
        "DUMPFLOW_DSN", f"mysql://{mariadb_dsn.user}@{mariadb_dsn.host}:{mariadb_dsn.port}"
    )
    target = schema_factory("gluetgt")
    load_dump(str(samples["before"].path), target, mariadb_dsn)
    return target


@pytest.mark.mariadb
def test_job_loads_with_the_aurora_secret_and_writes_its_report(
    aws: dict[str, Any],
    samples: dict[str, SampleDump],
    mariadb_dsn: Dsn,
    published: str,
) -> None:
    dump = samples["good"]
    upload(aws["s3"], dump)
    body = dump.path.read_bytes()
    with restricted_user(mariadb_dsn, published) as account:
        secret = aws["secrets"].create_secret(
            Name="aurora",
            SecretString=json.dumps(
                {
                    "host": account.host,
                    "port": account.port,
                    "username": account.user,
                    "password": account.password,
                }
            ),
        )
        result = load_script().main(
            job_args(
                published,
                required_tables=REQUIRED_TABLES,
                secret_arn=secret["ARN"],
                expected_sha256=hashlib.sha256(body).hexdigest(),
                db_tls="preferred",  # the local MariaDB has no certificate; Aurora verifies
            )
        )

    stored = stored_report(aws["s3"])
    assert stored == result
    assert stored["status"] == "SUCCEEDED"
    assert stored["glue_run_id"] == "jr_0123"
    quality = stored["quality"]
    assert quality["passed"] and quality["previous_schema"] == published
    # the manifest was read: each table's agreement with it was judged and passed
    agreed = {c["table"] for c in quality["checks"] if c["check"] == "manifest_agreement"}
    assert agreed == set(dump.manifest["max_updated_at_by_table"])
    assert stored["totals"]["rows"] == sum(
        count for count in table_rows(mariadb_dsn, published).values()
    )
    assert stored["warnings"] == []


@pytest.mark.mariadb
def test_job_refuses_an_aurora_account_with_global_privileges(
    aws: dict[str, Any], samples: dict[str, SampleDump], mariadb_dsn: Dsn, published: str
) -> None:
    upload(aws["s3"], samples["good"])
    before = checksums(mariadb_dsn, published)
    secret = aws["secrets"].create_secret(
        Name="aurora-root",
        SecretString=json.dumps(
            {
                "host": mariadb_dsn.host,
                "port": mariadb_dsn.port,
                "username": mariadb_dsn.user,  # the server's root: ALL ON *.*
                "password": mariadb_dsn.password,
            }
        ),
    )

    with pytest.raises(LoadError) as raised:
        load_script().main(
            job_args(
                published,
                required_tables=REQUIRED_TABLES,
                secret_arn=secret["ARN"],
                db_tls="preferred",
            )
        )

    assert raised.value.stage == "setup"
    assert "ON *.*" in raised.value.cause and "docs/deploy.md" in raised.value.cause
    assert checksums(mariadb_dsn, published) == before
    assert checksums(mariadb_dsn, published + "__shadow") == {}


def table_rows(dsn: Dsn, schema: str) -> dict[str, int]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                (schema,),
            )
            names = [row[0] for row in cur.fetchall()]
            counts = {}
            for name in names:
                cur.execute(f"SELECT COUNT(*) FROM `{schema}`.`{name}`")
                counts[name] = int(cur.fetchone()[0])
    finally:
        conn.close()
    return counts


@pytest.mark.mariadb
def test_a_stale_dump_is_rejected_with_stage_quality_and_the_target_untouched(
    aws: dict[str, Any], samples: dict[str, SampleDump], mariadb_dsn: Dsn, published: str
) -> None:
    upload(aws["s3"], samples["stale"])
    before = checksums(mariadb_dsn, published)

    with pytest.raises(LoadError) as raised:
        load_script().main(job_args(published, required_tables=REQUIRED_TABLES))

    assert raised.value.stage == "quality"
    assert "stale content (rooms)" in str(raised.value)
    stored = stored_report(aws["s3"])
    assert stored["status"] == "REJECTED" and stored["glue_run_id"] == "jr_0123"
    assert stored["error"]["stage"] == "quality"
    assert "stale content (rooms)" in stored["error"]["summary"]
    failed = {c["table"] for c in stored["quality"]["checks"] if c["verdict"] == "fail"}
    assert failed == set(REQUIRED_TABLES.split(","))
    assert checksums(mariadb_dsn, published) == before


@pytest.mark.mariadb
def test_accept_quality_publishes_the_stale_dump_and_names_the_operator(
    aws: dict[str, Any], samples: dict[str, SampleDump], mariadb_dsn: Dsn, published: str
) -> None:
    upload(aws["s3"], samples["stale"])

    result = load_script().main(
        job_args(published, required_tables=REQUIRED_TABLES, accept_quality="ops-sato at T")
    )

    assert result["status"] == "SUCCEEDED"
    assert result["quality"]["verdict"] == "fail"
    assert result["quality"]["accepted_by"] == "ops-sato at T"
    # published: the load it replaced was moved aside (the stale copy has the same rows)
    assert set(result["replaced_tables"]) >= set(REQUIRED_TABLES.split(","))


@pytest.mark.mariadb
def test_a_backfill_is_not_judged_against_the_published_load(
    aws: dict[str, Any], samples: dict[str, SampleDump], published: str
) -> None:
    upload(aws["s3"], samples["good"])
    result = load_script().main(
        job_args(published, required_tables=REQUIRED_TABLES, backfill="true")
    )
    quality = result["quality"]
    assert quality["passed"] and quality["previous_schema"] is None


@pytest.mark.mariadb
@pytest.mark.parametrize(
    ("manifest", "extra", "cause"),
    [
        (b"{not json", {}, "is not JSON"),
        (None, {"backfill": "maybe"}, "--backfill must be true or false"),
        (None, {"quality_config": "/nonexistent/quality_gate.yml"}, "cannot read it"),
    ],
)
def test_bad_gate_inputs_fail_at_setup_before_anything_runs(
    aws: dict[str, Any],
    samples: dict[str, SampleDump],
    mariadb_dsn: Dsn,
    published: str,
    manifest: bytes | None,
    extra: dict[str, str],
    cause: str,
) -> None:
    upload(aws["s3"], samples["good"], manifest=manifest)
    before = checksums(mariadb_dsn, published)
    with pytest.raises(LoadError) as raised:
        load_script().main(job_args(published, required_tables=REQUIRED_TABLES, **extra))
    assert raised.value.stage == "setup" and cause in raised.value.cause
    assert stored_report(aws["s3"])["status"] == "FAILED"
    assert checksums(mariadb_dsn, published) == before


@pytest.mark.mariadb
def test_failed_load_writes_a_failed_report_and_fails_the_run(
    aws: dict[str, Any],
    dump: tuple[str, bytes],
    mariadb_dsn: Dsn,
    schema_factory: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, body = dump
    aws["s3"].put_object(Bucket=BUCKET, Key=KEY, Body=body[: len(body) // 2])
    monkeypatch.setenv(
        "DUMPFLOW_DSN", f"mysql://{mariadb_dsn.user}@{mariadb_dsn.host}:{mariadb_dsn.port}"
    )
    target = schema_factory("gluetgt")

    with pytest.raises(LoadError):
        load_script().main(job_args(target, report_bucket=BUCKET))

    stored = json.loads(
        aws["s3"].get_object(Bucket=BUCKET, Key="reports/load/2026-11-25.json")["Body"].read()
    )
    assert stored["status"] == "FAILED"
    assert stored["error"]["dump"] == KEY
    assert stored["error"]["stage"] in ("parse", "verify")
    assert checksums(mariadb_dsn, target) == {}


def test_missing_job_arguments_are_named() -> None:
    with pytest.raises(SystemExit, match="--dump_key, --dump_date"):
        load_script().parse_args(["--dump_bucket", BUCKET, "--target_schema", "staging"])


def test_unreadable_secret_fails_at_setup_with_a_report(aws: dict[str, Any]) -> None:
    missing = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dumpflow-aurora-nope"

    with pytest.raises(LoadError) as raised:
        load_script().main(job_args("staging_never_touched", secret_arn=missing))

    assert raised.value.stage == "setup"
    assert KEY in str(raised.value) and "secret" in raised.value.cause
    stored = json.loads(
        aws["s3"].get_object(Bucket=BUCKET, Key="reports/load/2026-11-25.json")["Body"].read()
    )
    assert stored["status"] == "FAILED"
    assert stored["error"]["stage"] == "setup"
    assert stored["error"]["dump"] == KEY


def test_secret_without_credentials_is_named(aws: dict[str, Any]) -> None:
    secret = aws["secrets"].create_secret(
        Name="dumpflow-aurora-partial", SecretString=json.dumps({"host": "db.internal"})
    )

    with pytest.raises(LoadError, match="username"):
        load_script().main(job_args("staging_never_touched", secret_arn=secret["ARN"]))


def test_the_aurora_connection_verifies_tls_unless_told_otherwise(aws: dict[str, Any]) -> None:
    secret = aws["secrets"].create_secret(
        Name="aurora-tls",
        SecretString=json.dumps(
            {"host": "db.example", "port": 3306, "username": "u", "password": "p"}
        ),
    )
    script = load_script()
    assert script.dsn_from_secret(secret["ARN"]).tls.value == "verify-identity"
    with pytest.raises(script.LoadError, match="--db_tls='maybe'"):
        script.main(job_args("staging_never_touched", secret_arn=secret["ARN"], db_tls="maybe"))


@pytest.mark.mariadb
def test_only_an_explicit_warn_lets_a_root_secret_load_and_the_report_says_so(
    aws: dict[str, Any], samples: dict[str, SampleDump], mariadb_dsn: Dsn, published: str
) -> None:
    """``--db_account_check warn``: the operator's explicit escape hatch for a root secret."""
    upload(aws["s3"], samples["good"])
    secret = aws["secrets"].create_secret(
        Name="aurora-local-root",
        SecretString=json.dumps(
            {
                "host": mariadb_dsn.host,
                "port": mariadb_dsn.port,
                "username": mariadb_dsn.user,
                "password": mariadb_dsn.password,
            }
        ),
    )
    common = {
        "required_tables": REQUIRED_TABLES,
        "secret_arn": secret["ARN"],
        "db_tls": "preferred",
    }

    with pytest.raises(LoadError) as raised:
        load_script().main(job_args(published, **common, db_account_check="never"))
    assert raised.value.stage == "setup" and "--db_account_check" in raised.value.cause

    result = load_script().main(job_args(published, **common, db_account_check="warn"))

    assert result["status"] == "SUCCEEDED"
    assert any("ON *.*" in warning for warning in result["warnings"])


@pytest.mark.mariadb
def test_the_job_loads_the_version_the_event_named_not_a_later_re_upload(
    aws: dict[str, Any], samples: dict[str, SampleDump], mariadb_dsn: Dsn, published: str
) -> None:
    aws["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    upload(aws["s3"], samples["good"])
    announced = aws["s3"].head_object(Bucket=BUCKET, Key=KEY)["VersionId"]
    aws["s3"].put_object(Bucket=BUCKET, Key=KEY, Body=samples["stale"].path.read_bytes())

    result = load_script().main(
        job_args(published, required_tables=REQUIRED_TABLES, dump_version_id=announced)
    )

    assert result["status"] == "SUCCEEDED"
    assert result["sha256"] == hashlib.sha256(samples["good"].path.read_bytes()).hexdigest()
