"""The statement splitter: exact statements back, however the bytes are chunked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dumpflow.loader.splitter import SplitError, Statement, split_statements


def split(data: bytes, chunk: int | None = None) -> list[Statement]:
    if chunk is None:
        return list(split_statements([data]))
    return list(split_statements(data[i : i + chunk] for i in range(0, len(data), chunk)))


def texts(data: bytes, chunk: int | None = None) -> list[bytes]:
    return [stmt.sql for stmt in split(data, chunk)]


def test_semicolons_quotes_and_newlines_inside_values_do_not_end_a_statement() -> None:
    data = (
        b"INSERT INTO `t` VALUES (1,'a;b','it\\'s',\"x;y\"),(2,'line\nbreak;','\\\\');\n"
        b"INSERT INTO `t` VALUES (3,'O''Brien; --',NULL);\n"
    )
    assert texts(data) == [
        b"INSERT INTO `t` VALUES (1,'a;b','it\\'s',\"x;y\"),(2,'line\nbreak;','\\\\')",
        b"INSERT INTO `t` VALUES (3,'O''Brien; --',NULL)",
    ]


def test_literal_row_inserts_take_the_fast_path_and_name_their_table() -> None:
    data = b"INSERT INTO `a``b` VALUES (1,0x00FF,_binary 'x',-1.5e-3,NULL,b'101');\n"
    [stmt] = split(data)
    assert stmt.insert_table == "a`b"


def test_keywords_in_rows_are_literals_in_any_case_as_the_server_reads_them() -> None:
    [stmt] = split(b"INSERT INTO t VALUES (null,nULL,_BINARY 'x'),(Null,1,_binary'y');\n")
    assert stmt.insert_table == "t"
    for almost in (b"NULLx", b"nul", b"_binaryx 'x'"):
        [stmt] = split(b"INSERT INTO t VALUES (" + almost + b");\n")
        assert stmt.insert_table is None, almost


def test_inserts_with_expressions_are_not_literal() -> None:
    [stmt] = split(b"INSERT INTO t VALUES ((SELECT password FROM mysql.user));\n")
    assert stmt.insert_table is None


def test_comments_between_statements_are_skipped_and_positions_are_byte_offsets() -> None:
    data = (
        b"/*M!999999\\- enable the sandbox mode */ \n"
        b"-- MariaDB dump\n--\n# hash comment\n/* block; comment */\n"
        b"/*!40101 SET NAMES utf8mb4 */;\n"
        b"CREATE TABLE `t` (`a` int) /* c; */ ENGINE=InnoDB;\n"
    )
    stmts = split(data)
    assert [s.sql for s in stmts] == [
        b"/*!40101 SET NAMES utf8mb4 */",
        b"CREATE TABLE `t` (`a` int) /* c; */ ENGINE=InnoDB",
    ]
    assert [s.number for s in stmts] == [1, 2]
    assert data[stmts[1].offset :].startswith(b"CREATE TABLE")


def test_delimiter_blocks_switch_the_terminator() -> None:
    data = (
        b"DELIMITER ;;\n"
        b"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END ;;\n"
        b"/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1; */;;\n"
        b"DELIMITER ;\n"
        b"SET @y = 1;\n"
    )
    stmts = split(data, chunk=7)
    assert [s.sql for s in stmts] == [
        b"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END ",
        b"/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1; */",
        b"SET @y = 1",
    ]
    assert [s.delimiter for s in stmts] == [b";;", b";;", b";"]


def test_an_unterminated_statement_is_a_split_error_with_its_position() -> None:
    data = b"SET @a = 1;\nINSERT INTO `t` VALUES (1,'never closed);\n"
    with pytest.raises(SplitError) as caught:
        split(data)
    assert caught.value.number == 2
    assert caught.value.offset == data.index(b"INSERT")


def test_trailing_comment_without_newline_is_fine() -> None:
    assert texts(b"SET @a = 1;\n-- Dump completed") == [b"SET @a = 1"]


def test_a_statement_larger_than_the_limit_is_refused() -> None:
    data = b"INSERT INTO t VALUES ('" + b"x" * 5000
    with pytest.raises(SplitError, match="longer than 1000 bytes"):
        list(split_statements((data[i : i + 100] for i in range(0, len(data), 100)), 1000))


# --- property tests -----------------------------------------------------------------------

_plain = st.text(alphabet="abcXYZ019 ,()=+*.\n\t", min_size=1, max_size=12)
_STRING_PIECES = [*'ab;\n\r\t "`#/*-日本😀', "\\'", "\\\\", "''", "\\n", "\\;"]
_string_body = st.lists(st.sampled_from(_STRING_PIECES), max_size=12).map("".join)
_single = _string_body.map(lambda s: "'" + s + "'")
_double = st.text(alphabet=list("ab;'\n `#"), max_size=8).map(lambda s: '"' + s + '"')
_ident = st.text(alphabet=list("ab;'\"\n #"), min_size=1, max_size=8).map(lambda s: f"`{s}`")
_block_comment = st.text(alphabet=list("ab;'\"\n `#-"), max_size=8).map(lambda s: f"/*{s}*/")
_line_comment = st.text(alphabet=list("ab;'\"`/*"), max_size=8).map(lambda s: f"-- {s}\n")
_token = st.one_of(_plain, _single, _double, _ident, _block_comment, _line_comment)
_statement = st.lists(_token, min_size=1, max_size=8).map(lambda parts: "SELECT " + " ".join(parts))
_literal = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    _single,
    st.just("NULL"),
    st.just("0xDEADbeef"),
)
_row = st.lists(_literal, min_size=1, max_size=5).map(lambda vs: "(" + ",".join(vs) + ")")
_insert = st.lists(_row, min_size=1, max_size=5).map(
    lambda rows: "INSERT INTO `t` VALUES " + ",\n".join(rows)
)
_gap = st.sampled_from(["\n", " ", "\n\n", "\n-- note\n", "\n/* gap; */\n", "\n# h\n"])


@settings(max_examples=300, deadline=None)
@given(
    statements=st.lists(st.one_of(_statement, _insert), min_size=1, max_size=6),
    gaps=st.lists(_gap, min_size=6, max_size=6),
    chunk=st.integers(1, 64),
)
def test_generated_sql_splits_back_into_its_statements(
    statements: list[str], gaps: list[str], chunk: int
) -> None:
    data = "".join(f"{stmt};{gap}" for stmt, gap in zip(statements, gaps, strict=False)).encode()
    expected = [stmt.encode() for stmt in statements]
    assert texts(data) == expected
    assert texts(data, chunk) == expected


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=8), chunk=st.integers(1, 50))
def test_generated_literal_inserts_take_the_fast_path(rows: list[str], chunk: int) -> None:
    data = ("INSERT INTO `t` VALUES " + ",".join(rows) + ";\n").encode()
    [stmt] = split(data, chunk)
    assert stmt.insert_table == "t"
    assert stmt.sql == data[:-2]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), chunk=st.integers(1, 40))
def test_arbitrary_bytes_split_the_same_however_chunked(data: bytes, chunk: int) -> None:
    def outcome(chunk_size: int | None) -> object:
        try:
            return [(s.number, s.offset, s.sql, s.insert_table) for s in split(data, chunk_size)]
        except SplitError as exc:
            return ("error", exc.number, exc.offset)

    assert outcome(chunk) == outcome(None)


# --- against a character-by-character reference -------------------------------------------

_SPACE = b" \t\n\r\x0b\x0c"


def reference_split(data: bytes) -> list[tuple[int, bytes]] | str:
    """A slow, obvious splitter with the mysql client's rules for ';', quotes and comments."""
    out: list[tuple[int, bytes]] = []
    pos, size = 0, len(data)

    def line_end(at: int) -> int | None:
        newline = data.find(b"\n", at)
        return None if newline < 0 else newline + 1

    def line_comment(at: int, at_eof_ok: bool) -> bool:
        if data.startswith(b"#", at):
            return True
        if not data.startswith(b"--", at):
            return False
        if at + 2 == size:
            return at_eof_ok
        return data[at + 2] in _SPACE

    while True:
        # the gap: whitespace and complete plain comments
        while pos < size:
            if data[pos] in _SPACE:
                pos += 1
            elif line_comment(pos, at_eof_ok=True):
                end = line_end(pos)
                pos = size if end is None else end
            elif data.startswith(b"/*", pos) and data[pos + 2 : pos + 3] not in (b"!", b"M"):
                close = data.find(b"*/", pos + 2)
                if close < 0:
                    return "error"
                pos = close + 2
            else:
                break
        if pos >= size:
            return out
        start, i = pos, pos
        while True:
            if i >= size:
                return "error"
            c = data[i : i + 1]
            if c == b";":
                out.append((start, data[start:i]))
                pos = i + 1
                break
            if c in (b"'", b'"', b"`"):
                i += 1
                while True:
                    if i >= size:
                        return "error"
                    d = data[i : i + 1]
                    escaped = d == b"\\" and c != b"`"
                    if escaped or (d == c and data[i + 1 : i + 2] == c):
                        i += 2
                    elif d == c:
                        i += 1
                        break
                    else:
                        i += 1
            elif data.startswith(b"/*", i):
                close = data.find(b"*/", i + 2)
                if close < 0:
                    return "error"
                i = close + 2
            elif line_comment(i, at_eof_ok=False):
                end = line_end(i)
                if end is None:
                    return "error"
                i = end
            else:
                i += 1


