"""The text a server actually executes for one statement, and its top-level tokens.

Dumps wrap code in version comments (``/*!40101 ... */``, MariaDB's ``/*M!100616 ... */``).
The server runs their content when its version is high enough. To judge a statement by
what will run, its comments are resolved for the target server first: executable comments
are unwrapped, the others removed, plain comments dropped. The loader then sends exactly
this resolved text, so what was checked is what is executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    rb"(?P<quoted>'(?:[^'\\]++|\\.|'')*+'|\"(?:[^\"\\]++|\\.|\"\")*+\"|`(?:[^`]++|``)*+`)"
    rb"|(?P<open>/\*(?P<mariadb>M)?!(?P<version>\d{5,6})?)"
    rb"|(?P<comment>/\*(?:[^*]++|\*(?!/))*+\*/|--(?=\s)[^\n]*+(?:\n|\Z)|\#[^\n]*+(?:\n|\Z))"
    rb"|(?P<close>\*/)"
    rb"|(?P<other>[^'\"`/*\-\#]++|.)",
    re.DOTALL,
)


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
        if mariadb_only and not self.mariadb:
            return False
        return version is None or version <= self.version


class UnbalancedComment(ValueError):
    """A version comment is opened but never closed (or closed without being opened)."""


def resolve(sql: bytes, flavor: ServerFlavor) -> bytes:
    """The statement as the server would run it: version comments resolved, comments gone."""
    if b"/*" not in sql and b"--" not in sql and b"#" not in sql:
        return sql.strip()
    out: list[bytes] = []
    inside: bool | None = None
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind == "mariadb" or kind == "version":
            kind = "open"
        if kind == "open":
            if inside is not None:
                raise UnbalancedComment("nested version comment")
            version = match.group("version")
            inside = flavor.runs(bool(match.group("mariadb")), int(version) if version else None)
            out.append(b" ")
        elif kind == "close":
            if inside is None:
                raise UnbalancedComment("'*/' without an opening version comment")
            inside = None
            out.append(b" ")
        elif kind == "comment":
            out.append(b" ")
        elif inside is not False:
            out.append(match.group())
    if inside is not None:
        raise UnbalancedComment("version comment is never closed")
    return b"".join(out).strip()


@dataclass(frozen=True, slots=True)
class Token:
    """A top-level token: ``word``, ``ident`` (backticked), ``string``, ``number`` or ``punct``."""

    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


_LEX = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<string>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\")"
    r"|(?P<ident>`(?:[^`]|``)*`)"
    r"|(?P<var>@@?(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[\w.$]+))"
    r"|(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
    r"|(?P<word>[A-Za-z_$][\w$]*)"
    r"|(?P<punct>:=|.)",
    re.DOTALL,
)


def tokens(text: str) -> list[Token]:
    """Lexical tokens of a resolved statement (whitespace dropped)."""
    found = []
    for match in _LEX.finditer(text):
        kind = match.lastgroup or "punct"
        if kind != "ws":
            found.append(Token(kind, match.group()))
    return found


def ident_name(token: Token) -> str:
    """The name an identifier token stands for."""
    if token.kind == "ident":
        return token.text[1:-1].replace("``", "`")
    return token.text
