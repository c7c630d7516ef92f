"""What a dump may do: an allow-list of statement shapes, everything else is refused.

A dump is untrusted input. It may define its own tables and insert literal rows into them,
adjust a few session settings that change how its bytes are read (character set, time
zone, sql_mode), and carry objects the loader lists but never runs (views, triggers,
routines, events). Any other statement, and any name qualified with a schema, refuses the
whole load: the loader never guesses which unknown statement is harmless.
"""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass

from dumpflow.loader.splitter import INSERT_HEAD, Statement, literal_rows_end, unquote_identifier
from dumpflow.loader.sqltext import (
    ServerFlavor,
    Token,
    UnbalancedComment,
    ident_name,
    resolve,
    tokens,
)


class Action(enum.Enum):
    ROWS = "rows"  # literal rows into one table: run on any worker connection
    DDL = "ddl"  # table definition: run once, when no rows are in flight
    SESSION = "session"  # session setting: run on every connection
    IGNORE = "ignore"  # allowed, nothing to run (locks, key toggles, our own settings)
    OBJECT = "object"  # view/trigger/routine/event: listed in the report, never run
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    kind: str
    table: str | None = None
    sql: bytes | None = None
    reason: str = ""
    object_name: str | None = None


# Session variables whose value changes how the dump's bytes become rows.
APPLIED_VARIABLES = frozenset(
    {
        "character_set_client",
        "character_set_results",
        "character_set_connection",
        "collation_connection",
        "time_zone",
        "sql_mode",
    }
)
# Variables dumps set that the loader manages itself (assignments are dropped).
MANAGED_VARIABLES = frozenset(
    {
        "foreign_key_checks",
        "unique_checks",
        "sql_notes",
        "note_verbosity",
        "sql_log_bin",
        "autocommit",
        "sql_quote_show_create",
    }
)
# Character sets whose bytes never hide a quote or backslash inside a multi-byte character
# (the loader's splitter reads bytes; sjis, gbk, big5 and friends would fool it).
SAFE_CHARSETS = frozenset({"utf8", "utf8mb3", "utf8mb4", "latin1", "ascii", "binary", "default"})
# sql_mode flags that change how strings and names are lexed (the splitter assumes neither).
UNSAFE_SQL_MODES = ("NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI")
CHARSET_VARIABLES = frozenset(
    {"character_set_client", "character_set_results", "character_set_connection"}
)
ALLOWED_ENGINES = frozenset({"INNODB", "MYISAM", "ARIA", "MEMORY", "HEAP"})
_TABLE_OPTION_WORDS = frozenset(
    {
        "ENGINE",
        "AUTO_INCREMENT",
        "DEFAULT",
        "CHARSET",
        "CHARACTER",
        "SET",
        "COLLATE",
        "ROW_FORMAT",
        "COMMENT",
        "STATS_PERSISTENT",
        "STATS_AUTO_RECALC",
        "STATS_SAMPLE_PAGES",
        "PACK_KEYS",
        "KEY_BLOCK_SIZE",
        "CHECKSUM",
        "PAGE_CHECKSUM",
        "TRANSACTIONAL",
        "AVG_ROW_LENGTH",
        "MAX_ROWS",
        "MIN_ROWS",
        "DELAY_KEY_WRITE",
        "PAGE_COMPRESSED",
        "PAGE_COMPRESSION_LEVEL",
    }
)
# Words that would let a table definition reach outside its own table.
_DEFINITION_REFUSED_WORDS = frozenset(
    {"SELECT", "DIRECTORY", "LOAD_FILE", "UNION", "CONNECTION", "PARTITION", "SONAME"}
)
_OBJECT_KINDS = {
    "VIEW": "view",
    "TRIGGER": "trigger",
    "PROCEDURE": "routine",
    "FUNCTION": "routine",
    "EVENT": "event",
}
_CREATE_PREFIX_WORDS = frozenset(
    {
        "OR",
        "REPLACE",
        "ALGORITHM",
        "DEFINER",
        "SQL",
        "SECURITY",
        "INVOKER",
        "UNDEFINED",
        "MERGE",
        "TEMPTABLE",
        "AGGREGATE",
        "NOT",
        "EXISTS",
        "IF",
    }
)


class PolicyRefusal(ValueError):
    """Raised inside the classifier; ``decide`` turns it into a REFUSE decision."""


