"""``write_sample_dumps``: one dump file and one manifest per consecutive business date."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from dumpflow.db import Dsn
from dumpflow.dumps import dump_key_for
from dumpflow.sample.evolve import advance, settle
from dumpflow.sample.scratch import SampleDumpError, scratch_schema
from dumpflow.sample.world import build_world

log = logging.getLogger(__name__)

#: Bad dumps for the quality gate (docs/QUALITY_GATE.md), always the LAST date written:
#: ``stale``: that date's file holds the previous business day's content (the source
#: stopped changing: a lagging replica); ``shrunk``: half of ``tenants`` is gone;
#: ``dropped-column``: ``rooms.rent`` (read by dbt) is gone. The manifest tells the truth
#: about the file, so only the content gives it away.
VARIANTS = ("stale", "shrunk", "dropped-column")
#: Judged against the previous load: the date before must be written too.
NEEDS_PREVIOUS = ("shrunk", "dropped-column")
VARIANT_SQL = {
    "shrunk": "DELETE FROM `tenants` WHERE `id` % 2 = 0",
    "dropped-column": "ALTER TABLE `rooms` DROP COLUMN `rent`",
}


@dataclass(frozen=True, slots=True)
class SampleDump:
    """A written dump: the file, its business date, its manifest and where that was written."""

    path: Path
    dump_date: dt.date
    manifest: dict[str, Any]
    manifest_path: Path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_sample_dumps(
    out_dir: Path,
    start: dt.date,
    days: int = 1,
    *,
    scale: float = 1.0,
    seed: int = 42,
    gzip: bool = False,
    dsn: Dsn | None = None,
    variant: str | None = None,
) -> list[SampleDump]:
    """Write ``gghouse_YYYYMMDD.sql[.gz]`` + ``gghouse_YYYYMMDD.json`` for ``days`` dates.

    The source tables are built in a scratch schema of the MariaDB at ``dsn`` (default:
    ``$DUMPFLOW_DSN`` or local) and dumped with the real ``mariadb-dump``; the schema is
    dropped afterwards. Same seed, start, days and scale: same files. The manifest's
    ``dump_sha256`` and ``dump_size_bytes`` describe the file as written (the object
    uploaded to S3, compressed or not). ``variant`` (one of ``VARIANTS``) makes the last
    date's dump one the quality gate must refuse.
    """
    if days < 1:
        raise SampleDumpError(f"sample-dump: days must be at least 1 (got {days})")
    if scale <= 0:
        raise SampleDumpError(f"sample-dump: scale must be positive (got {scale})")
    if variant is not None and variant not in VARIANTS:
        raise SampleDumpError(
            f"sample-dump: unknown variant {variant!r} (one of {', '.join(VARIANTS)})"
        )
    if variant in NEEDS_PREVIOUS and days < 2:
        raise SampleDumpError(
            f"sample-dump: variant {variant} is judged against the previous day's dump: "
            "write at least 2 days (the last one is the bad one)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    stale_only = variant == "stale" and days == 1
    # a single stale dump: the world of the day before, written under ``start``
    world = build_world(seed, scale, start - dt.timedelta(days=1) if stale_only else start)
    settle(world)
    written: list[SampleDump] = []
    with scratch_schema(dsn or Dsn.from_env()) as schema:
        for index in range(days):
            last = index == days - 1
            if index and not (last and variant == "stale"):
                advance(world)
            dump_date = start + dt.timedelta(days=index)
            key = dump_key_for(dump_date, gzip=gzip)
            path = out_dir / key.rsplit("/", 1)[-1]
            try:
                schema.write(world)
                if last and variant in VARIANT_SQL:
                    schema.execute(VARIANT_SQL[variant])
                schema.dump_to(path, compress=gzip)
                freshness = schema.max_updated_at()
            except pymysql.MySQLError as exc:
                raise SampleDumpError(
                    f"sample-dump {path.name}: writing the source tables failed: {exc}"
                ) from exc
            manifest: dict[str, Any] = {
                "dump_key": key,
                "dump_date": f"{dump_date:%Y%m%d}",
                "dump_sha256": _sha256(path),
                "dump_size_bytes": path.stat().st_size,
                "valid_for_etl": True,
                "max_updated_at_by_table": freshness,
            }
            manifest_path = out_dir / f"gghouse_{dump_date:%Y%m%d}.json"
            manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            log.info("wrote %s (%d bytes)", path, manifest["dump_size_bytes"])
            written.append(SampleDump(path, dump_date, manifest, manifest_path))
    return written
