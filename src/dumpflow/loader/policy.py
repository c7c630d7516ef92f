"""What a dump may do: an allow-list of statement shapes, everything else is refused.

A dump is untrusted input. It may define its own tables and insert literal rows into them,
adjust a few session settings that change how its bytes are read (character set, time
zone, sql_mode), and carry objects the loader lists but never runs (views, triggers,
routines, events). Any other statement, and any name qualified with a schema, refuses the
whole load: the loader never guesses which unknown statement is harmless.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dumpflow.loader.splitter import INSERT_HEAD, Statement, literal_rows_end, unquote_identifier
from dumpflow.loader.sqltext import (
    LexRefusal,
    ServerFlavor,
    Token,
    ident_name,
    lex,
    rebuild,
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
# Added to every sql_mode the dump sets: a value that does not fit its column fails the load
# instead of being truncated (zero dates stay allowed: NO_ZERO_DATE is not added).
STRICT_MODE = "STRICT_ALL_TABLES"
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


def decide(stmt: Statement, flavor: ServerFlavor, *, utf8_names: bool = True) -> Decision:
    """The decision for one statement; never raises for bad input (returns REFUSE).

    Row statements matched by the splitter's literal-rows pattern are sent as read (that
    pattern admits literals only). Everything else is lexed as the server would, judged on
    those tokens, and the ``sql`` of the decision is rebuilt from them.
    """
    if stmt.insert_table is not None:
        return Decision(Action.ROWS, "insert", table=stmt.insert_table, sql=stmt.sql)
    try:
        toks = lex(stmt.sql, flavor, utf8_names=utf8_names)
    except LexRefusal as exc:
        unrun = _object_of(exc.partial)
        if unrun is not None:
            return unrun
        return Decision(Action.REFUSE, _kind_label(exc.partial), reason=str(exc))
    if not toks:
        return Decision(Action.IGNORE, "comment")
    try:
        return _classify(toks)
    except PolicyRefusal as exc:
        return Decision(Action.REFUSE, _kind_label(toks), reason=str(exc))


def _object_of(partial: list[Token]) -> Decision | None:
    """A view/trigger/routine/event is never run: its body need not lex like ours."""
    if not partial or partial[0].upper not in ("CREATE", "DROP"):
        return None
    try:
        decision = _create(partial) if partial[0].upper == "CREATE" else _drop(partial)
    except (PolicyRefusal, IndexError):
        return None
    if decision.action is Action.OBJECT or (
        decision.kind.startswith("drop_") and (decision.action is Action.IGNORE)
    ):
        return decision
    return None


def _kind_label(toks: list[Token]) -> str:
    words = [t.upper for t in toks[:2] if t.kind == "word"]
    return " ".join(words) or "unknown"


def _classify(toks: list[Token]) -> Decision:
    first = toks[0].upper
    if first == "CREATE":
        return _create(toks)
    _no_qualified_names(toks)
    if first in ("INSERT", "REPLACE"):
        sql = rebuild(toks)
        head = INSERT_HEAD.match(sql)
        if head is None or literal_rows_end(sql, head.end()) != len(sql):
            raise PolicyRefusal("INSERT of something other than literal rows")
        return Decision(Action.ROWS, "insert", table=unquote_identifier(head.group(1)), sql=sql)
    if first == "SET":
        return _set(toks[1:])
    if first == "DROP":
        return _drop(toks)
    if first == "LOCK" and len(toks) > 1 and toks[1].upper in ("TABLES", "TABLE"):
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


def _no_qualified_names(toks: list[Token]) -> None:
    """A '.' outside numbers and quotes can only qualify a name: refused everywhere."""
    for pos, tok in enumerate(toks):
        if tok.kind == "punct" and tok.text == ".":
            left = toks[pos - 1].text if pos else ""
            raise PolicyRefusal(f"name qualified with a schema: {left}.")


def _table_name(tok: Token | None) -> str:
    if tok is None or tok.kind not in ("ident", "word"):
        raise PolicyRefusal("missing table name")
    return ident_name(tok)


def _create(toks: list[Token]) -> Decision:
    words = [t.upper for t in toks]
    if len(words) > 1 and words[1] in ("DATABASE", "SCHEMA", "USER", "ROLE", "SERVER"):
        raise PolicyRefusal(f"CREATE {words[1]} is not allowed")
    index = 1
    if words[index : index + 2] == ["OR", "REPLACE"]:
        index += 2
    if index < len(words) and words[index] == "TABLE":
        _no_qualified_names(toks)
        return _create_table(toks, index + 1)
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
        if words[pos] in ("SEQUENCE", "TEMPORARY"):
            raise PolicyRefusal(f"CREATE {words[pos]} is not supported by the loader")
        if words[pos] not in _CREATE_PREFIX_WORDS and toks[pos].kind == "word":
            break
    raise PolicyRefusal("CREATE of something other than a table, view, trigger, routine or event")


def _create_table(toks: list[Token], index: int) -> Decision:
    words = [t.upper for t in toks]
    if words[index : index + 3] == ["IF", "NOT", "EXISTS"]:
        index += 3
    name = _table_name(toks[index] if index < len(toks) else None)
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
    if any(t.kind == "word" and t.upper in ("PERIOD", "VERSIONING") for t in body):
        raise PolicyRefusal(
            f"CREATE TABLE {name}: system-versioned tables are not supported by the loader"
        )
    for tok in definition:
        if tok.kind == "word" and tok.upper in _DEFINITION_REFUSED_WORDS:
            raise PolicyRefusal(f"CREATE TABLE {name}: {tok.upper} is not allowed in a definition")
    for item in split_items(definition):
        if not item:
            raise PolicyRefusal(f"CREATE TABLE {name}: empty item in the definition")
        _definition_item(name, item)
    _table_options(name, options)
    return Decision(Action.DDL, "create_table", table=name, sql=rebuild(toks))


def split_items(toks: list[Token]) -> list[list[Token]]:
    items: list[list[Token]] = [[]]
    depth = 0
    for tok in toks:
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
        elif tok.kind == "punct" and tok.text == ")":
            depth -= 1
        if tok.kind == "punct" and tok.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(tok)
    return items


# Words of index and constraint items; a name right after one of these may be followed by
# its column list, and is no function call.
_INDEX_WORDS = frozenset(
    {"PRIMARY", "KEY", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "FOREIGN", "CONSTRAINT"}
)
_NAME_BEFORE_LIST = frozenset({"KEY", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "REFERENCES"})
# Words that may be followed by '(' without being a function call.
_PAREN_WORDS = frozenset(
    {
        *_INDEX_WORDS,
        "AS", "CHECK", "DEFAULT", "IN", "AND", "OR", "NOT", "XOR", "WHEN", "THEN", "ELSE",
        "BETWEEN", "LIKE", "IS", "INTERVAL", "REFERENCES", "RLIKE", "REGEXP", "CASE",
        # column types with a length, precision or member list
        "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "DECIMAL", "DEC",
        "NUMERIC", "FIXED", "FLOAT", "DOUBLE", "REAL", "BIT", "CHAR", "VARCHAR", "BINARY",
        "VARBINARY", "TEXT", "BLOB", "ENUM", "SET", "DATETIME", "TIMESTAMP", "TIME", "YEAR",
        "NCHAR", "NVARCHAR", "CHARACTER", "VARCHARACTER", "SIGNED", "UNSIGNED",
    }
)  # fmt: skip
# Functions a DEFAULT, generated column or CHECK may call: pure ones and the clock. No
# server state (USER(), DATABASE(), VERSION(), @@vars, UUID()), nothing with side effects.
SAFE_FUNCTIONS = frozenset(
    {
        "CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP", "CURDATE", "CURRENT_DATE",
        "CURTIME", "CURRENT_TIME", "UTC_TIMESTAMP", "UTC_DATE", "UTC_TIME", "UNIX_TIMESTAMP",
        "JSON_VALID", "JSON_EXTRACT", "JSON_UNQUOTE", "JSON_VALUE", "JSON_ARRAY", "JSON_OBJECT",
        "JSON_LENGTH", "JSON_CONTAINS", "JSON_TYPE", "CONCAT", "CONCAT_WS", "LOWER", "UPPER",
        "LCASE", "UCASE", "SUBSTRING", "SUBSTR", "LEFT", "RIGHT", "LENGTH", "CHAR_LENGTH",
        "CHARACTER_LENGTH", "OCTET_LENGTH", "TRIM", "LTRIM", "RTRIM", "REPLACE", "REVERSE",
        "LPAD", "RPAD", "LOCATE", "INSTR", "HEX", "UNHEX", "MD5", "SHA1", "SHA2", "CRC32",
        "IF", "IFNULL", "NULLIF", "COALESCE", "ISNULL", "GREATEST", "LEAST", "ABS", "ROUND",
        "FLOOR", "CEIL", "CEILING", "MOD", "TRUNCATE", "SIGN", "DATE", "YEAR", "MONTH", "DAY",
        "DAYOFMONTH", "HOUR", "MINUTE", "SECOND", "WEEKDAY", "DAYOFWEEK", "DATE_FORMAT",
        "DATE_ADD", "DATE_SUB", "DATEDIFF", "TIMESTAMPDIFF", "STR_TO_DATE", "FROM_UNIXTIME",
        "CAST", "CONVERT", "INET_ATON", "INET_NTOA",
    }
)  # fmt: skip
# Bare words that read server state or sequences.
_STATE_WORDS = frozenset(
    {"CURRENT_USER", "CURRENT_ROLE", "SESSION_USER", "SYSTEM_USER", "USER", "NEXTVAL",
     "LASTVAL", "NEXT", "PREVIOUS", "DATABASE", "SCHEMA", "VERSION"}
)  # fmt: skip


def _definition_item(table: str, item: list[Token]) -> None:
    """A column, index or constraint: no variable, no call outside SAFE_FUNCTIONS."""
    is_index = item[0].kind == "word" and item[0].upper in _INDEX_WORDS
    if not is_index and item[0].kind not in ("ident", "word"):
        raise PolicyRefusal(f"CREATE TABLE {table}: malformed definition item")
    depth = 0
    for pos, tok in enumerate(item):
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
        elif tok.kind == "punct" and tok.text == ")":
            depth -= 1
        if tok.kind == "var":
            raise PolicyRefusal(f"CREATE TABLE {table}: variable {tok.text} in a definition")
        if tok.kind not in ("word", "ident"):
            continue
        following = item[pos + 1] if pos + 1 < len(item) else None
        if following is None or following.text != "(" or following.kind != "punct":
            if tok.kind == "word" and tok.upper in _STATE_WORDS:
                raise PolicyRefusal(f"CREATE TABLE {table}: {tok.text} reads server state")
            continue
        if tok.kind == "word" and tok.upper in _PAREN_WORDS:
            continue
        previous = item[pos - 1].upper if pos else ""
        if pos == 0 and not is_index:
            raise PolicyRefusal(f"CREATE TABLE {table}: malformed column definition")
        if is_index and (previous in _NAME_BEFORE_LIST or _prefix_length(item, pos, depth)):
            continue
        if previous == "REFERENCES":
            continue
        if ident_name(tok).upper() not in SAFE_FUNCTIONS:
            raise PolicyRefusal(
                f"CREATE TABLE {table}: function {ident_name(tok)}() is not allowed"
            )


def _prefix_length(item: list[Token], pos: int, depth: int) -> bool:
    """A key part with a prefix length: `col`(4) directly in the key's column list."""
    part = item[pos + 1 : pos + 4]
    return (
        depth == 1
        and len(part) == 3
        and part[1].kind == "number"
        and part[2].kind == "punct"
        and part[2].text == ")"
    )