_INNER = st.lists(
    st.sampled_from(["a", ";", "\n", " ", "\\'", '\\"', "\\\\", "''", '""', "*/", "#", "-- "]),
    max_size=6,
).map("".join)
_BALANCED = [
    st.sampled_from(["a", "1", " ", "\n", ";", ";", ",", "(", ")", "-", "/", "*", "日"]),
    _INNER.map(lambda body: "'" + body + "'"),
    _INNER.map(lambda body: '"' + body + '"'),
    _INNER.map(lambda body: "`" + body.replace("`", "") + "`"),
    _INNER.map(lambda body: "/*" + body.replace("*/", "") + "*/"),
    _INNER.map(lambda body: "-- " + body.replace("\n", "") + "\n"),
    _INNER.map(lambda body: "#" + body.replace("\n", "") + "\n"),
    st.sampled_from(["INSERT INTO `t` VALUES (", "NULL", "0x1F", "_binary ", "/*!40101 "]),
]
# lone quote and comment starts are rare, or nearly every input would be unterminated
_LONE = st.sampled_from(["--", "-- ", "#", "/*", "*/", "'", '"', "`", "\\"])
_PIECE = st.one_of(*_BALANCED, *_BALANCED, *_BALANCED, _LONE)


@settings(max_examples=600, deadline=None)
@given(
    pieces=st.lists(_PIECE, max_size=25),
    chunk=st.integers(1, 30),
)
def test_splitter_agrees_with_the_reference(pieces: list[str], chunk: int) -> None:
    data = ("".join(pieces) + ";\n").encode()
    expected = reference_split(data)
    try:
        got: object = [(s.offset, s.sql) for s in split(data, chunk)]
    except SplitError:
        got = "error"
    assert got == expected
