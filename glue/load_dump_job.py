"""Glue job (`glueetl`, Glue 5.0) entry script: load one dump into Aurora with the loader.

Job arguments (docs/ARCHITECTURE.md): ``--dump_bucket``, ``--dump_key``, ``--dump_date``,
``--target_schema``, optional ``--expected_sha256``, and the job defaults ``--secret_arn``,
``--required_tables``, ``--report_bucket``, ``--db_tls`` (``verify-identity`` unless set:
Aurora over TLS, certificate checked against the pinned RDS CA bundle). The report goes to
``reports/load/<YYYY-MM-DD>.json`` in the report bucket (the dump bucket when unset), also
when the load fails, so ``dumpflow status`` can show why.

The quality gate (docs/QUALITY_GATE.md) judges the loaded shadow before the publish, with the
manifest's ``max_updated_at_by_table`` (``dumps-manifest/gghouse_YYYYMMDD.json`` in the dump
bucket). A failed gate writes ``status: REJECTED`` with ``error.stage = "quality"`` and fails
the run; ``--accept_quality OPERATOR`` (set by ``dumpflow replay --accept-quality`` for one
attempt) publishes anyway and names the operator in the report. ``--backfill true``: the
published schema is not this dump's predecessor, so progress and drift are not judged.
``--quality_config PATH`` reads another gate settings file (local runs and tests).

``--dump_version_id`` (set by the control plane from the S3 event): the load reads exactly
that object version, the one the archive step copies to ``processed/``.

Runs outside Glue too: ``awsglue`` is optional, argv is read as ``--name value`` pairs, and
without ``--secret_arn`` the database comes from ``$DUMPFLOW_DSN``.

With the Aurora secret (production), an account holding server-wide privileges (FILE,
SUPER, anything on ``*.*`` or ``mysql.*``) refuses the load at setup: the database's own
wall must stand behind the loader's policy (docs/deploy.md). Grants on other schemas, and
locally (``$DUMPFLOW_DSN``) everything, are a loud warning in the log and the report.
``--db_account_check warn`` turns the refusal into that warning: an operator's explicit
escape hatch for a one-off run (``aws glue start-job-run --arguments``); neither the template
nor the local Glue service sets it (the demo's secret names a restricted demo account,
``dumpflow.local.demo_account``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from dumpflow.db import Dsn, DsnError, TlsMode
from dumpflow.dumps import manifest_key_for
from dumpflow.loader import LoadError, load_dump
from dumpflow.loader.quality import (
    QualityConfigError,
    QualityOptions,
    QualityRejected,
    QualityStep,
    load_config,
)

log = logging.getLogger("dumpflow.glue")

REQUIRED_ARGS = ("dump_bucket", "dump_key", "dump_date", "target_schema")
DEFAULT_REQUIRED_TABLES = "movings,tenants,rooms,inquiries,apartments"
REPORT_PREFIX = "reports/load/"


def parse_args(argv: list[str]) -> dict[str, str]:
    """``--name value`` pairs (Glue's own extra arguments are kept and ignored)."""
    try:
        from awsglue.utils import getResolvedOptions as resolve_options
    except ImportError:
        resolve_options = None
    args: dict[str, str] = {}
    pos = 0
    while pos < len(argv):
        token = argv[pos]
        if token.startswith("--"):
            name, eq, value = token[2:].partition("=")
            if not eq:
                following = argv[pos + 1] if pos + 1 < len(argv) else ""
                value = "" if following.startswith("--") else following
                pos += 0 if following.startswith("--") else 1
            args[name] = value
        pos += 1
    if resolve_options is not None:
        args.update(resolve_options(["job", *argv], list(REQUIRED_ARGS)))
    missing = [name for name in REQUIRED_ARGS if not args.get(name)]
    if missing:
        raise SystemExit("missing job arguments: " + ", ".join("--" + m for m in missing))
    try:
        dt.date.fromisoformat(args["dump_date"])
    except ValueError as exc:
        raise SystemExit(f"--dump_date must be YYYY-MM-DD, got {args['dump_date']!r}") from exc
    return args


def dsn_from_secret(
    secret_arn: str, client: Any | None = None, tls: TlsMode = TlsMode.VERIFY_IDENTITY
) -> Dsn:
    """The Aurora secret (JSON with host, port, username, password) as a DSN, over TLS
    verified against the pinned RDS CA bundle (``--db_tls``; docs/ARCHITECTURE.md).

    Raises ValueError naming the secret and what is wrong with it.
    """
    secrets = client or boto3.client("secretsmanager")
    try:
        raw = secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as exc:
        raise ValueError(f"cannot read the database secret {secret_arn}: {exc}") from exc
    try:
        secret = json.loads(raw)
        return Dsn(
            host=str(secret["host"]),
            port=int(secret.get("port", 3306)),
            user=str(secret["username"]),
            password=str(secret["password"]),
            tls=tls,
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(
            f"the database secret {secret_arn} is not JSON with host, port, username and "
            f"password ({type(exc).__name__}: {exc})"
        ) from exc


def report_key(dump_date: str) -> str:
    return f"{REPORT_PREFIX}{dump_date}.json"


def manifest_max_updated_at(s3: Any, args: dict[str, str]) -> object:
    """The manifest's ``max_updated_at_by_table`` as written (the gate judges it); None when
    there is no manifest or it has no such field (the gate then warns).

    Raises LoadError (stage ``setup``) when the manifest exists but cannot be read as JSON.
    """
    key = manifest_key_for(dt.date.fromisoformat(args["dump_date"]))
    try:
        raw = s3.get_object(Bucket=args["dump_bucket"], Key=key)["Body"].read()
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in ("NoSuchKey", "404"):
            raise LoadError(
                args["dump_key"], "setup", f"cannot read the manifest {key}: {exc}"
            ) from exc
        log.warning("%s: no manifest %s: the gate judges without it", args["dump_key"], key)
        return None
    except Exception as exc:
        raise LoadError(
            args["dump_key"], "setup", f"cannot read the manifest {key}: {exc}"
        ) from exc
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise LoadError(
            args["dump_key"], "setup", f"the manifest {key} is not JSON: {exc}"
        ) from exc
    return manifest.get("max_updated_at_by_table") if isinstance(manifest, dict) else None


def quality_step(s3: Any, args: dict[str, str]) -> QualityStep:
    """The gate for this run, from the job arguments and the manifest."""
    backfill = args.get("backfill", "").strip().lower()
    if backfill not in ("", "true", "false"):
        raise LoadError(
            args["dump_key"], "setup", f"--backfill must be true or false: {backfill!r}"
        )
    try:
        config = load_config(Path(args["quality_config"])) if args.get("quality_config") else None
    except QualityConfigError as exc:
        raise LoadError(args["dump_key"], "setup", str(exc)) from exc
    return QualityStep(
        QualityOptions(
            dump_date=dt.date.fromisoformat(args["dump_date"]),
            manifest_max_updated_at=manifest_max_updated_at(s3, args),
            compare_previous=backfill != "true",
            accepted_by=args.get("accept_quality", "").strip() or None,
            config=config,
        )
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the job; returns the report written. Raises LoadError (the Glue run fails)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    secret_arn = args.get("secret_arn", "")
    account_check = args.get("db_account_check", "refuse")
    raw_required = args.get("required_tables", DEFAULT_REQUIRED_TABLES)
    required = [name.strip() for name in raw_required.split(",") if name.strip()]
    source = f"s3://{args['dump_bucket']}/{args['dump_key']}"
    s3 = boto3.client("s3")
    body: dict[str, Any] = {
        "dump_key": args["dump_key"],
        "dump_date": args["dump_date"],
        "target_schema": args["target_schema"],
        "glue_run_id": args.get("JOB_RUN_ID"),
    }
    try:
        try:
            if account_check not in ("refuse", "warn"):
                raise ValueError(f"--db_account_check {account_check!r}: must be refuse or warn")
            tls = TlsMode.parse(args.get("db_tls") or TlsMode.VERIFY_IDENTITY, "--db_tls")
            dsn = dsn_from_secret(secret_arn, tls=tls) if secret_arn else Dsn.from_env()
        except (ValueError, DsnError) as exc:
            raise LoadError(args["dump_key"], "setup", str(exc)) from exc
        gate = quality_step(s3, args)
        report = load_dump(
            source,
            args["target_schema"],
            dsn,
            required_tables=required,
            expected_sha256=args.get("expected_sha256") or None,
            dump_label=args["dump_key"],
            s3_client=s3,
            before_publish=gate,
            refuse_global_privileges=bool(secret_arn) and account_check == "refuse",
            source_version_id=args.get("dump_version_id") or None,
        )
    except QualityRejected as exc:
        body.update(status="REJECTED", error=exc.to_dict(), quality=exc.report.quality)
        _write_report(s3, args, body)
        log.error("%s", exc)
        raise
    except LoadError as exc:
        body.update(status="FAILED", error=exc.to_dict())
        _write_report(s3, args, body)
        log.error("%s", exc)
        raise
    body.update(status="SUCCEEDED", **report.to_dict())
    _write_report(s3, args, body)
    log.info(
        "loaded %s into %s: %d rows in %.1f s",
        args["dump_key"],
        args["target_schema"],
        report.total_rows,
        report.seconds,
    )
    return body


def _write_report(s3: Any, args: dict[str, str], body: dict[str, Any]) -> None:
    bucket = args.get("report_bucket") or args["dump_bucket"]
    s3.put_object(
        Bucket=bucket,
        Key=report_key(args["dump_date"]),
        Body=json.dumps(body, indent=2, ensure_ascii=False).encode(),
        ContentType="application/json",
    )


if __name__ == "__main__":
    main()
