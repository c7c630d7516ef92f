"""Split a stream of SQL bytes into statements the way the mysql client does.

Scanning is done by compiled regular expressions with possessive quantifiers, so the work
per byte happens in C: row data is never looked at character by character in Python. The
common case, an ``INSERT`` of literal rows, is matched by a dedicated pattern that accepts
only literals (numbers, strings, NULL, hex and bit literals), so such statements can be
passed to the server unchanged without a second look.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

DEFAULT_DELIMITER = b";"
# the reader holds about three copies of the longest statement: this bounds its memory
DEFAULT_MAX_STATEMENT_BYTES = 16 * 1024 * 1024

# Whitespace and complete plain comments between statements (never conditional comments,
# which carry code; MariaDB's sandbox marker is a client directive and counts as a comment).
_GAP = re.compile(
    rb"(?:\s++"
    rb"|--(?=\s)[^\n]*+\n"
    rb"|\#[^\n]*+\n"
    rb"|/\*(?![!M])(?:[^*]++|\*(?!/))*+\*/"
    rb"|/\*M!999999\\- enable the sandbox mode \*/"
    rb")*+"
)
_GAP_AT_EOF = re.compile(
    rb"(?:\s++|--(?=\s|\Z)[^\n]*+(?:\n|\Z)|\#[^\n]*+(?:\n|\Z)"
    rb"|/\*(?![!M])(?:[^*]++|\*(?!/))*+\*/|/\*M!999999\\- enable the sandbox mode \*/)*+\Z"
)
_DELIMITER_LINE = re.compile(rb"DELIMITER[ \t]++(\S++)[ \t]*+\r?\n", re.IGNORECASE)

_IDENT = rb"(?:`(?:[^`]++|``)++`|[A-Za-z0-9_$]++)"
INSERT_HEAD = re.compile(
    rb"(?:INSERT(?:\s++IGNORE)?|REPLACE)\s++INTO\s++(" + _IDENT + rb")\s*+"
    rb"(?:\(\s*+`(?:[^`]++|``)++`(?:\s*+,\s*+`(?:[^`]++|``)++`)*+\s*+\)\s*+)?VALUES?\s*+",
    re.IGNORECASE,
)
_STRING = rb"'(?:[^'\\]++|\\.|'')*+'"
# Literal rows only: parenthesised tuples of numbers, strings ('..' with backslash escapes
# or '', never adjacent strings, which fall to the lexer), NULL, hex and bit literals and
# _binary strings, separated by commas and whitespace. No name, variable, function, comment
# start or control byte can appear outside a string, so the server reads exactly these
# tuples; anything else is not a fast-path statement and goes through the lexer.
_WS = rb"[ \t\n\r]*+"
_QUOTED = rb"'[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'"
# Possessive throughout: a value is followed by whitespace and ',' or ')', or the tuple
# fails, so "1e", "0xg", "NULLx" or "1.2.3" never match (hex and bit before numbers, so
# "0x41" is not read as 0 followed by a name). Keywords are case-insensitive to the server:
# "null" and "_BINARY" are the same literals.
_VALUE = (
    rb"(?:" + _QUOTED + rb"|0x[0-9A-Fa-f]++|0b[01]++"
    rb"|[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+"
    rb"|(?i:NULL)|[xX]'[0-9A-Fa-f]*+'|[bB]'[01]*+'|(?i:_binary) ?+" + _QUOTED + rb")"
)
_TUPLE = rb"\(" + _WS + rb"(?:" + _VALUE + rb"(?:" + _WS + rb"," + _WS + _VALUE + rb")*+)?+"
_TUPLE += _WS + rb"\)"
LITERAL_ROWS = re.compile(
    _TUPLE + rb"(?:" + _WS + rb"," + _WS + _TUPLE + rb")*+",
    re.DOTALL,
)


def literal_rows_end(buf: bytes, pos: int) -> int:
    """Where the run of literal rows starting at pos ends (pos itself if none)."""
    match = LITERAL_ROWS.match(buf, pos)
    return match.end() if match else pos


def _statement_pattern(delimiter: bytes) -> re.Pattern[bytes]:
    """Everything up to the delimiter, skipping quoted text and comments."""
    first, rest = re.escape(delimiter[:1]), delimiter[1:]
    lone_first = first + (rb"(?!" + re.escape(rest) + rb")" if rest else rb"(?!)")
    return re.compile(
        rb"(?:[^'\"`/#\-" + first + rb"]++"
        rb"|" + _STRING + rb"|\"(?:[^\"\\]++|\\.|\"\")*+\"|`(?:[^`]++|``)*+`"
        rb"|/\*(?:[^*]++|\*(?!/))*+\*/"
        rb"|--(?=\s)[^\n]*+\n|\#[^\n]*+\n"
        rb"|/(?!\*)|-(?!-\s)|" + lone_first + rb")*+" + re.escape(delimiter),
        re.DOTALL,
    )


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: its text without the delimiter, where it starts, and its ordinal."""

    number: int
    offset: int
    sql: bytes
    insert_table: str | None = None
    """Set when the statement is an INSERT of literal rows only (the fast path)."""
    delimiter: bytes = DEFAULT_DELIMITER


