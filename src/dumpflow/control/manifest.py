"""The dump's manifest (``dumps-manifest/gghouse_YYYYMMDD.json``): fetch it and check it fits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dumpflow.dumps import DumpRef, manifest_key_for


class ManifestInvalid(ValueError):
    """The manifest exists but cannot be used for this dump (the reason says why)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    key: str
    dump_key: str | None
    dump_date: str | None
    dump_sha256: str | None
    dump_size_bytes: int | None
    valid_for_etl: bool

    @classmethod
    def parse(cls, key: str, raw: bytes) -> Manifest:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ManifestInvalid(f"manifest {key} is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ManifestInvalid(f"manifest {key} is not a JSON object")
        valid = doc.get("valid_for_etl")
        if not isinstance(valid, bool):
            raise ManifestInvalid(f"manifest {key} has no boolean valid_for_etl")
        size = doc.get("dump_size_bytes")
        return cls(
            key=key,
            dump_key=doc.get("dump_key"),
            dump_date=None if doc.get("dump_date") is None else str(doc["dump_date"]),
            dump_sha256=doc.get("dump_sha256") or None,
            dump_size_bytes=int(str(size)) if str(size).isdigit() else None,
            valid_for_etl=valid,
        )

    def other_upload(self, ref: DumpRef) -> str | None:
        """Why this manifest describes another upload of the key than ``ref`` (its size
        differs), None when it may be this upload's. A manifest written before a corrected
        re-upload's own manifest must not judge it: the dump waits for its own. (The sha256
        it names is what the load verifies the bytes against.)"""
        if self.dump_size_bytes is not None and self.dump_size_bytes != ref.size:
            return (
                f"manifest {self.key} gives {self.dump_size_bytes} bytes, "
                f"the object (etag {ref.etag}) has {ref.size}"
            )
        return None

    def check(self, ref: DumpRef) -> None:
        """Raise ManifestInvalid unless this manifest vouches for exactly this dump."""
        if not self.valid_for_etl:
            raise ManifestInvalid(f"manifest {self.key} says valid_for_etl = false")
        if self.dump_key is not None and self.dump_key != ref.key:
            raise ManifestInvalid(f"manifest {self.key} describes {self.dump_key}, not {ref.key}")
        if self.dump_date is not None and self.dump_date != f"{ref.dump_date:%Y%m%d}":
            raise ManifestInvalid(
                f"manifest {self.key} is dated {self.dump_date}, "
                f"the key says {ref.dump_date:%Y%m%d}"
            )
        if self.dump_size_bytes is not None and self.dump_size_bytes != ref.size:
            raise ManifestInvalid(
                f"manifest {self.key} gives {self.dump_size_bytes} bytes, the object has {ref.size}"
            )


class ManifestLookup:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def fetch(self, ref: DumpRef) -> Manifest | None:
        """The manifest of ``ref``'s date, None while it has not arrived."""
        key = manifest_key_for(ref.dump_date)
        try:
            response = self.s3.get_object(Bucket=ref.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return Manifest.parse(key, response["Body"].read())
