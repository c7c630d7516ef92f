"""Property (issue 10): whatever the policy approves, the server reads exactly as the policy
did. Statements are generated from the lexer's corners (comment forms, version comments,
control bytes, quoting, non-ASCII names); for each one approved, the dump's original bytes
and the loader's rebuilt text run on the real server (MariaDB and MySQL), as a restricted
user, in two sandbox schemas, and what they create must be identical and be what the policy
approved (the table it named, the columns its tokens list)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db_servers import DbServer
from dumpflow.db import Dsn
from dumpflow.loader.policy import Action, decide, split_items
from dumpflow.loader.splitter import split_statements
from dumpflow.loader.sqltext import ServerFlavor, ident_name, lex
from dumpflow.loader.workers import connect
from loader.accounts import restricted_user
from loader.support import run_sql

# separators the server skips, some of which a naive lexer reads differently
_GAPS = [
    b" ", b"\n", b"\t", b"\r\n", b"\x0b", b"\x0c", b"/* c */", b"/**/", b"-- c\n", b"--\t\n",
    b"#c\n", b"--\x01 c\n", b"--\x1c\n", b"--\x7f'\n", b"/*!40101 */", b"/*!99999 x' */",
    b"/*M!999999 ' */", b"/*!50700 `*/", b"/* -- ' */", b"\x01", b"\x00",
]  # fmt: skip
_NAME_CHARS = [*"ab_$9 ;'\"`-#/*.@,()", "\x01", "\n", "é", "ダ", "\\"]
_quoted_name = st.text(_NAME_CHARS, min_size=1, max_size=6).map(
    lambda s: b"`" + s.replace("`", "``").encode() + b"`"
)
_bare_name = st.sampled_from([b"c1", b"col_x", "ダンプ".encode(), b"n\xc3\xa9", b"x$y", b"9a"])
_name = st.one_of(_quoted_name, _bare_name)
_STRING_CHARS = [*"ab '\"\\;`#-/*\n", "\x00", "\x01", "\x1a", "\x7f", "é"]
_string = st.text(_STRING_CHARS, max_size=8).map(
    lambda s: b"'" + s.replace("\\", "\\\\").replace("'", "\\'").encode() + b"'"
)
_raw_string = st.text(_STRING_CHARS, max_size=6).map(lambda s: b"'" + s.encode() + b"'")
_default = st.one_of(
    _string, _raw_string, st.sampled_from([b"NULL", b"0", b"-1", b"1.5", b"0x41", b"X'41'"])
)


@st.composite
def column(draw: st.DrawFn) -> bytes:
    gap = st.sampled_from(_GAPS)
    parts = [draw(_name), draw(gap), draw(st.sampled_from([b"varchar(20)", b"text", b"int"]))]
    if draw(st.booleans()):
        parts += [draw(gap), b"DEFAULT", draw(gap), draw(_default)]
    if draw(st.booleans()):
        parts += [draw(gap), b"COMMENT", draw(gap), draw(_string)]
    if draw(st.booleans()):
        parts = [b"/*!40101 ", *parts, b" */"]
    return b"".join(parts)


@st.composite
def create_table(draw: st.DrawFn) -> bytes:
    gap = st.sampled_from(_GAPS)
    columns = draw(st.lists(column(), min_size=1, max_size=3))
    body = (b"," + draw(gap)).join(columns)
    tail = draw(
        st.sampled_from([b"", b" ENGINE=InnoDB", b" COMMENT='x'", b" /*!40101 ENGINE=InnoDB */"])
    )
    return b"CREATE TABLE" + draw(gap) + draw(_name) + draw(gap) + b"(" + body + b")" + tail


@dataclass
class Sandbox:
    dsn: Dsn
    root: Dsn
    flavor: ServerFlavor
    original: str
    rebuilt: str


@pytest.fixture(scope="module")
def sandbox(db_server: DbServer) -> Iterator[Sandbox]:
    """Two schemas on each engine, and a user with privileges on them only."""
    root = db_server.dsn
    stem = f"ldlex_{uuid.uuid4().hex[:8]}"
    original, rebuilt = stem + "__shadow", stem + "__previous"
    conn = pymysql.connect(**root.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None
    flavor = ServerFlavor.from_version_string(str(row[0]))
    run_sql(root, f"CREATE DATABASE `{original}`", f"CREATE DATABASE `{rebuilt}`")
    try:
        with restricted_user(root, stem) as dsn:
            yield Sandbox(dsn, root, flavor, original, rebuilt)
    finally:
        run_sql(
            root, f"DROP DATABASE IF EXISTS `{original}`", f"DROP DATABASE IF EXISTS `{rebuilt}`"
        )


def _run(dsn: Dsn, schema: str, sql: bytes) -> tuple[object, list[tuple[str, str]]]:
    """Empty the schema, run sql there; (error code or None, [(table, SHOW CREATE TABLE)])."""
    conn = connect(dsn, schema)
    conn.autocommit(True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                (schema,),
            )
            for (name,) in cur.fetchall():
                cur.execute("DROP TABLE `" + str(name).replace("`", "``") + "`")
            error: object = None
            try:
                conn.query(sql)
            except pymysql.err.MySQLError as exc:
                error = exc.args[0]
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                (schema,),
            )
            created = []
            for (name,) in cur.fetchall():
                cur.execute("SHOW CREATE TABLE `" + str(name).replace("`", "``") + "`")
                row = cur.fetchone()
                assert row is not None
                created.append((str(row[0]), str(row[1])))
            return error, created
    finally:
        conn.close()


def _approved_columns(sql: bytes, flavor: ServerFlavor) -> list[str]:
    toks = lex(sql, flavor)
    start = next(i for i, t in enumerate(toks) if t.text == "(")
    depth, end = 0, start
    while True:
        tok = toks[end]
        depth += {"(": 1, ")": -1}.get(tok.text if tok.kind == "punct" else "", 0)
        if depth == 0:
            break
        end += 1
    return [ident_name(item[0]) for item in split_items(toks[start + 1 : end])]


approved_count: list[int] = [0]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(statement=create_table())
def test_what_the_policy_approves_the_server_reads_the_same(
    statement: bytes, sandbox: Sandbox
) -> None:
    try:
        [stmt] = list(split_statements([statement + b";\n"]))
    except ValueError:
        return  # the splitter refuses or splits it: never executed
    decision = decide(stmt, sandbox.flavor)
    if decision.action is Action.REFUSE:
        return
    assert decision.action is Action.DDL and decision.sql is not None, decision
    approved_count[0] += 1
    original = _run(sandbox.dsn, sandbox.original, stmt.sql)
    rebuilt = _run(sandbox.dsn, sandbox.rebuilt, decision.sql)
    # the server reads the dump's bytes and the loader's text the same way
    assert original == rebuilt, (stmt.sql, decision.sql)
    error, created = rebuilt
    if error is None:
        # and creates what the policy approved: that table, those columns, nothing else
        assert [name for name, _ in created] == [decision.table]
        conn = pymysql.connect(**sandbox.root.connect_kwargs())
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                    "ORDER BY ORDINAL_POSITION",
                    (sandbox.rebuilt,),
                )
                columns = [str(row[0]) for row in cur.fetchall()]
        finally:
            conn.close()
        assert [c.lower() for c in columns] == [
            c.lower() for c in _approved_columns(decision.sql, sandbox.flavor)
        ]


def test_the_generator_reaches_approved_statements() -> None:
    """Guard against a vacuous property: some generated statements must be approved."""

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(statement=create_table())
    def count(statement: bytes) -> None:
        try:
            [stmt] = list(split_statements([statement + b";\n"]))
        except ValueError:
            return
        if decide(stmt, ServerFlavor()).action is Action.DDL:
            approved.append(statement)

    approved: list[bytes] = []
    count()
    assert len(approved) >= 10, len(approved)