class SplitError(ValueError):
    """The stream cannot be split: an unterminated statement or a bad DELIMITER line."""

    def __init__(self, message: str, offset: int, number: int) -> None:
        super().__init__(message)
        self.offset = offset
        self.number = number


def unquote_identifier(raw: bytes) -> str:
    """`a``b` -> a`b; bare names unchanged."""
    text = raw.decode("utf-8", "surrogateescape")
    if text.startswith("`"):
        return text[1:-1].replace("``", "`")
    return text


class _Splitter:
    def __init__(self) -> None:
        self.delimiter = DEFAULT_DELIMITER
        self.patterns: dict[bytes, re.Pattern[bytes]] = {}
        self.number = 0

    def pattern(self) -> re.Pattern[bytes]:
        found = self.patterns.get(self.delimiter)
        if found is None:
            found = self.patterns[self.delimiter] = _statement_pattern(self.delimiter)
        return found

    def scan(self, buf: bytes, pos: int, base: int) -> Iterator[Statement | int]:
        """Yield statements found in buf from pos; finally yield the position to resume at."""
        size = len(buf)
        while True:
            gap = _GAP.match(buf, pos)
            pos = gap.end() if gap else pos
            if pos >= size:
                break
            directive = _DELIMITER_LINE.match(buf, pos)
            if directive:
                self.delimiter = directive.group(1)
                pos = directive.end()
                continue
            if buf[pos : pos + 9].upper() == b"DELIMITER" and b"\n" not in buf[pos : pos + 80]:
                break
            stmt = self._insert(buf, pos, base)
            if stmt == "more":
                break
            if stmt is None:
                match = self.pattern().match(buf, pos)
                if match is None:
                    break
                self.number += 1
                end = match.end()
                stmt = Statement(
                    self.number,
                    base + pos,
                    buf[pos : end - len(self.delimiter)],
                    delimiter=self.delimiter,
                )
            else:
                assert isinstance(stmt, Statement)
                end = stmt.offset - base + len(stmt.sql) + 1
            yield stmt
            pos = end
        yield pos

    def _insert(self, buf: bytes, pos: int, base: int) -> Statement | Literal["more"] | None:
        """The literal-rows INSERT at pos; None if it is not one; "more" if it is cut off."""
        if self.delimiter != DEFAULT_DELIMITER:
            return None
        head = INSERT_HEAD.match(buf, pos)
        if head is None:
            return None
        if buf.find(b";", head.end()) < 0:
            return "more"
        end = literal_rows_end(buf, head.end())
        if end >= len(buf):
            return "more"
        if buf[end] != 0x3B:
            return None
        self.number += 1
        return Statement(
            self.number, base + pos, buf[pos:end], insert_table=unquote_identifier(head.group(1))
        )

    def finish(self, rest: bytes, base: int) -> None:
        """At end of input: only whitespace and comments may remain."""
        if _GAP_AT_EOF.match(rest):
            return
        gap = _GAP.match(rest)
        start = gap.end() if gap else 0
        raise SplitError(
            f"unterminated statement (no {self.delimiter.decode(errors='replace')!r} before "
            "the end of the input: truncated file?)",
            base + start,
            self.number + 1,
        )


def split_statements(
    chunks: Iterable[bytes],
    max_statement_bytes: int = DEFAULT_MAX_STATEMENT_BYTES,
    limit_name: str = "the limit",
) -> Iterator[Statement]:
    """Statements of a stream of byte chunks, in order; memory is bounded by chunk + statement.

    An unfinished statement is rescanned only once at least as many new bytes arrived as it
    already holds, so a statement spanning many chunks costs linear, not quadratic, time.
    """
    splitter = _Splitter()
    buf = b""
    base = 0
    pending: list[bytes] = []
    pending_size = 0
    wanted = 0
    for chunk in chunks:
        if not chunk:
            continue
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size < wanted:
            continue
        buf = b"".join([buf, *pending])
        pending.clear()
        pending_size = 0
        buf, base = yield from _drain(splitter, buf, base)
        if len(buf) > max_statement_bytes:
            raise SplitError(
                f"statement longer than {max_statement_bytes} bytes ({limit_name}) without a "
                f"{splitter.delimiter.decode(errors='replace')!r}: not a dump, or one statement "
                "too large to load",
                base,
                splitter.number + 1,
            )
        wanted = len(buf)
    if pending:
        buf, base = yield from _drain(splitter, b"".join([buf, *pending]), base)
    splitter.finish(buf, base)


def _drain(
    splitter: _Splitter, buf: bytes, base: int
) -> Generator[Statement, None, tuple[bytes, int]]:
    resume = 0
    for item in splitter.scan(buf, 0, base):
        if isinstance(item, int):
            resume = item
        else:
            yield item
    return buf[resume:], base + resume
