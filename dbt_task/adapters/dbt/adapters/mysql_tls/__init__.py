"""dbt adapter ``mysql_tls``: dbt-mysql 1.7 connecting over TLS with certificate verification.

dbt-mysql 1.7 (the latest release) passes no TLS option to mysql-connector-python: its
``MySQLConnectionManager.open`` builds the connector's arguments from a fixed set of profile
fields. mysql-connector-python itself verifies a server when given ``ssl_ca`` with
``ssl_verify_cert`` / ``ssl_verify_identity``, and reads no defaults from the environment.
This plugin is dbt's own extension point for that: an adapter whose ``dependencies`` are
``["mysql"]`` inherits every ``mysql__`` macro and materialization through dbt's dispatch
order (``mysql_tls`` -> ``mysql`` -> ``default``); only the connection differs.

Profile fields on top of the mysql adapter's: ``tls`` (``verify-identity`` default,
``verify-ca``, or ``preferred`` = the connector's default, no certificate check) and
``tls_ca`` (PEM file; default: the pinned Amazon RDS CA bundle of the image,
``/app/certs/rds-ca-bundle.pem``, i.e. ``dbt_task/certs`` in a checkout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import dbt.exceptions
import mysql.connector
from dbt.adapters.base import AdapterPlugin
from dbt.adapters.mysql import MySQLAdapter, MySQLConnectionManager, MySQLCredentials
from dbt.events import AdapterLogger
from dbt.include import mysql_tls

logger = AdapterLogger("mysql_tls")

TLS_MODES = ("verify-identity", "verify-ca", "preferred")
DEFAULT_CA = Path(__file__).resolve().parents[4] / "certs" / "rds-ca-bundle.pem"


@dataclass(init=False)
class MySQLTLSCredentials(MySQLCredentials):
    tls: str = "verify-identity"
    tls_ca: Optional[str] = None  # noqa: UP045 (dbt's dataclass schema needs Optional)

    @property
    def type(self) -> str:
        return "mysql_tls"

    def _connection_keys(self) -> tuple[str, ...]:
        return (*super()._connection_keys(), "tls", "tls_ca")


def tls_arguments(credentials: MySQLTLSCredentials) -> dict[str, Any]:
    """The connector's TLS arguments for the profile's ``tls`` / ``tls_ca``."""
    mode = (credentials.tls or "verify-identity").strip().lower().replace("_", "-")
    if mode not in TLS_MODES:
        raise dbt.exceptions.DbtRuntimeError(
            f"profile field tls={credentials.tls!r}: must be one of {', '.join(TLS_MODES)}"
        )
    if mode == "preferred":
        return {}
    ca = credentials.tls_ca or str(DEFAULT_CA)
    if not Path(ca).is_file():
        raise dbt.exceptions.DbtRuntimeError(f"profile field tls_ca={ca!r}: no such file")
    return {
        "ssl_disabled": False,
        "ssl_ca": ca,
        "ssl_verify_cert": True,
        "ssl_verify_identity": mode == "verify-identity",
        "tls_versions": ["TLSv1.2", "TLSv1.3"],
    }


class MySQLTLSConnectionManager(MySQLConnectionManager):
    TYPE = "mysql_tls"

    @classmethod
    def open(cls, connection: Any) -> Any:
        """dbt-mysql's open, with TLS and without its retry that drops the options."""
        if connection.state == "open":
            return connection
        credentials = cls.get_credentials(connection.credentials)
        kwargs: dict[str, Any] = {
            "user": credentials.username,
            "passwd": credentials.password,
            "buffered": True,
            "host": credentials.server,
            **tls_arguments(credentials),
        }
        for name in ("port", "charset", "collation"):
            if getattr(credentials, name):
                kwargs[name] = getattr(credentials, name)
        try:
            connection.handle = mysql.connector.connect(**kwargs)
            connection.state = "open"
        except mysql.connector.Error as exc:
            logger.debug(f"cannot connect over TLS ({credentials.tls}): {exc}")
            connection.handle = None
            connection.state = "fail"
            raise dbt.exceptions.FailedToConnectError(str(exc)) from exc
        return connection


class MySQLTLSAdapter(MySQLAdapter):
    ConnectionManager = MySQLTLSConnectionManager


Plugin = AdapterPlugin(
    adapter=MySQLTLSAdapter,  # type: ignore[arg-type]
    credentials=MySQLTLSCredentials,
    include_path=mysql_tls.PACKAGE_PATH,
    dependencies=["mysql"],
)
