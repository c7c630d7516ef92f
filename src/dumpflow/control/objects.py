"""S3 facts about a dump: its archive copy under processed/, its metadata, the archiving copy."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from dumpflow.dumps import DumpRef

_MISSING = ("404", "NoSuchKey", "NotFound")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))


def _missing(exc: ClientError) -> bool:
    return _code(exc) in _MISSING


class DumpObjects:
    """Reads and copies dump objects in the dump bucket."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return response

    def archived(self, ref: DumpRef) -> bool:
        """A copy under processed/ means the dump was done before (whatever the table says)."""
        return self.head(ref.bucket, ref.processed_key) is not None

    def metadata_sha256(self, ref: DumpRef, source_key: str | None = None) -> str | None:
        """The ``sha256`` user metadata the upload job attaches (kept by the archive copy)."""
        head = self.head(ref.bucket, source_key or ref.key)
        if head is None:
            return None
        value = head.get("Metadata", {}).get("sha256")
        return value or None

    def archive(
        self, ref: DumpRef, source_key: str | None = None, version_id: str | None = None
    ) -> bool:
        """Copy the object version that ran to processed/ (managed copy: multipart above
        5 GB); a run that read the archived copy itself leaves it as it is. Repeating it
        copies the same bytes again. False when that version is gone (deleted meanwhile)."""
        if source_key == ref.processed_key:
            return True
        source: dict[str, str] = {"Bucket": ref.bucket, "Key": ref.key}
        if version_id:
            source["VersionId"] = version_id
        try:
            self.s3.copy(source, ref.bucket, ref.processed_key)
        except ClientError as exc:
            if _missing(exc) or _code(exc) == "NoSuchVersion":
                return False
            raise
        return True
