"""Read one statement the way the target server's lexer does, or refuse it.

The loader never sends a dump's bytes as written (row statements aside, see splitter.py):
a statement is lexed here into tokens, the policy judges those tokens, and the text sent
is rebuilt from the same tokens (``rebuild``). Comments are dropped; version comments
(``/*!40101 ... */``, MariaDB's ``/*M!100616 ... */``) are expanded or dropped exactly as
the target server would. Wherever two lexers could plausibly read bytes differently (``--``
followed by a control byte, stray ``*/``, nested comments, control bytes or invalid UTF-8
outside quotes, ``1abc``, version numbers of unusual length), the statement is refused:
the loader never relies on agreeing with the server about a corner case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ServerFlavor:
    """Which version comments a server executes."""

    version: int = 101100
    mariadb: bool = True

    @classmethod
    def from_version_string(cls, text: str) -> ServerFlavor:
        """From ``SELECT VERSION()``: ``10.11.19-MariaDB-...`` or ``8.0.36``."""
        match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
        if not match:
            return cls()
        major, minor, patch = (int(part) for part in match.groups())
        return cls(major * 10000 + minor * 100 + patch, "mariadb" in text.lower())

    def runs(self, mariadb_only: bool, version: int | None) -> bool:
        """Does this server execute the content of ``/*!version`` (``/*M!`` if mariadb_only)?

        MariaDB skips ``/*!50700`` .. ``/*!99999`` (MySQL 5.7+ syntax it may not share) unless
        the comment is MariaDB's own ``/*M!``; MySQL never runs ``/*M!`` (a plain comment).
        """
        if mariadb_only and not self.mariadb:
            return False
        if version is None:
            return True
        if version > self.version:
            return False
        return not (self.mariadb and not mariadb_only and 50700 <= version <= 99999)


class LexRefusal(ValueError):
    """The statement has bytes the loader and the server might read differently."""

    def __init__(self, message: str, partial: list[Token] | None = None) -> None:
        super().__init__(message)
        self.partial = partial or []


@dataclass(frozen=True, slots=True)
class Token:
    """A token: ``word``, ``ident`` (backticked), ``string``, ``literal`` (x'..', b'..',
    N'..'), ``number``, ``var`` (@x, @@x) or ``punct``; ``spaced`` if whitespace or a
    comment preceded it (the rebuilt text keeps that separation, nothing else)."""

    kind: str
    text: str
    spaced: bool = field(default=False, compare=False)

    @property
    def upper(self) -> str:
        return self.text.upper()


_IDCHAR = "A-Za-z0-9_$\u0080-\U0010ffff"
_WS_CHARS = " \t\n\r\x0b\x0c"
_LEX = re.compile(
    rf"(?P<ws>[{_WS_CHARS}]++)"
    r"|(?P<string>'(?:[^'\\]++|\\.|'')*+'|\"(?:[^\"\\]++|\\.|\"\")*+\")"
    r"|(?P<ident>`(?:[^`]++|``)*+`)"
    r"|(?P<literal>[xX]'[0-9A-Fa-f]*+'|[bB]'[01]*+'|[nN]'(?:[^'\\]++|\\.|'')*+')"
    rf"|(?P<var>@@(?:`(?:[^`]++|``)++`|[A-Za-z_][A-Za-z0-9_$]*+(?:\.[A-Za-z_][A-Za-z0-9_$]*+)?+)"
    rf"|@(?:`(?:[^`]++|``)++`|'(?:[^'\\]++|\\.)*+'|[{_IDCHAR}.]++))(?![{_IDCHAR}.@'`\"])"
    rf"|(?P<number>(?:0x[0-9A-Fa-f]++|0b[01]++|(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+)"
    rf"(?![{_IDCHAR}.]))"
    rf"|(?P<word>[{_IDCHAR}]++)"
    r"|(?P<comment>\#|--|/\*)"
    r"|(?P<close>\*/)"
    r"|(?P<punct><=>|->>|<<|>>|<=|>=|<>|!=|:=|&&|\|\||->|[-+*/%=<>!&|^~(),.:])",
    re.DOTALL,
)
_NAMES = ("word", "ident")
_LINE_COMMENT_END = re.compile(r"[^\n]*+(?:\n|\Z)")
_VERSION_DIGITS = re.compile(r"\d*+")