def decide(stmt: Statement, flavor: ServerFlavor) -> Decision:
    """The decision for one statement; never raises for bad input (returns REFUSE)."""
    if stmt.insert_table is not None:
        return Decision(Action.ROWS, "insert", table=stmt.insert_table, sql=stmt.sql)
    try:
        sql = resolve(stmt.sql, flavor)
    except UnbalancedComment as exc:
        return Decision(Action.REFUSE, "malformed", reason=str(exc))
    if not sql:
        return Decision(Action.IGNORE, "comment")
    try:
        return _classify(sql)
    except PolicyRefusal as exc:
        return Decision(Action.REFUSE, _kind_label(sql), reason=str(exc))


def _kind_label(sql: bytes) -> str:
    words = re.findall(rb"[A-Za-z_]+", sql[:80])[:2]
    return " ".join(w.decode().upper() for w in words) or "unknown"


def _classify(sql: bytes) -> Decision:
    head = INSERT_HEAD.match(sql)
    if head is not None:
        end = literal_rows_end(sql, head.end())
        if end != len(sql):
            raise PolicyRefusal("INSERT with something other than literal values")
        return Decision(Action.ROWS, "insert", table=unquote_identifier(head.group(1)), sql=sql)
    text = sql.decode("utf-8", "surrogateescape")
    toks = tokens(text)
    first = toks[0].upper
    if first in ("INSERT", "REPLACE"):
        raise PolicyRefusal("INSERT into a name qualified with a schema, or not of rows")
    if first == "SET":
        return _set(sql, toks[1:])
    if first == "CREATE":
        return _create(sql, toks)
    if first == "DROP":
        return _drop(sql, toks)
    if first == "LOCK" and len(toks) > 1 and toks[1].upper in ("TABLES", "TABLE"):
        _names_unqualified(toks[2:])
        return Decision(Action.IGNORE, "lock_tables")
    if [t.upper for t in toks] == ["UNLOCK", "TABLES"]:
        return Decision(Action.IGNORE, "unlock_tables")
    if first == "COMMIT" and len(toks) == 1:
        return Decision(Action.IGNORE, "commit")
    if (
        first == "ALTER"
        and len(toks) == 5
        and toks[1].upper == "TABLE"
        and toks[2].kind in ("ident", "word")
        and toks[3].upper in ("DISABLE", "ENABLE")
        and toks[4].upper == "KEYS"
    ):
        return Decision(Action.IGNORE, "alter_table_keys", table=ident_name(toks[2]))
    raise PolicyRefusal("statement kind is not on the allow-list")


def _names_unqualified(toks: list[Token]) -> None:
    for left, right in itertools.pairwise(toks):
        if right.text == "." and left.kind in ("ident", "word"):
            raise PolicyRefusal(f"name qualified with a schema: {left.text}.")


def _table_name(tok: Token | None, rest: list[Token]) -> str:
    if tok is None or tok.kind not in ("ident", "word"):
        raise PolicyRefusal("missing table name")
    if rest and rest[0].text == ".":
        raise PolicyRefusal(f"table name qualified with a schema: {tok.text}.")
    return ident_name(tok)


def _create(sql: bytes, toks: list[Token]) -> Decision:
    words = [t.upper for t in toks]
    if len(words) > 1 and words[1] in ("DATABASE", "SCHEMA", "USER", "ROLE", "SERVER"):
        raise PolicyRefusal(f"CREATE {words[1]} is not allowed")
    index = 1
    if words[index : index + 2] == ["OR", "REPLACE"]:
        index += 2
    if index < len(words) and words[index] == "TABLE":
        return _create_table(sql, toks, index + 1)
    # CREATE [OR REPLACE] [ALGORITHM=..] [DEFINER=..] [SQL SECURITY ..] VIEW|TRIGGER|...
    for pos in range(index, len(toks)):
        kind = _OBJECT_KINDS.get(words[pos])
        if kind is not None and toks[pos].kind == "word":
            if "SONAME" in words:
                raise PolicyRefusal("CREATE FUNCTION ... SONAME loads a plugin")
            name_tok = toks[pos + 1] if pos + 1 < len(toks) else None
            if name_tok is not None and name_tok.upper == "IF":
                name_tok = toks[pos + 4] if pos + 4 < len(toks) else None
            name = ident_name(name_tok) if name_tok is not None else "?"
            return Decision(Action.OBJECT, kind, object_name=name)
        if words[pos] not in _CREATE_PREFIX_WORDS and toks[pos].kind == "word":
            break
    raise PolicyRefusal("CREATE of something other than a table, view, trigger, routine or event")


