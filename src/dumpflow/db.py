"""MySQL/MariaDB connection settings from a DSN (``mysql://user:pass@host:port[/db][?tls]``).

TLS (contract 3: everything connects through ``Dsn.connect_kwargs()``):

- ``preferred`` (the default, local servers): the driver's own default, encrypted when the
  server offers it, the certificate not checked. Never used for Aurora.
- ``verify-ca``: TLS required, the server certificate must chain to the CA bundle.
- ``verify-identity``: as verify-ca, and the certificate must name the host connected to.
  What the Glue job uses for Aurora by default, with the pinned Amazon RDS CA bundle.

In a DSN: ``?tls=verify-identity`` and optionally ``&tls-ca=/path/ca.pem`` (default: the RDS
bundle shipped in ``dumpflow.certs``). There is deliberately no "encrypted but unverified"
mode: it protects nothing against whoever can intercept the connection.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from dumpflow.certs import rds_ca_bundle

DEFAULT_DSN = "mysql://root@127.0.0.1:3306"
DSN_ENV = "DUMPFLOW_DSN"


class DsnError(ValueError):
    """The DSN or its TLS settings cannot be used (the message says which part and why)."""


class TlsMode(StrEnum):
    PREFERRED = "preferred"
    VERIFY_CA = "verify-ca"
    VERIFY_IDENTITY = "verify-identity"

    @classmethod
    def parse(cls, raw: str, setting: str = "tls") -> TlsMode:
        text = raw.strip().lower().replace("_", "-")
        try:
            return cls(text)
        except ValueError as exc:
            names = ", ".join(mode.value for mode in cls)
            raise DsnError(f"{setting}={raw!r}: must be one of {names}") from exc

    @property
    def verifies(self) -> bool:
        return self is not TlsMode.PREFERRED


@dataclass(frozen=True, slots=True)
class Dsn:
    host: str
    port: int
    user: str
    password: str
    database: str | None = None
    tls: TlsMode = TlsMode.PREFERRED
    tls_ca: str | None = None  # PEM file; None with a verifying mode: the RDS bundle

    @classmethod
    def parse(cls, dsn: str) -> Dsn:
        try:
            parts = urlsplit(dsn)
            port = parts.port
        except ValueError as exc:
            raise DsnError(f"DSN {_redact(dsn)!r} is not a URL ({exc})") from exc
        if parts.scheme not in ("mysql", "mariadb"):
            raise DsnError(f"DSN must start with mysql:// (got {parts.scheme or 'nothing'}://)")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - {"tls", "tls-ca"})
        if unknown:
            raise DsnError(f"DSN option {', '.join(unknown)} is unknown (known: tls, tls-ca)")
        tls = TlsMode.parse(options["tls"], "DSN tls") if "tls" in options else TlsMode.PREFERRED
        tls_ca = options.get("tls-ca") or None
        if tls_ca and not tls.verifies:
            raise DsnError("DSN tls-ca needs tls=verify-ca or tls=verify-identity")
        database = parts.path.lstrip("/") or None
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
            tls=tls,
            tls_ca=tls_ca,
        )

    @classmethod
    def from_env(cls, dsn: str | None = None) -> Dsn:
        """The explicit DSN, else ``$DUMPFLOW_DSN``, else local root on 127.0.0.1:3306."""
        return cls.parse(dsn or os.environ.get(DSN_ENV) or DEFAULT_DSN)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The verifying TLS context of this DSN (None for ``preferred``)."""
        if not self.tls.verifies:
            return None
        try:
            if self.tls_ca:
                context = ssl.create_default_context(cafile=self.tls_ca)
            else:
                context = ssl.create_default_context(cadata=rds_ca_bundle())
        except (OSError, ssl.SSLError) as exc:
            raise DsnError(f"tls-ca {self.tls_ca or 'RDS bundle'}: cannot load it ({exc})") from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = self.tls is TlsMode.VERIFY_IDENTITY
        return context

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pymysql.connect``; a verifying mode refuses a server that
        does not speak TLS or whose certificate does not verify."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "charset": "utf8mb4",
            "autocommit": True,
        }
        if self.database:
            kwargs["database"] = self.database
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl"] = context
        return kwargs

    def redacted(self) -> str:
        """For logs and errors: never print the password."""
        tls = f"?tls={self.tls.value}" if self.tls.verifies else ""
        return (
            f"mysql://{self.user}@{self.host}:{self.port}"
            + (f"/{self.database}" if self.database else "")
            + tls
        )


def _redact(dsn: str) -> str:
    """A DSN for an error message, its password replaced."""
    head, at, tail = dsn.rpartition("@")
    if not at:
        return dsn
    scheme, sep, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{tail}" if ":" in credentials else dsn
