"""Run a dump's statements over several connections at once.

Dumps are written table after table, so routing whole tables to connections would leave
all but one idle. Instead every connection takes row statements of whichever table is
being read (InnoDB accepts concurrent inserts of disjoint rows), each in its own
transaction committed in batches. Table definitions wait until no rows are in flight and
run on a control connection; session settings run on every connection, in stream order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import pymysql

from dumpflow.db import Dsn
from dumpflow.loader.report import TableStats

log = logging.getLogger(__name__)

# strict: a too-long string or out-of-range number fails the load (never truncated);
# zero dates still load (no NO_ZERO_DATE / NO_ZERO_IN_DATE)
LOAD_SQL_MODE = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"
COMMIT_BYTES = 32 * 1024 * 1024
QUEUE_DEPTH = 3
POLL_SECONDS = 0.2
# Row bytes queued or executing at once, over all connections (memory, not speed: dumps'
# statements are about 1 MB, this only binds when a dump is made of huge ones).
INFLIGHT_BYTES = 48 * 1024 * 1024
# Every metadata-lock wait of a loader session ends (MySQL's default is a year): a reader
# holding a table of the target makes the publish fail after this, never hang.
LOCK_WAIT_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Failure:
    """The first statement the server refused."""

    statement: int
    offset: int
    message: str


@dataclass(frozen=True, slots=True)
class _Rows:
    table: str
    sql: bytes
    statement: int
    offset: int


@dataclass(frozen=True, slots=True)
class _Index:
    table: str
    sql: bytes
    statement: int
    offset: int


@dataclass(frozen=True, slots=True)
class _Session:
    sql: bytes
    statement: int
    offset: int


@dataclass(frozen=True, slots=True)
class _Sync:
    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


def connect(dsn: Dsn, database: str | None = None) -> pymysql.connections.Connection:
    """A connection set up for loading: foreign keys unchecked, zero dates accepted, UTC.

    unique_checks stays on: with it off, MariaDB's bulk-insert mode locks a whole empty
    table for one transaction, which would serialize the connections loading that table.
    """
    kwargs = dsn.connect_kwargs()
    kwargs["autocommit"] = False
    kwargs["database"] = database
    kwargs["max_allowed_packet"] = 1024 * 1024 * 1024
    conn = pymysql.connect(**kwargs)
    with conn.cursor() as cur:
        cur.execute(
            "SET SESSION time_zone = '+00:00', sql_mode = %s, foreign_key_checks = 0, "
            "lock_wait_timeout = %s",
            (LOAD_SQL_MODE, LOCK_WAIT_SECONDS),
        )
        try:
            cur.execute("SET SESSION sql_log_bin = 0")
        except pymysql.err.OperationalError:
            log.debug("sql_log_bin cannot be changed by this user; binary logging stays on")
    return conn


class _Worker(threading.Thread):
    def __init__(self, index: int, conn: pymysql.connections.Connection, pool: WorkerPool):
        super().__init__(name=f"dumpflow-load-{index}", daemon=True)
        self.conn = conn
        self.pool = pool
        self.inbox: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.stats: dict[str, TableStats] = {}
        self.uncommitted = 0

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is _STOP:
                self._commit()
                return
            if isinstance(item, _Sync):
                self._commit()
                item.done.set()
                continue
            if self.pool.failure is not None:
                if isinstance(item, _Rows):
                    self.pool.release(len(item.sql))
                continue
            try:
                self._handle(item)
            except Exception as exc:
                where = item if isinstance(item, _Rows | _Session | _Index) else None
                self.pool.fail(
                    Failure(
                        where.statement if where else 0,
                        where.offset if where else 0,
                        _server_message(exc),
                    )
                )

    def _handle(self, item: object) -> None:
        if isinstance(item, _Session):
            self.conn.query(item.sql)
            return
        if isinstance(item, _Index):
            self._commit()
            started = time.perf_counter()
            self.conn.query(item.sql)
            self._stats(item.table).seconds += time.perf_counter() - started
            return
        assert isinstance(item, _Rows)
        started = time.perf_counter()
        try:
            rows = self.conn.query(item.sql)
        finally:
            self.pool.release(len(item.sql))
        stats = self._stats(item.table)
        stats.rows += rows
        stats.bytes += len(item.sql)
        stats.statements += 1
        self.uncommitted += len(item.sql)
        if self.uncommitted >= COMMIT_BYTES:
            self._commit()
        stats.seconds += time.perf_counter() - started

    def _stats(self, table: str) -> TableStats:
        stats = self.stats.get(table)
        if stats is None:
            stats = self.stats[table] = TableStats()
        return stats

    def _commit(self) -> None:
        if self.pool.failure is not None:
            return
        try:
            self.conn.commit()
        except pymysql.err.MySQLError as exc:
            self.pool.fail(Failure(0, 0, f"commit failed: {_server_message(exc)}"))
        self.uncommitted = 0


def _server_message(exc: Exception) -> str:
    args = exc.args
    if isinstance(exc, pymysql.err.MySQLError) and len(args) >= 2:
        return f"server error {args[0]}: {args[1]}"
    return str(exc)


class LoadFailed(RuntimeError):
    """A worker's statement failed; carries the failure."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class WorkerPool:
    """Parallel connections into one schema plus a control connection for DDL."""

    def __init__(self, dsn: Dsn, schema: str, workers: int) -> None:
        self.failure: Failure | None = None
        self._lock = threading.Lock()
        self._inflight = 0
        self._drained = threading.Condition()
        self.control = connect(dsn, schema)
        self.control.autocommit(True)
        self.workers: list[_Worker] = []
        try:
            for index in range(max(1, workers)):
                self.workers.append(_Worker(index, connect(dsn, schema), self))
        except pymysql.err.MySQLError:
            self.close()
            raise
        for worker in self.workers:
            worker.start()
        self._next = 0
        self._sticky: dict[str, _Worker] = {}

    def fail(self, failure: Failure) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = failure

    def _check(self) -> None:
        if self.failure is not None:
            raise LoadFailed(self.failure)

    def _put(self, worker: _Worker, item: object) -> None:
        while True:
            self._check()
            try:
                worker.inbox.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def rows(
        self, table: str, sql: bytes, statement: int, offset: int, *, in_order: bool = False
    ) -> None:
        """Queue a row statement on the least busy connection (within INFLIGHT_BYTES).

        ``in_order``: this table's rows from now on run on one connection, in dump order
        (AUTO_INCREMENT ids as the client assigns them; REPLACE / INSERT IGNORE on repeated
        keys never wait on the loader's other connections). The first such statement of a
        table waits until that table's earlier rows are committed.
        """
        worker = self._sticky.get(table)
        if worker is None and in_order:
            self.sync()
            worker = self._sticky[table] = self._least_busy()
        with self._drained:
            while self._inflight and self._inflight + len(sql) > INFLIGHT_BYTES:
                self._check()
                self._drained.wait(POLL_SECONDS)
            self._inflight += len(sql)
        self._put(worker or self._least_busy(), _Rows(table, sql, statement, offset))

    def release(self, size: int) -> None:
        """A row statement of ``size`` bytes is done (or dropped)."""
        with self._drained:
            self._inflight -= size
            self._drained.notify_all()

    def index(self, table: str, sql: bytes, statement: int, offset: int) -> None:
        """Queue an index build on the least busy connection (rows of others continue)."""
        self._put(self._least_busy(), _Index(table, sql, statement, offset))

    def _least_busy(self) -> _Worker:
        start = self._next
        count = len(self.workers)
        chosen = self.workers[start]
        for step in range(count):
            candidate = self.workers[(start + step) % count]
            if candidate.inbox.qsize() < chosen.inbox.qsize():
                chosen = candidate
        self._next = (start + 1) % count
        return chosen

    def session(self, sql: bytes, statement: int, offset: int) -> None:
        """A session setting for every connection, ordered with the rows around it."""
        for worker in self.workers:
            self._put(worker, _Session(sql, statement, offset))
        self._control(sql, statement, offset)

    def ddl(self, sql: bytes, statement: int, offset: int) -> None:
        """Wait until every queued row is committed, then run the definition."""
        self.sync()
        self._control(sql, statement, offset)

    def _control(self, sql: bytes, statement: int, offset: int) -> None:
        try:
            self.control.query(sql)
        except pymysql.err.MySQLError as exc:
            self.fail(Failure(statement, offset, _server_message(exc)))
            self._check()

    def session_state(self) -> tuple[str, str]:
        """(sql_mode, character_set_client) as the connections now have them."""
        with self.control.cursor() as cur:
            cur.execute("SELECT @@SESSION.sql_mode, @@SESSION.character_set_client")
            row = cur.fetchone()
        assert row is not None
        return str(row[0]), str(row[1])

    def sync(self) -> None:
        """Every connection has run and committed everything queued so far."""
        marks = [_Sync() for _ in self.workers]
        for worker, mark in zip(self.workers, marks, strict=True):
            self._put(worker, mark)
        for mark in marks:
            while not mark.done.wait(POLL_SECONDS):
                self._check()
        self._check()

    def table_stats(self) -> dict[str, TableStats]:
        merged: dict[str, TableStats] = {}
        for worker in self.workers:
            for table, stats in worker.stats.items():
                merged.setdefault(table, TableStats()).add(stats)
        return merged

    def close(self) -> None:
        """Stop the threads (after their queues drain) and close every connection."""
        for worker in self.workers:
            if worker.is_alive():
                while True:
                    try:
                        worker.inbox.put(_STOP, timeout=POLL_SECONDS)
                        break
                    except queue.Full:
                        if not worker.is_alive():
                            break
        for worker in self.workers:
            worker.join()
        for conn in [self.control, *(worker.conn for worker in self.workers)]:
            try:
                conn.close()
            except pymysql.err.Error:
                log.debug("connection already closed")

    @property
    def size(self) -> int:
        return len(self.workers)