def _create_table(sql: bytes, toks: list[Token], index: int) -> Decision:
    words = [t.upper for t in toks]
    if words[index : index + 3] == ["IF", "NOT", "EXISTS"]:
        index += 3
    name_tok = toks[index] if index < len(toks) else None
    name = _table_name(name_tok, toks[index + 1 :])
    body = toks[index + 1 :]
    if not body or body[0].text != "(":
        raise PolicyRefusal(f"CREATE TABLE {name} must define its columns (no LIKE / SELECT)")
    depth, close = 0, -1
    for pos, tok in enumerate(body):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                close = pos
                break
    if close < 0:
        raise PolicyRefusal(f"CREATE TABLE {name}: unbalanced parentheses")
    definition, options = body[1:close], body[close + 1 :]
    _names_unqualified(definition)
    for tok in definition:
        if tok.kind == "word" and tok.upper in _DEFINITION_REFUSED_WORDS:
            raise PolicyRefusal(f"CREATE TABLE {name}: {tok.upper} is not allowed in a definition")
    _table_options(name, options)
    return Decision(Action.DDL, "create_table", table=name, sql=sql)


def _table_options(name: str, options: list[Token]) -> None:
    """Every option word must be on the allow-list; each takes at most one value."""
    pos = 0
    while pos < len(options):
        tok = options[pos]
        if tok.text == ",":
            pos += 1
            continue
        if tok.kind != "word" or tok.upper not in _TABLE_OPTION_WORDS:
            raise PolicyRefusal(f"CREATE TABLE {name}: table option {tok.text!r} is not allowed")
        pos += 1
        value: Token | None = None
        if pos < len(options) and options[pos].text == "=":
            value = options[pos + 1] if pos + 1 < len(options) else None
            pos += 2
        elif pos < len(options) and options[pos].upper not in _TABLE_OPTION_WORDS:
            value = options[pos]
            pos += 1
        if tok.upper == "ENGINE" and (
            value is None or ident_name(value).upper() not in ALLOWED_ENGINES
        ):
            shown = value.text if value else "nothing"
            raise PolicyRefusal(f"CREATE TABLE {name}: ENGINE={shown} is not allowed")
        if value is not None and value.kind == "punct":
            raise PolicyRefusal(f"CREATE TABLE {name}: malformed table option {tok.text}")


def _drop(sql: bytes, toks: list[Token]) -> Decision:
    words = [t.upper for t in toks]
    what = words[1] if len(words) > 1 else ""
    names = toks[4:] if words[2:4] == ["IF", "EXISTS"] else toks[2:]
    if what == "TABLE":
        _names_unqualified(names)
        tables = [ident_name(t) for t in names if t.kind in ("ident", "word")]
        if not tables or any(
            t.text not in (",",) and t.kind not in ("ident", "word") for t in names
        ):
            raise PolicyRefusal("DROP TABLE of something other than plain table names")
        if len(tables) > 1:
            # dumps drop one table per statement; the loader tracks each table's fate
            raise PolicyRefusal("DROP TABLE of several tables in one statement")
        return Decision(Action.DDL, "drop_table", table=tables[0], sql=sql)
    if what in _OBJECT_KINDS:
        name = ident_name(names[0]) if names else "?"
        return Decision(Action.IGNORE, f"drop_{_OBJECT_KINDS[what]}", object_name=name)
    raise PolicyRefusal(f"DROP {what or '?'} is not allowed")


def _set(sql: bytes, toks: list[Token]) -> Decision:
    """SET with user variables and allow-listed session variables; keeps what matters."""
    assignments = _split_top_level(toks)
    if len(assignments) == 1 and _is_gtid_purged(assignments[0]):
        return Decision(Action.IGNORE, "gtid_purged")
    kept: list[str] = []
    for part in assignments:
        target, value = _assignment(part)
        if target is None:
            kept.append(" ".join(t.text for t in part))
            continue
        if target in MANAGED_VARIABLES:
            continue
        if target not in APPLIED_VARIABLES:
            raise PolicyRefusal(f"SET {target} is not on the allow-list")
        _value_allowed(value)
        if target in CHARSET_VARIABLES:
            _charset_allowed(value)
        elif target == "sql_mode":
            _sql_mode_allowed(value)
        kept.append(f"{target} = " + " ".join(t.text for t in value))
    if not kept:
        return Decision(Action.IGNORE, "set")
    return Decision(Action.SESSION, "set", sql=("SET " + ", ".join(kept)).encode())


