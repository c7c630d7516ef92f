"""Reading dumps: local or S3, gzip recognised by its bytes, digest of what was stored."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from dumpflow.loader.source import DumpStream, SourceError

SQL = "INSERT INTO `t` VALUES (1,'東京; \\'x\\'');\n".encode() * 5000


def read_all(stream: DumpStream) -> bytes:
    return b"".join(stream)


def test_plain_file_digest_covers_the_stored_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.sql.gz"  # a misleading suffix: the bytes decide
    path.write_bytes(SQL)
    stream = DumpStream(str(path), chunk_bytes=1000)

    assert read_all(stream) == SQL
    assert not stream.gzip
    assert stream.sha256 == hashlib.sha256(SQL).hexdigest()
    assert (stream.raw_bytes, stream.sql_bytes) == (len(SQL), len(SQL))


def test_gzip_members_are_concatenated_and_digest_is_of_the_compressed_file(
    tmp_path: Path,
) -> None:
    packed = gzip.compress(SQL[:50000]) + gzip.compress(SQL[50000:])
    path = tmp_path / "d.sql"
    path.write_bytes(packed)
    stream = DumpStream(str(path), chunk_bytes=777)

    assert read_all(stream) == SQL
    assert stream.gzip
    assert stream.sha256 == hashlib.sha256(packed).hexdigest()


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        read_all(DumpStream(str(tmp_path / "nope.sql")))


def test_trailing_garbage_after_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.sql.gz"
    path.write_bytes(gzip.compress(SQL) + b"garbage")
    with pytest.raises(SourceError, match="trailing garbage"):
        read_all(DumpStream(str(path)))


def test_s3_object_is_streamed() -> None:
    packed = gzip.compress(SQL)
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        s3.create_bucket(
            Bucket="dumps-bucket",
            CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
        )
        s3.put_object(Bucket="dumps-bucket", Key="dumps/gghouse_20261125.sql.gz", Body=packed)
        stream = DumpStream(
            "s3://dumps-bucket/dumps/gghouse_20261125.sql.gz", s3_client=s3, chunk_bytes=4096
        )

        assert read_all(stream) == SQL
        assert stream.sha256 == hashlib.sha256(packed).hexdigest()

        with pytest.raises(SourceError, match="cannot read"):
            read_all(DumpStream("s3://dumps-bucket/dumps/missing.sql", s3_client=s3))
