"""MySQL/MariaDB connection settings from a DSN (``mysql://user:pass@host:port[/db]``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_DSN = "mysql://root@127.0.0.1:3306"
DSN_ENV = "DUMPFLOW_DSN"


@dataclass(frozen=True, slots=True)
class Dsn:
    host: str
    port: int
    user: str
    password: str
    database: str | None = None

    @classmethod
    def parse(cls, dsn: str) -> Dsn:
        parts = urlsplit(dsn)
        if parts.scheme not in ("mysql", "mariadb"):
            raise ValueError(f"DSN must start with mysql:// (got {parts.scheme or 'nothing'}://)")
        database = parts.path.lstrip("/") or None
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
        )

    @classmethod
    def from_env(cls, dsn: str | None = None) -> Dsn:
        """The explicit DSN, else ``$DUMPFLOW_DSN``, else local root on 127.0.0.1:3306."""
        return cls.parse(dsn or os.environ.get(DSN_ENV) or DEFAULT_DSN)

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pymysql.connect``."""
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
        return kwargs

    def redacted(self) -> str:
        """For logs and errors: never print the password."""
        return f"mysql://{self.user}@{self.host}:{self.port}" + (
            f"/{self.database}" if self.database else ""
        )