def _is_gtid_purged(part: list[Token]) -> bool:
    """mysqldump's GTID bookkeeping of the source server: only string literals, never run."""
    return (
        part[0].kind == "var"
        and part[0].text.upper() == "@@GLOBAL.GTID_PURGED"
        and len(part) > 2
        and part[1].text == "="
        and all(tok.kind == "string" for tok in part[2:])
    )


def _split_top_level(toks: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in toks:
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        if tok.text == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    if any(not part for part in parts):
        raise PolicyRefusal("empty SET assignment")
    return parts


def _assignment(part: list[Token]) -> tuple[str | None, list[Token]]:
    """(session variable name, value), or (None, value) for NAMES / user variables."""
    first = part[0]
    if first.upper in ("NAMES",) or (
        first.upper == "CHARACTER" and len(part) > 1 and part[1].upper == "SET"
    ):
        value = part[1:] if first.upper == "NAMES" else part[2:]
        _value_allowed(value)
        _charset_allowed(value[:1])
        return None, value
    if first.kind == "var" and not first.text.startswith("@@"):
        if len(part) < 3 or part[1].text not in ("=", ":="):
            raise PolicyRefusal("malformed user variable assignment")
        _value_allowed(part[2:])
        return None, part[2:]
    rest = part
    if first.upper in ("SESSION", "LOCAL"):
        rest = part[1:]
    elif first.upper in ("GLOBAL", "PERSIST", "PERSIST_ONLY"):
        raise PolicyRefusal(f"SET {first.upper} is not allowed")
    name_tok = rest[0]
    name = name_tok.text
    if name_tok.kind == "var":
        lowered = name.lower()
        for prefix in ("@@session.", "@@local.", "@@"):
            if lowered.startswith(prefix):
                name = name[len(prefix) :]
                break
        if "." in name:
            raise PolicyRefusal(f"SET {name_tok.text} is not allowed")
    elif name_tok.kind != "word":
        raise PolicyRefusal("malformed SET")
    if len(rest) < 3 or rest[1].text not in ("=", ":="):
        raise PolicyRefusal(f"malformed SET {name}")
    return name.lower(), rest[2:]


def _literal_text(tok: Token) -> str | None:
    if tok.kind == "string":
        return tok.text[1:-1]
    if tok.kind in ("word", "ident"):
        return ident_name(tok)
    return None


def _charset_allowed(value: list[Token]) -> None:
    """Literal character set names must be safe ones; variables are checked by the server."""
    for tok in value:
        name = _literal_text(tok)
        if name is not None and name.lower() not in SAFE_CHARSETS:
            raise PolicyRefusal(f"character set {name} is not allowed")


def unsafe_sql_mode(mode: str) -> str | None:
    """The first flag of ``mode`` that changes lexing, if any."""
    flags = {flag.strip().upper() for flag in mode.split(",")}
    return next((flag for flag in UNSAFE_SQL_MODES if flag in flags), None)


def _sql_mode_allowed(value: list[Token]) -> None:
    for tok in value:
        if tok.kind == "string":
            bad = unsafe_sql_mode(tok.text[1:-1])
            if bad:
                raise PolicyRefusal(f"sql_mode {bad} is not allowed")


_VALUE_FUNCTIONS = frozenset({"IFNULL", "COALESCE", "CONCAT"})


def _value_allowed(value: list[Token]) -> None:
    """Literals, variables, identifiers (charset names, ON/OFF) and a few pure functions."""
    if not value:
        raise PolicyRefusal("SET without a value")
    for pos, tok in enumerate(value):
        if tok.kind == "punct" and tok.text in ("(", ")", ",", "-", "+"):
            continue
        if tok.kind in ("string", "number", "var", "ident"):
            continue
        if tok.kind == "word":
            following = value[pos + 1].text if pos + 1 < len(value) else ""
            if following == "(" and tok.upper not in _VALUE_FUNCTIONS:
                raise PolicyRefusal(f"function {tok.text}() is not allowed in SET")
            if tok.upper in ("SELECT", "FROM"):
                raise PolicyRefusal("subqueries are not allowed in SET")
            continue
        raise PolicyRefusal(f"{tok.text!r} is not allowed in a SET value")