def _table_options(name: str, options: list[Token]) -> None:
    """Every option word must be on the allow-list; each takes at most one literal value."""
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
        if value is not None and value.kind not in ("word", "ident", "string", "number"):
            raise PolicyRefusal(f"CREATE TABLE {name}: malformed table option {tok.text}")


def _drop(toks: list[Token]) -> Decision:
    words = [t.upper for t in toks]
    what = words[1] if len(words) > 1 else ""
    names = toks[4:] if words[2:4] == ["IF", "EXISTS"] else toks[2:]
    if what == "TABLE":
        tables = [ident_name(t) for t in names if t.kind in ("ident", "word")]
        if not tables or any(
            t.text not in (",",) and t.kind not in ("ident", "word") for t in names
        ):
            raise PolicyRefusal("DROP TABLE of something other than plain table names")
        if len(tables) > 1:
            # dumps drop one table per statement; the loader tracks each table's fate
            raise PolicyRefusal("DROP TABLE of several tables in one statement")
        return Decision(Action.DDL, "drop_table", table=tables[0], sql=rebuild(toks))
    if what in _OBJECT_KINDS:
        name = ident_name(names[0]) if names else "?"
        return Decision(Action.IGNORE, f"drop_{_OBJECT_KINDS[what]}", object_name=name)
    raise PolicyRefusal(f"DROP {what or '?'} is not allowed")