def lex(sql: bytes, flavor: ServerFlavor, *, utf8_names: bool = True) -> list[Token]:
    """The tokens the server reads from ``sql`` (comments resolved); raises LexRefusal.

    ``utf8_names``: the session reads UTF-8, so unquoted non-ASCII letters belong to
    names; otherwise (latin1 reads 0xA0 as a space) any non-ASCII byte outside quotes refuses.
    """
    text = sql.decode("utf-8", "surrogateescape")
    found: list[Token] = []
    pos, size = 0, len(text)
    spaced = False
    version_open = False

    def refuse(why: str) -> LexRefusal:
        return LexRefusal(f"{why} (at character {pos})", found)

    while pos < size:
        match = _LEX.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "'\"`":
                raise refuse(f"unterminated {char}quote{char}")
            raise refuse(f"byte {_show(char)} outside a quoted string")
        kind = match.lastgroup
        end = match.end()
        if kind == "ws":
            spaced = True
        elif kind == "comment":
            if version_open:
                raise refuse("a comment inside a version comment")
            end, opened = _comment(text, pos, flavor, refuse)
            if opened:
                version_open = True
            spaced = True
        elif kind == "close":
            if not version_open:
                raise refuse("'*/' without an opening version comment")
            version_open = False
            spaced = True
        else:
            assert kind is not None
            value = match.group()
            if kind == "word":
                if value[0].isdigit():
                    raise refuse(f"name starting with a digit: {value!r}")
                _check_name(value, utf8_names, refuse)
            elif kind == "var":
                _check_name(value, utf8_names, refuse)
            elif kind == "number" and value[0] == "." and found and found[-1].kind in _NAMES:
                # the server reads `db`.5 as a qualified name, not a name and a number
                raise refuse(f"'.' after the name {found[-1].text}: a qualified name")
            if version_open and kind in ("string", "ident", "literal") and "*/" in value:
                raise refuse("'*/' inside a quoted text of a version comment")
            found.append(Token(kind, value, spaced))
            spaced = False
        pos = end
    if version_open:
        raise LexRefusal("version comment is never closed", found)
    return found


def _check_name(value: str, utf8_names: bool, refuse: object) -> None:
    for char in value:
        if char < "\x80":
            continue
        if "\udc80" <= char <= "\udcff" or not utf8_names:
            assert callable(refuse)
            raise refuse(f"non-ASCII byte {_show(char)} outside quotes")


def _comment(text: str, pos: int, flavor: ServerFlavor, refuse: object) -> tuple[int, bool]:
    """(where the comment ends, True if it opened an executed version comment)."""
    assert callable(refuse)
    opener = text[pos : pos + 2]
    if opener in ("--", "#"):
        start = pos + len(opener)
        if opener == "--":
            following = text[start : start + 1]
            if following and following not in _WS_CHARS:
                raise refuse(
                    f"'--' followed by {_show(following)}: the server may read a comment here"
                )
        line = _LINE_COMMENT_END.match(text, start)
        assert line is not None
        if "\x00" in line.group():
            raise refuse("NUL byte inside a comment (the server ends the comment there)")
        return line.end(), False
    start = pos + 2
    mariadb_mark = text.startswith("M!", start)
    if text.startswith("!", start) or (mariadb_mark and flavor.mariadb):
        start += 2 if mariadb_mark else 1
        digits = _VERSION_DIGITS.match(text, start)
        assert digits is not None
        count = len(digits.group())
        if count not in (0, 5) and not (count == 6 and flavor.mariadb):
            raise refuse(f"version comment with a {count}-digit version")
        version = int(digits.group()) if count else None
        if flavor.runs(mariadb_mark, version):
            return digits.end(), True
        start = digits.end()
    close = text.find("*/", start)
    if close < 0:
        raise refuse("comment is never closed")
    body = text[start:close]
    if "/*" in body or "\x00" in body:
        raise refuse("nested comment or NUL byte inside a comment")
    return close + 2, False


def _show(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        code -= 0xDC00
    return f"0x{code:02x}" if code < 0x20 or code >= 0x7F else repr(char)


def rebuild(toks: list[Token]) -> bytes:
    """The text to send: the tokens, separated only where the original separated them."""
    parts: list[str] = []
    for index, tok in enumerate(toks):
        if tok.spaced and index:
            parts.append(" ")
        parts.append(tok.text)
    return "".join(parts).encode("utf-8", "surrogateescape")


def ident_name(token: Token) -> str:
    """The name an identifier token stands for."""
    if token.kind == "ident":
        return token.text[1:-1].replace("``", "`")
    return token.text
