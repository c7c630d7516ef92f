"""Load one dump into a schema: stream, split, check, run in parallel, verify, publish.

Nothing becomes visible in the target until every statement ran, the digest matched and
the required tables hold rows; any failure drops the shadow schema and leaves the target
exactly as it was.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

import pymysql

from dumpflow.db import Dsn
from dumpflow.loader.errors import LoadError
from dumpflow.loader.keys import defer_secondary_keys
from dumpflow.loader.policy import (
    SAFE_CHARSETS,
    STRICT_MODE,
    Action,
    Decision,
    decide,
    split_items,
    unsafe_sql_mode,
)
from dumpflow.loader.privileges import account_grants, broad_grants
from dumpflow.loader.publish import (
    MARKER,
    NotOurs,
    PublishError,
    check_schema_name,
    create_shadow,
    drop_dangling_foreign_keys,
    drop_shadow,
    previous_name,
    publish,
    quote,
    shadow_name,
)
from dumpflow.loader.report import LoadReport, SkippedObject, TableStats, note_object
from dumpflow.loader.source import DumpStream, SourceError, dump_label_for
from dumpflow.loader.splitter import (
    DEFAULT_MAX_STATEMENT_BYTES,
    INSERT_HEAD,
    SplitError,
    Statement,
    split_statements,
    unquote_identifier,
)
from dumpflow.loader.sqltext import ServerFlavor, ident_name, lex
from dumpflow.loader.workers import LOCK_WAIT_SECONDS, LoadFailed, WorkerPool

log = logging.getLogger(__name__)

PACKET_HEADROOM = 1024
# The longest statement accepted is the server's max_allowed_packet, but never more than
# the splitter's bound (memory stays flat whatever the dump holds).
MAX_STATEMENT_CAP = DEFAULT_MAX_STATEMENT_BYTES
LOCK_PREFIX = "dumpflow-load:"
MAX_LOCK_NAME = 64  # MySQL 8 refuses longer user-lock names (MariaDB does not)

#: A last check on the loaded shadow, run under the load lock with the admin connection
#: just before the publish: ``(conn, target schema, report so far)``; the shadow is
#: ``shadow_name(target)``. It raises to refuse the publish (the shadow is then dropped) and
#: may add to the report (the quality gate does).
BeforePublish = Callable[[pymysql.connections.Connection, str, LoadReport], None]


def load_lock_name(schema: str) -> str:
    """The server-wide lock one load into ``schema`` holds (a digest for long names)."""
    name = LOCK_PREFIX + schema
    if len(name) <= MAX_LOCK_NAME:
        return name
    digest = hashlib.sha256(schema.encode()).hexdigest()
    return LOCK_PREFIX + digest[: MAX_LOCK_NAME - len(LOCK_PREFIX)]


def default_workers() -> int:
    """Two connections at least (the server parses rows while we read), four at most."""
    return min(4, max(2, os.cpu_count() or 2))


def excerpt(sql: bytes, limit: int = 80) -> str:
    text = re.sub(r"\s+", " ", sql[: limit * 4].decode("utf-8", "replace")).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Run:
    """State of one load while statements stream through."""

    def __init__(
        self, label: str, pool: WorkerPool, tables: Collection[str] | None, max_packet: int
    ) -> None:
        self.label = label
        self.pool = pool
        self.wanted = None if tables is None else set(tables)
        self.max_packet = max_packet
        self.kinds: Counter[str] = Counter()
        self.created: list[str] = []
        self.definitions: dict[str, Statement] = {}
        self.skipped: list[SkippedObject] = []
        self.filtered: set[str] = set()
        self.statements = 0
        self.pending_keys: list[tuple[str, bytes, Statement]] = []
        self.utf8_names = True
        self.flavor = ServerFlavor()
        self.auto_increment: dict[str, str | None] = {}

    def _keep(self, table: str | None, stmt: Statement) -> bool:
        if self.wanted is None or table is None or table in self.wanted:
            return True
        if table not in self.filtered:
            self.filtered.add(table)
            self.skipped.append(SkippedObject("filtered_table", table, stmt.number, stmt.offset))
        return False

    def handle(self, stmt: Statement, decision: Decision) -> None:
        self.statements += 1
        self.kinds[decision.kind] += 1
        action = decision.action
        if action is Action.REFUSE:
            raise self._refused(stmt, f"{decision.kind} refused ({decision.reason})")
        if action is Action.OBJECT:
            name = decision.object_name or "?"
            note_object(self.skipped, SkippedObject(decision.kind, name, stmt.number, stmt.offset))
            return
        if decision.table == MARKER:
            raise self._refused(stmt, f"the table name {MARKER} is the loader's own")
        if action is Action.IGNORE or not self._keep(decision.table, stmt):
            return
        assert decision.sql is not None
        if len(decision.sql) + PACKET_HEADROOM > self.max_packet:
            raise LoadError(
                self.label,
                "execute",
                f"statement is {len(decision.sql)} bytes, larger than the server's "
                f"max_allowed_packet ({self.max_packet}); raise it on the server",
                offset=stmt.offset,
                statement=stmt.number,
            )
        if action is Action.ROWS:
            assert decision.table is not None
            self.pool.rows(
                decision.table,
                decision.sql,
                stmt.number,
                stmt.offset,
                in_order=needs_order(decision.sql, self.auto_increment.get(decision.table, "?")),
            )
        elif action is Action.SESSION:
            self.pool.session(decision.sql, stmt.number, stmt.offset)
            self._check_session(stmt)
        else:
            self._ddl(stmt, decision)

    def _ddl(self, stmt: Statement, decision: Decision) -> None:
        assert decision.sql is not None
        table = decision.table
        sql, alter = decision.sql, None
        if decision.kind == "create_table" and table is not None:
            split = defer_secondary_keys(sql, quote(table))
            sql, alter = split.create_sql, split.alter_sql
            if table not in self.created:
                self.created.append(table)
            self.definitions[table] = stmt
            self.auto_increment[table] = auto_increment_column(decision.sql, self.flavor)
        if decision.kind == "drop_table":
            self.pending_keys = [entry for entry in self.pending_keys if entry[0] != table]
            # a table dropped again (an old mysqldump's stand-in for a view) was not loaded
            if table in self.definitions:
                self.created.remove(table)
                del self.definitions[table]
        self.pool.ddl(sql, stmt.number, stmt.offset)
        # every row queued so far is committed: tables defined earlier are complete
        self.build_deferred_keys()
        if alter is not None and table is not None:
            self.pending_keys.append((table, alter, stmt))

    def build_deferred_keys(self) -> None:
        for table, alter, stmt in self.pending_keys:
            self.pool.index(table, alter, stmt.number, stmt.offset)
        self.pending_keys.clear()

    def _check_session(self, stmt: Statement) -> None:
        """What the server now runs with must still be lexed the way the splitter reads."""
        sql_mode, charset = self.pool.session_state()
        self.utf8_names = charset.lower() in ("utf8", "utf8mb3", "utf8mb4")
        bad = unsafe_sql_mode(sql_mode)
        if bad is None and charset.lower() not in SAFE_CHARSETS:
            bad = f"character set {charset}"
        if bad is not None:
            raise self._refused(stmt, f"set refused ({bad} changes how statements are read)")
        if STRICT_MODE not in sql_mode.upper().split(","):
            raise self._refused(stmt, f"set refused (sql_mode without {STRICT_MODE})")

    def _refused(self, stmt: Statement, why: str) -> LoadError:
        return LoadError(
            self.label,
            "policy",
            f"{why}: {excerpt(stmt.sql)}",
            offset=stmt.offset,
            statement=stmt.number,
        )


def needs_order(sql: bytes, auto_increment: str | None) -> bool:
    """Rows that must run in dump order on one connection: REPLACE and INSERT IGNORE (a
    repeated key must not wait on another connection's lock) and INSERTs whose column list
    leaves out the table's AUTO_INCREMENT column (ids must follow the dump's order)."""
    head = INSERT_HEAD.match(sql)
    if head is None:
        return True
    words = sql[: head.start(1)].split()
    if words[0].upper() == b"REPLACE" or words[1].upper() == b"IGNORE":
        return True
    columns = sql[head.end(1) : head.end()]
    if auto_increment is None or b"(" not in columns:
        return False
    listed = {unquote_identifier(name) for name in _COLUMN.findall(columns)}
    return auto_increment not in listed


_COLUMN = re.compile(rb"`(?:[^`]|``)+`")


def auto_increment_column(create_sql: bytes, flavor: ServerFlavor) -> str | None:
    """The AUTO_INCREMENT column of an approved CREATE TABLE, if any."""
    toks = lex(create_sql, flavor)
    start = next(pos for pos, tok in enumerate(toks) if tok.text == "(")
    for item in split_items(toks[start + 1 :]):
        if (
            item
            and item[0].kind in ("ident", "word")
            and any(tok.kind == "word" and tok.upper == "AUTO_INCREMENT" for tok in item[1:])
        ):
            return ident_name(item[0])
    return None


def max_statement_bytes(max_packet: int) -> int:
    """The longest statement the loader reads: what the server accepts, within the cap."""
    return max(1024, min(max_packet - PACKET_HEADROOM, MAX_STATEMENT_CAP))


def _server_facts(conn: pymysql.connections.Connection) -> tuple[ServerFlavor, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), @@max_allowed_packet")
        row = cur.fetchone()
    assert row is not None
    version, packet = row
    return ServerFlavor.from_version_string(str(version)), int(packet)


def _drop_shadow_quietly(conn: pymysql.connections.Connection, schema: str) -> None:
    """After a failure: drop the shadow; a failure to do so must not hide the first error."""
    try:
        drop_shadow(conn, schema)
    except (pymysql.err.MySQLError, NotOurs) as exc:
        log.warning("could not drop the shadow schema of %s: %s", schema, exc)


def _missing_required(
    conn: pymysql.connections.Connection, shadow: str, created: list[str], required: Collection[str]
) -> list[str]:
    problems = []
    with conn.cursor() as cur:
        for table in required:
            if table not in created:
                problems.append(f"{table} (missing)")
                continue
            cur.execute(f"SELECT EXISTS(SELECT 1 FROM {quote(shadow)}.{quote(table)})")
            row = cur.fetchone()
            if not row or not row[0]:
                problems.append(f"{table} (empty)")
    return problems


def load_dump(
    source: str,
    schema: str,
    dsn: Dsn,
    *,
    tables: Collection[str] | None = None,
    required_tables: Collection[str] = (),
    expected_sha256: str | None = None,
    dump_label: str | None = None,
    workers: int | None = None,
    s3_client: Any | None = None,
    before_publish: BeforePublish | None = None,
    refuse_global_privileges: bool = False,
    source_version_id: str | None = None,
) -> LoadReport:
    """Load ``source`` (path or s3://bucket/key, gzip or not) into ``schema`` atomically.

    ``before_publish(conn, schema, report)`` (the quality gate plugs in here) runs once the
    shadow ``shadow_name(schema)`` holds the complete,
    verified load and before anything of the target changes; raising (a LoadError, say)
    drops the shadow and leaves the target as it was.

    An account holding privileges beyond the target and its helper schemas (FILE, SUPER,
    anything on ``*.*``, ``mysql.*`` or another schema) is logged as a warning and listed in
    the report; ``refuse_global_privileges`` refuses server-wide ones (the Glue job).

    ``source_version_id`` reads that version of an s3:// source (the upload the event
    announced, which the control plane archives), never whatever the key holds by now.

    Raises LoadError naming the dump, the stage and the cause; the target is then unchanged.
    """
    label = dump_label or dump_label_for(source)
    try:
        check_schema_name(schema)
    except ValueError as exc:
        raise LoadError(label, "setup", str(exc)) from exc
    started = time.perf_counter()
    try:
        admin = pymysql.connect(**dsn.connect_kwargs())
    except pymysql.err.MySQLError as exc:
        raise LoadError(label, "setup", f"cannot connect to {dsn.redacted()}: {exc}") from exc
    try:
        with admin.cursor() as cur:
            # foreign keys between the dump's tables must not stop dropping the shadow or
            # the previous set (a filtered load can leave a key pointing at a shadow table)
            cur.execute("SET SESSION foreign_key_checks = 0")
            cur.execute("SET SESSION lock_wait_timeout = %s", (LOCK_WAIT_SECONDS,))
            cur.execute("SELECT GET_LOCK(%s, 0)", (load_lock_name(schema),))
            held = cur.fetchone()
        if not held or held[0] != 1:
            raise LoadError(label, "setup", f"another load into {schema!r} is running")
        flavor, max_packet = _server_facts(admin)
        broad = broad_grants(account_grants(admin), schema)
        if broad.all:
            warning = (
                f"the loader's account {dsn.user!r} holds privileges beyond {schema!r} and its "
                f"helper schemas ({'; '.join(broad.all)}): only the policy would stand between "
                "a hostile dump and them (docs/deploy.md creates a restricted user)"
            )
            if refuse_global_privileges and broad.global_:
                raise LoadError(label, "setup", warning)
            log.warning("%s", warning)
        try:
            create_shadow(admin, schema)
        except NotOurs as exc:
            raise LoadError(label, "setup", str(exc)) from exc
        except pymysql.err.MySQLError as exc:
            raise LoadError(label, "setup", f"cannot create the shadow schema: {exc}") from exc
        try:
            report = _load_into_shadow(
                label,
                source,
                schema,
                dsn,
                flavor,
                max_packet,
                tables,
                required_tables,
                expected_sha256,
                workers or default_workers(),
                s3_client,
                admin,
                source_version_id,
            )
            report.warnings.extend([warning] if broad.all else [])
            if before_publish is not None:
                before_publish(admin, schema, report)
            try:
                report.replaced_tables, cleanup = publish(admin, schema)
            except PublishError as exc:
                raise LoadError(label, "publish", str(exc)) from exc
            if cleanup is not None:
                log.warning("%s", cleanup)
                report.warnings.append(cleanup)
        except pymysql.err.MySQLError as exc:
            _drop_shadow_quietly(admin, schema)
            raise LoadError(label, "execute", f"database error: {exc}") from exc
        except BaseException:
            _drop_shadow_quietly(admin, schema)
            raise
        report.seconds = time.perf_counter() - started
        log.info(
            "loaded %s into %s: %d tables, %d rows in %.1f s",
            label,
            schema,
            len(report.tables),
            report.total_rows,
            report.seconds,
        )
        return report
    finally:
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (load_lock_name(schema),))
        finally:
            admin.close()


def _load_into_shadow(
    label: str,
    source: str,
    schema: str,
    dsn: Dsn,
    flavor: ServerFlavor,
    max_packet: int,
    tables: Collection[str] | None,
    required_tables: Collection[str],
    expected_sha256: str | None,
    workers: int,
    s3_client: Any | None,
    admin: pymysql.connections.Connection,
    source_version_id: str | None = None,
) -> LoadReport:
    shadow = shadow_name(schema)
    stream = DumpStream(source, s3_client=s3_client, version_id=source_version_id)
    pool = WorkerPool(dsn, shadow, workers)
    run = _Run(label, pool, tables, max_packet)
    run.flavor = flavor
    current: Statement | None = None
    try:
        limit = max_statement_bytes(max_packet)
        for current in split_statements(stream, limit, "the server's max_allowed_packet"):
            run.handle(current, decide(current, flavor, utf8_names=run.utf8_names))
        run.build_deferred_keys()
        pool.sync()
    except SourceError as exc:
        raise LoadError(label, "read", str(exc)) from exc
    except SplitError as exc:
        raise LoadError(label, "parse", str(exc), offset=exc.offset, statement=exc.number) from exc
    except LoadFailed as exc:
        failure = exc.failure
        raise LoadError(
            label, "execute", failure.message, offset=failure.offset, statement=failure.statement
        ) from exc
    finally:
        pool.close()
    if expected_sha256 and stream.sha256 != expected_sha256.strip().lower():
        raise LoadError(
            label,
            "read",
            f"sha256 mismatch: expected {expected_sha256.strip().lower()}, read {stream.sha256}",
        )
    if not run.created:
        raise LoadError(label, "verify", "the dump defines no tables (empty or not a dump)")
    for table, constraint in drop_dangling_foreign_keys(admin, shadow):
        defined = run.definitions[table]
        run.skipped.append(
            SkippedObject("foreign_key", f"{table}.{constraint}", defined.number, defined.offset)
        )
    problems = _missing_required(admin, shadow, run.created, required_tables)
    if problems:
        raise LoadError(label, "verify", "required tables missing or empty: " + ", ".join(problems))
    stats = pool.table_stats()
    return LoadReport(
        source=source,
        dump=label,
        schema=schema,
        previous_schema=previous_name(schema),
        sha256=stream.sha256,
        gzip=stream.gzip,
        stored_bytes=stream.raw_bytes,
        sql_bytes=stream.sql_bytes,
        statements=run.statements,
        seconds=0.0,
        workers=pool.size,
        tables={name: stats.get(name, TableStats()) for name in run.created},
        skipped=run.skipped,
        statement_kinds=dict(run.kinds),
    )