def _set(toks: list[Token]) -> Decision:
    """SET with user variables and allow-listed session variables; keeps what matters."""
    assignments = _split_top_level(toks)
    if len(assignments) == 1 and _is_gtid_purged(assignments[0]):
        return Decision(Action.IGNORE, "gtid_purged")
    kept: list[str] = []
    for part in assignments:
        target, value = _assignment(part)
        if target is None:
            kept.append(rebuild(part).decode("utf-8", "surrogateescape").strip())
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
        shown = rebuild(value).decode("utf-8", "surrogateescape").strip()
        if target == "sql_mode":
            # the dump's mode, always strict: a value that does not fit fails the load
            shown = f"CONCAT_WS(',', NULLIF({shown}, ''), '{STRICT_MODE}')"
        kept.append(f"{target} = {shown}")
    if not kept:
        return Decision(Action.IGNORE, "set")
    sql = "SET " + ", ".join(kept)
    return Decision(Action.SESSION, "set", sql=sql.encode("utf-8", "surrogateescape"))


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
    """Literals, user variables, the dump's own settings, names and a few pure functions."""
    if not value:
        raise PolicyRefusal("SET without a value")
    for pos, tok in enumerate(value):
        if tok.kind == "punct" and tok.text in ("(", ")", ",", "-", "+"):
            continue
        if tok.kind == "var":
            if tok.text.startswith("@@") and _system_name(tok) not in _READABLE_VARIABLES:
                raise PolicyRefusal(f"{tok.text} is not readable in SET")
            continue
        if tok.kind in ("string", "number"):
            continue
        if tok.kind in ("word", "ident"):
            following = value[pos + 1] if pos + 1 < len(value) else None
            if following is not None and following.kind == "punct" and following.text == "(":
                if ident_name(tok).upper() not in _VALUE_FUNCTIONS:
                    raise PolicyRefusal(f"function {ident_name(tok)}() is not allowed in SET")
            elif tok.kind == "word" and tok.upper in _STATE_WORDS:
                raise PolicyRefusal(f"{tok.text} reads server state")
            if tok.upper in ("SELECT", "FROM"):
                raise PolicyRefusal("subqueries are not allowed in SET")
            continue
        raise PolicyRefusal(f"{tok.text!r} is not allowed in a SET value")


_READABLE_VARIABLES = APPLIED_VARIABLES | MANAGED_VARIABLES | {"collation_connection"}


def _system_name(tok: Token) -> str:
    name = tok.text[2:]
    if name.startswith("`"):
        name = name[1:-1].replace("``", "`")
    lowered = name.lower()
    for prefix in ("session.", "local."):
        if lowered.startswith(prefix):
            return lowered[len(prefix) :]
    return lowered
