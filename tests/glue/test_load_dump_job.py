"""The Glue entry script, run as Glue runs it: job arguments, Aurora secret, S3 report."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dumpflow.db import Dsn
from dumpflow.loader import LoadError
from loader.accounts import restricted_user
from loader.support import PRODUCTION_OPTIONS, build_source, checksums, mariadb_dump

SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "load_dump_job.py"
BUCKET = "gghouse-dumps"
KEY = "dumps/gghouse_20261125.sql"


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
        "--required_tables",
        "apartments,rooms,tenants",
        "--job-bookmark-option",
        "job-bookmark-disable",
    ]
    for name, value in extra.items():
        argv += [f"--{name}", value]
    return argv


@pytest.mark.mariadb
def test_job_loads_with_the_aurora_secret_and_writes_its_report(
    aws: dict[str, Any],
    dump: tuple[str, bytes],
    mariadb_dsn: Dsn,
    schema_factory: Callable[[str], str],
) -> None:
    source, body = dump
    aws["s3"].put_object(Bucket=BUCKET, Key=KEY, Body=body)
    target = schema_factory("gluetgt")
    with restricted_user(mariadb_dsn, target) as account:
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
                target,
                secret_arn=secret["ARN"],
                expected_sha256=hashlib.sha256(body).hexdigest(),
                db_tls="preferred",  # the local MariaDB has no certificate; Aurora verifies
            )
        )

    stored = json.loads(
        aws["s3"].get_object(Bucket=BUCKET, Key="reports/load/2026-11-25.json")["Body"].read()
    )
    assert stored == result
    assert stored["status"] == "SUCCEEDED"
    assert stored["glue_run_id"] == "jr_0123"
    assert stored["totals"]["rows"] == 11
    assert checksums(mariadb_dsn, target) == checksums(mariadb_dsn, source)
    assert stored["warnings"] == []


@pytest.mark.mariadb
def test_job_refuses_an_aurora_account_with_global_privileges(
    aws: dict[str, Any],
    dump: tuple[str, bytes],
    mariadb_dsn: Dsn,
    schema_factory: Callable[[str], str],
) -> None:
    _, body = dump
    aws["s3"].put_object(Bucket=BUCKET, Key=KEY, Body=body)
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
    target = schema_factory("gluetgt")

    with pytest.raises(LoadError) as raised:
        load_script().main(job_args(target, secret_arn=secret["ARN"], db_tls="preferred"))

    assert raised.value.stage == "setup"
    assert "ON *.*" in raised.value.cause and "docs/deploy.md" in raised.value.cause
    assert checksums(mariadb_dsn, target) == {}
    assert checksums(mariadb_dsn, target + "__shadow") == {}


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
