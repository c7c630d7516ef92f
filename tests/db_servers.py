"""A real database server under test: its engine and address."""

from __future__ import annotations

from dataclasses import dataclass

from dumpflow.db import Dsn


@dataclass(frozen=True, slots=True)
class DbServer:
    """One real server under test: which engine it is and how to reach it."""

    engine: str  # "mariadb" | "mysql"
    dsn: Dsn

    @property
    def dbt_type(self) -> str:
        """The dbt-mysql adapter type for this engine."""
        return self.engine

    @property
    def url(self) -> str:
        return (
            f"mysql://{self.dsn.user}{':' + self.dsn.password if self.dsn.password else ''}"
            f"@{self.dsn.host}:{self.dsn.port}"
        )
