"""Build secondary indexes after the rows, not row by row.

Inserting into a table's plain (non-unique) secondary indexes row by row makes InnoDB
update several B-trees in random key order; adding those indexes once the rows are in
builds each by a sort, which costs the server markedly less (see benchmarks/README.md).
Tables with foreign keys keep their indexes (a foreign key needs its index at creation),
and so do unique, full-text and spatial indexes: the table definition loses nothing, its
indexes only arrive later, in their original order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ITEM_LEXER = re.compile(
    r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`|[(),]|[^'\"`(),]+",
    re.DOTALL,
)
_PLAIN_KEY = re.compile(r"\s*(?:KEY|INDEX)\s", re.IGNORECASE)
_FOREIGN = re.compile(r"\s*(?:CONSTRAINT\b.*?\bFOREIGN\s+KEY|FOREIGN\s+KEY)", re.IGNORECASE | re.S)


@dataclass(frozen=True, slots=True)
class DeferredKeys:
    """A CREATE TABLE without its plain secondary indexes, and the ALTER that adds them."""

    create_sql: bytes
    alter_sql: bytes | None


def _items(body: str) -> list[str]:
    """Top-level comma-separated items of a parenthesised definition list."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for match in _ITEM_LEXER.finditer(body):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(token)
    items.append("".join(current))
    return items


def defer_secondary_keys(create_sql: bytes, quoted_table: str) -> DeferredKeys:
    """Split ``CREATE TABLE`` (already accepted by the policy) into create + later ALTER."""
    text = create_sql.decode("utf-8", "surrogateescape")
    open_at = text.find("(")
    depth, close_at = 0, -1
    for match in _ITEM_LEXER.finditer(text, open_at):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0:
                close_at = match.start()
                break
    if open_at < 0 or close_at < 0:
        return DeferredKeys(create_sql, None)
    items = _items(text[open_at + 1 : close_at])
    if any(_FOREIGN.match(item) for item in items):
        return DeferredKeys(create_sql, None)
    kept = [item for item in items if not _PLAIN_KEY.match(item)]
    deferred = [item.strip() for item in items if _PLAIN_KEY.match(item)]
    if not deferred or not kept:
        return DeferredKeys(create_sql, None)
    create = text[: open_at + 1] + ",".join(kept) + "\n" + text[close_at:]
    alter = f"ALTER TABLE {quoted_table} " + ", ".join("ADD " + item for item in deferred)
    return DeferredKeys(
        create.encode("utf-8", "surrogateescape"), alter.encode("utf-8", "surrogateescape")
    )
