"""Stream a dump's bytes from a local path or ``s3://bucket/key``, gunzipping by magic bytes.

The digest covers the bytes as stored (what the manifest's ``dump_sha256`` describes), and
the SQL is produced in bounded chunks: memory stays flat however large the dump is.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

CHUNK_BYTES = 8 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class SourceError(OSError):
    """The bytes cannot be read or decompressed."""


class _Readable(Protocol):
    def read(self, size: int = ...) -> bytes: ...


def parse_s3_url(source: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    rest = source[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise SourceError(f"not an s3://bucket/key URL: {source!r}")
    return bucket, key


def dump_label_for(source: str) -> str:
    """A short name for messages: the file name of the path or key."""
    return source.rstrip("/").rsplit("/", 1)[-1] or source


@dataclass
class DumpStream:
    """The SQL bytes of one dump, with the digest and sizes of what was read."""

    source: str
    s3_client: Any | None = None
    #: for s3:// sources: read exactly this object version (the one the event announced)
    version_id: str | None = None
    chunk_bytes: int = CHUNK_BYTES
    raw_bytes: int = 0
    sql_bytes: int = 0
    gzip: bool = False
    _digest: Any = field(default_factory=hashlib.sha256)
    _finished: bool = False

    @property
    def sha256(self) -> str:
        """Hex digest of every stored byte read so far (complete once iteration ended)."""
        return str(self._digest.hexdigest())

    @property
    def finished(self) -> bool:
        return self._finished

    def _open(self) -> BinaryIO | _Readable:
        if self.source.startswith("s3://"):
            bucket, key = parse_s3_url(self.source)
            client = self.s3_client
            if client is None:
                import boto3

                client = boto3.client("s3")
            try:
                if self.version_id:
                    found = client.get_object(Bucket=bucket, Key=key, VersionId=self.version_id)
                else:
                    found = client.get_object(Bucket=bucket, Key=key)
                body: _Readable = found["Body"]
            except Exception as exc:
                named = f" (version {self.version_id})" if self.version_id else ""
                raise SourceError(f"cannot read {self.source}{named}: {exc}") from exc
            return body
        path = Path(self.source)
        try:
            return path.open("rb")
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc

    def _raw_chunks(self) -> Iterator[bytes]:
        handle = self._open()
        try:
            while True:
                try:
                    chunk = handle.read(self.chunk_bytes)
                except Exception as exc:
                    raise SourceError(f"reading {self.source} failed: {exc}") from exc
                if not chunk:
                    return
                self._digest.update(chunk)
                self.raw_bytes += len(chunk)
                yield chunk
        finally:
            close = getattr(handle, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[bytes]:
        """SQL chunks; raises SourceError on I/O errors, corrupt or truncated gzip."""
        raw = self._raw_chunks()
        first = next(raw, b"")
        while len(first) < 2:
            more = next(raw, b"")
            if not more:
                break
            first += more
        self.gzip = first[:2] == GZIP_MAGIC
        chunks = _chain(first, raw)
        produced = _gunzip(chunks, self.chunk_bytes) if self.gzip else chunks
        for chunk in produced:
            self.sql_bytes += len(chunk)
            yield chunk
        self._finished = True


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _gunzip(chunks: Iterator[bytes], out_bytes: int) -> Iterator[bytes]:
    """Decompress gzip members (one or more) with bounded output per step."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    fed = False
    try:
        for chunk in chunks:
            data = chunk
            while data:
                fed = True
                out = inflater.decompress(data, out_bytes)
                if out:
                    yield out
                if inflater.eof:
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                    fed = False
                    if data and data[:2] != GZIP_MAGIC:
                        raise SourceError("trailing garbage after the gzip stream")
                else:
                    data = inflater.unconsumed_tail
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        raise SourceError(f"gzip stream is corrupt: {exc}") from exc
    if fed and not inflater.eof:
        raise SourceError("gzip stream is truncated (the file ends inside it)")
