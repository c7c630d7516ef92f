"""Dump identity: which S3 keys are dumps, their business date, manifest and archive keys."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DEFAULT_DUMP_PREFIX = "dumps/"
DEFAULT_KEY_PATTERN = r"^dumps/gghouse_(?P<date>\d{8})\.sql(?:\.gz)?$"
MANIFEST_PREFIX = "dumps-manifest/"
PROCESSED_PREFIX = "processed/"
JST = dt.timezone(dt.timedelta(hours=9), name="JST")


class NotADumpKey(ValueError):
    """The key does not match the dump key pattern (ignored, never an error of the flow)."""


@dataclass(frozen=True, slots=True)
class DumpRef:
    """One dump object: identity is (bucket, key, etag); the date comes from the key."""

    bucket: str
    key: str
    etag: str
    size: int
    dump_date: dt.date

    @property
    def name(self) -> str:
        """File name without prefix, e.g. ``gghouse_20261125.sql.gz``."""
        return self.key.rsplit("/", 1)[-1]

    @property
    def manifest_key(self) -> str:
        return manifest_key_for(self.dump_date)

    @property
    def processed_key(self) -> str:
        return PROCESSED_PREFIX + self.name

    @property
    def date_str(self) -> str:
        """ISO date, ``YYYY-MM-DD`` (what dbt's ``dump_date`` var and the state table use)."""
        return self.dump_date.isoformat()


def normalize_etag(etag: str) -> str:
    """S3 returns ETags quoted in some APIs and bare in events; compare them bare."""
    return etag.strip().strip('"')


def parse_dump_date(key: str, pattern: str = DEFAULT_KEY_PATTERN) -> dt.date:
    """The business date encoded in a dump key; raises NotADumpKey when it is not one."""
    match = re.match(pattern, key)
    if not match:
        raise NotADumpKey(f"{key!r} does not match the dump key pattern {pattern!r}")
    raw = match.group("date")
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date()
    except ValueError as exc:
        raise NotADumpKey(f"{key!r} carries an impossible date {raw!r}") from exc


def dump_ref(
    bucket: str, key: str, etag: str, size: int | str, pattern: str = DEFAULT_KEY_PATTERN
) -> DumpRef:
    """Build a DumpRef from an event's fields; raises NotADumpKey for other keys."""
    return DumpRef(
        bucket=bucket,
        key=key,
        etag=normalize_etag(etag),
        size=int(size),
        dump_date=parse_dump_date(key, pattern),
    )


def manifest_key_for(dump_date: dt.date) -> str:
    return f"{MANIFEST_PREFIX}gghouse_{dump_date:%Y%m%d}.json"


def dump_key_for(dump_date: dt.date, gzip: bool = False, prefix: str = DEFAULT_DUMP_PREFIX) -> str:
    return f"{prefix}gghouse_{dump_date:%Y%m%d}.sql" + (".gz" if gzip else "")


def today_jst(now: dt.datetime | None = None) -> dt.date:
    """The business date today in Tokyo (dumps dated after it are from the future)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(JST).date()


def start_of_day_jst(day: dt.date) -> dt.datetime:
    """The instant ``day`` begins in Tokyo (midnight JST)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=JST)
