"""The allow-list: what a dump may run, what is only listed, and what refuses the load."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dumpflow.loader.policy import Action, Decision, decide
from dumpflow.loader.splitter import SplitError, split_statements
from dumpflow.loader.sqltext import ServerFlavor, lex, rebuild

MARIADB = ServerFlavor(101100, mariadb=True)
MYSQL8 = ServerFlavor(80036, mariadb=False)


def decision_of(sql: str, flavor: ServerFlavor = MARIADB) -> Decision:
    [stmt] = list(split_statements([sql.encode() + b";\n"]))
    return decide(stmt, flavor)


@pytest.mark.parametrize(
    ("sql", "action", "kind"),
    [
        ("INSERT INTO `t` VALUES (1,'a')", Action.ROWS, "insert"),
        ("REPLACE INTO `t` (`a`,`b`) VALUES (1,NULL)", Action.ROWS, "insert"),
        (
            "CREATE TABLE `t` (`a` int NOT NULL DEFAULT '0', PRIMARY KEY (`a`)) ENGINE=InnoDB "
            "AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci "
            "ROW_FORMAT=DYNAMIC COMMENT='x;y'",
            Action.DDL,
            "create_table",
        ),
        (
            "CREATE TABLE `c` (`id` int, CONSTRAINT `f` FOREIGN KEY (`id`) REFERENCES `p` (`id`) "
            "ON DELETE CASCADE)",
            Action.DDL,
            "create_table",
        ),
        ("DROP TABLE IF EXISTS `t`", Action.DDL, "drop_table"),
        ("/*!40101 SET NAMES utf8mb4 */", Action.SESSION, "set"),
        ("/*!40103 SET TIME_ZONE='+00:00' */", Action.SESSION, "set"),
        (
            "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
            Action.SESSION,
            "set",
        ),
        (
            "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */",
            Action.SESSION,
            "set",
        ),
        ("/*!40014 SET UNIQUE_CHECKS=IFNULL(@OLD_UNIQUE_CHECKS, 1) */", Action.IGNORE, "set"),
        ("LOCK TABLES `t` WRITE", Action.IGNORE, "lock_tables"),
        ("UNLOCK TABLES", Action.IGNORE, "unlock_tables"),
        ("/*!40000 ALTER TABLE `t` DISABLE KEYS */", Action.IGNORE, "alter_table_keys"),
        ("/*!50001 CREATE VIEW `v` AS SELECT 1 AS `a` */", Action.OBJECT, "view"),
        (
            "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL "
            "SECURITY DEFINER */ /*!50001 VIEW `v` AS select 1 */",
            Action.OBJECT,
            "view",
        ),
        ("/*!50001 DROP VIEW IF EXISTS `v`*/", Action.IGNORE, "drop_view"),
        ("/*M!999999\\- enable the sandbox mode */ SET @a = 1", Action.SESSION, "set"),
        ("-- only a comment\n", Action.IGNORE, "comment"),
        (
            "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5'",
            Action.IGNORE,
            "gtid_purged",
        ),
        ("SET @@SESSION.SQL_LOG_BIN= 0", Action.IGNORE, "set"),
    ],
)
def test_allowed_statements(sql: str, action: Action, kind: str) -> None:
    decision = decision_of(sql)
    assert (decision.action, decision.kind) == (action, kind), decision.reason


@pytest.mark.parametrize(
    "sql",
    [
        "GRANT ALL ON *.* TO 'x'@'%'",
        "REVOKE ALL ON *.* FROM 'x'@'%'",
        "CREATE USER 'x'@'%' IDENTIFIED BY 'y'",
        "DROP USER 'root'@'localhost'",
        "CREATE DATABASE other",
        "DROP DATABASE other",
        "ALTER DATABASE `other` CHARACTER SET latin1",
        "USE `other`",
        "INSERT INTO `other`.`t` VALUES (1)",
        "INSERT INTO t VALUES ((SELECT password FROM mysql.user LIMIT 1))",
        "INSERT INTO t VALUES (@secret)",
        "INSERT INTO t SELECT * FROM other.t",
        "CREATE TABLE `other`.`t` (a int)",
        "CREATE TABLE t LIKE other.t",
        "CREATE TABLE t (a int) SELECT 1 AS a",
        "CREATE TABLE t (a int) ENGINE=CONNECT TABLE_TYPE=CSV FILE_NAME='/etc/passwd'",
        "CREATE TABLE t (a int) DATA DIRECTORY='/tmp'",
        "CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES other.p (id))",
        "DROP TABLE `other`.`t`",
        "DROP TABLE IF EXISTS `a`, `b`",
        "RENAME TABLE t TO other.t",
        "ALTER TABLE t ADD COLUMN b int",
        "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
        "SELECT * FROM t INTO OUTFILE '/tmp/x'",
        "SELECT * FROM t INTO DUMPFILE '/tmp/x'",
        "CALL p()",
        "SET GLOBAL max_connections = 1",
        "SET @@GLOBAL.max_connections = 1",
        "SET @@GLOBAL.GTID_PURGED = @x",
        "SET sql_safe_updates = 1",
        "SET NAMES sjis",
        "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
        "SET @x = (SELECT 1)",
        "SET @x = SLEEP(10)",
        "SHUTDOWN",
        "INSTALL PLUGIN x SONAME 'x.so'",
        "CREATE FUNCTION f RETURNS STRING SONAME 'x.so'",
        "DELETE FROM t",
        "UPDATE t SET a = 1",
        "/*!100000 DROP DATABASE x */ SET @a = 1",
        "/*!40000 DROP DATABASE x */ SET @a = 1",
    ],
)
def test_refused_statements(sql: str) -> None:
    decision = decision_of(sql)
    assert decision.action is Action.REFUSE, decision


def resolved(sql: bytes, flavor: ServerFlavor) -> list[bytes]:
    return rebuild(lex(sql, flavor)).split()


def test_version_comments_resolve_per_server() -> None:
    sql = b"/*!40101 SET a=1 */ /*M!100616 , b=2 */ /*!80000 , c=3 */ /*!100101 , d=4 */"
    # MariaDB skips /*!50700../*!99999 (MySQL 5.7+ syntax) but runs its own 6-digit ones
    assert resolved(sql, MARIADB) == [b"SET", b"a=1", b",", b"b=2", b",", b"d=4"]
    mysql = sql.replace(b" /*!100101 , d=4 */", b"")
    assert resolved(mysql, MYSQL8) == [b"SET", b"a=1", b",", b"c=3"]
    assert resolved(mysql, ServerFlavor(50700, mariadb=False)) == [b"SET", b"a=1"]


def test_mariadb_only_note_verbosity_is_managed_not_refused() -> None:
    decision = decision_of(
        "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */"
    )
    assert decision.action is Action.SESSION
    assert decision.sql == b"SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY"


# --- issue 10: what the policy reads is what the server reads ------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        # '--' then a control byte: a comment to the server
        "CREATE TABLE `t` (`a` text --\x01 '\n) SELECT 1 -- ')",
        "CREATE TABLE `t` (`a` text --\x7f '\n) SELECT 1 -- ')",
        "SET @a = 1 --\x1c '\n, @b = 2 -- '",
        "INSERT INTO `t` VALUES (1) --\x01 x",
        "INSERT INTO `t` VALUES (1 --\x01\n)",
        # comment forms the two lexers might close differently
        "CREATE TABLE `t` (`a` int /* /* */ )",
        "CREATE TABLE `t` (`a` int) */",
        "CREATE TABLE `t` (`a` int) # \x00 x\n",
        "/*!40101 SET @a = 1 -- x\n */",
        "/*!40101 SET @a = '*/' */",
        "/*!4010 SET @a = 1 */",
        "/*!4010199 SET @a = 1 */",
        # control bytes and invalid UTF-8 outside quotes
        "CREATE TABLE `t` (`a` int\x00)",
        "CREATE TABLE `t` (`a` int) COMMENT \x01'x'",
        "CREATE TABLE `t` (a\xff int)".encode("latin-1").decode("utf-8", "surrogateescape"),
        "CREATE TABLE `t` (`a` int, `b` int DEFAULT 1abc)",
        # every form of a qualified name
        "CREATE TABLE ダンプ検査.t (a int)",
        "CREATE TABLE `ダンプ検査` . `t` (a int)",
        "DROP TABLE ダンプ検査.t",
        "INSERT INTO ダンプ検査.t VALUES (1)",
        "LOCK TABLES `other`.`t` WRITE",
        "CREATE TABLE `t` (`a` int REFERENCES ダンプ検査.p (id))",
        "CREATE TABLE `t` (`a` int, FOREIGN KEY (`a`) REFERENCES `other`.5 (`id`))",
        "CREATE TABLE `t` (`a` int, FOREIGN KEY (`a`) REFERENCES other .5 (`id`))",
        # server state never reaches a definition
        "CREATE TABLE `t` (`a` varchar(99) DEFAULT (@@datadir))",
        "CREATE TABLE `t` (`a` varchar(99) DEFAULT @@hostname)",
        "CREATE TABLE `t` (`a` varchar(99) DEFAULT @x)",
        "CREATE TABLE `t` (`a` varchar(99) DEFAULT USER())",
        "CREATE TABLE `t` (`a` varchar(99) DEFAULT CURRENT_USER)",
        "CREATE TABLE `t` (`a` varchar(99) DEFAULT uuid())",
        "CREATE TABLE `t` (`a` text AS (`load_file`('/etc/passwd')))",
        "CREATE TABLE `t` (`a` int AS (`sleep`(5)) VIRTUAL)",
        "CREATE TABLE `t` (`a` int AS (sleep (5)) VIRTUAL)",
        "CREATE TABLE `t` (`a` int, KEY `k` ((`sleep`(5))))",
        "CREATE TABLE `t` (`a` int, CHECK (`benchmark`(1, 1)))",
        "CREATE TABLE `t` (`a` int) COMMENT=@@datadir",
        "CREATE TABLE `t` (`a` int) WITH SYSTEM VERSIONING",
        "SET @x = `sleep`(5)",
        "SET @x = @@datadir",
        "SET @x = @@hostname",
        "SET @x = CURRENT_USER",
        "CREATE SEQUENCE `s`",
        "INSERT INTO `t` VALUES (USER())",
        "INSERT INTO `t` VALUES (@@datadir)",
        "INSERT INTO `t` VALUES ('a' 'b')",
        "INSERT INTO `t` VALUES (--1)",
    ],
)
def test_refused_where_the_lexers_could_disagree(sql: str) -> None:
    data = sql.encode("utf-8", "surrogateescape") + b";\n"
    try:
        decisions = [decide(stmt, MARIADB) for stmt in split_statements([data])]
    except SplitError:
        return  # the load stops at parse: also a refusal
    assert any(d.action is Action.REFUSE for d in decisions), decisions


@pytest.mark.parametrize(
    ("sql", "sent"),
    [
        (
            "CREATE TABLE `t` (\n  `a` int /* note */ NOT NULL,\n  `b` text -- c\n) ENGINE=InnoDB",
            b"CREATE TABLE `t` ( `a` int NOT NULL, `b` text ) ENGINE=InnoDB",
        ),
        (
            "CREATE TABLE `t` (`a` varchar(9), `ts` timestamp DEFAULT current_timestamp() "
            "ON UPDATE current_timestamp(), `j` longtext CHECK (json_valid(`j`)), "
            "`g` varchar(20) GENERATED ALWAYS AS (concat(`a`,'x')) STORED, "
            "KEY `i` (`a`(4),`ts`), CONSTRAINT `f` FOREIGN KEY (`a`) REFERENCES `p` (`a`))",
            None,
        ),
        ("/*!40101 SET NAMES utf8mb4 */", b"SET NAMES utf8mb4"),
        ("/*!40000 DROP TABLE IF EXISTS `t`*/", b"DROP TABLE IF EXISTS `t`"),
        ("INSERT INTO `t` VALUES ('It''s', 'a\\'b'), (-1.5e3, 0x00ff, X'41', b'01', NULL)", None),
        ("INSERT INTO `t` VALUES /* c */ (1)", b"INSERT INTO `t` VALUES (1)"),
    ],
)
def test_what_is_sent_is_rebuilt_from_the_checked_tokens(sql: str, sent: bytes | None) -> None:
    decision = decision_of(sql)
    assert decision.action in (Action.DDL, Action.SESSION, Action.ROWS), decision.reason
    assert decision.sql is not None
    if sent is not None:
        assert decision.sql == sent
    # what is sent lexes again to the same tokens, without any comment
    assert lex(decision.sql, MARIADB) == lex(sql.encode(), MARIADB)


def test_mysql_only_version_comments_run_on_mysql_only() -> None:
    sql = "CREATE TABLE `t` (`a` int /*!80023 INVISIBLE */, `b` int)"
    on_mysql, on_mariadb = decision_of(sql, MYSQL8), decision_of(sql)
    assert on_mysql.sql == b"CREATE TABLE `t` (`a` int INVISIBLE , `b` int)"
    assert on_mariadb.sql == b"CREATE TABLE `t` (`a` int , `b` int)"
    # MariaDB's own comments are plain comments to MySQL
    assert decision_of("/*M!100616 SET @a = 1 */", MYSQL8).action is Action.IGNORE
    # a 6-digit version: MySQL reads 5 digits and runs the rest: refused there
    assert decision_of("/*!100101 SET @a = 1 */", MYSQL8).action is Action.REFUSE


_ROW_BYTES = [
    *"0123456789.,()+-eExXbB'\\ \n_NULnul#/*;`\"@",
    "binary",
    "NULL",
    "--",
    "\x01",
    "\x00",
]


@settings(max_examples=400, deadline=None)
@given(body=st.lists(st.sampled_from(_ROW_BYTES), max_size=30).map("".join))
@example(body="'\n'")  # a newline inside a literal (found by CI)
def test_the_row_fast_path_admits_only_what_the_server_reads_as_literals(body: str) -> None:
    """Whatever LITERAL_ROWS accepts lexes (as the server would) to literals and
    punctuation only: no comment, name, variable or call can hide in a fast-path INSERT."""
    data = ("INSERT INTO `t` VALUES (" + body + ");\n").encode()
    try:
        stmts = list(split_statements([data]))
    except SplitError:
        return
    for stmt in stmts:
        if stmt.insert_table is None:
            continue
        toks = lex(stmt.sql, MARIADB)
        values = toks[4:]
        # what is sent reads back as the same tokens (a newline inside a literal stays in it)
        assert [t.text for t in lex(rebuild(toks), MARIADB)] == [t.text for t in toks]
        for tok in values:
            assert tok.kind in ("string", "number", "literal", "punct") or tok.upper in (
                "NULL",
                "_BINARY",
            ), (stmt.sql, tok)
            if tok.kind == "punct":
                assert tok.text in ("(", ")", ",", "-", "+"), (stmt.sql, tok)
