"""The second wall: what the loader's own account may do on the server.

The policy is the first wall; the account is the second. The production account holds
privileges on the target schema and its helper schemas only (docs/deploy.md), so even a
statement the policy wrongly let through could not read ``mysql.user``, write files or
touch another schema. This module names every grant beyond that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pymysql

from dumpflow.loader.publish import HELPER_SUFFIXES

_GRANT = re.compile(r"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?P<target>.+?)\s+TO\s", re.S | re.I)
_DB_PART = re.compile(r"^(?:`(?P<quoted>(?:[^`]|``)*)`|(?P<bare>[^.\s]+))\.")


SYSTEM_SCHEMAS = ("mysql", "sys", "performance_schema", "information_schema")


def _like(pattern: str) -> re.Pattern[str]:
    """A GRANT database pattern (LIKE syntax, backslash escapes) as a regular expression."""
    out: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.S | re.I)


@dataclass(frozen=True, slots=True)
class Grants:
    """Grants beyond the target family: ``global_`` (server-wide or on system schemas:
    FILE, SUPER, ``*.*``, ``mysql.*``, roles, proxies) and ``other`` (other schemas)."""

    global_: list[str]
    other: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.global_, *self.other]


def broad_grants(grants: list[str], schema: str) -> Grants:
    """Classify SHOW GRANTS lines that reach beyond ``schema`` and its helper schemas."""
    family = {schema, *(schema + suffix for suffix in HELPER_SUFFIXES)}
    found = Grants([], [])
    for line in grants:
        match = _GRANT.match(line.strip())
        if match is None:
            # a role granted to the account (GRANT `role` TO ...): its privileges count too
            found.global_.append(line.split(" TO ")[0].strip())
            continue
        privs, target = match.group("privs").strip(), match.group("target").strip()
        shown = f"{privs if len(privs) <= 60 else privs[:57] + '...'} ON {target}"
        if privs.upper().startswith("PROXY"):
            found.global_.append(shown)
            continue
        if target.startswith("*.*") or target == "*":
            if privs.upper() != "USAGE":
                found.global_.append(shown)
            continue
        part = _DB_PART.match(target.removeprefix("TABLE ").removeprefix("PROCEDURE "))
        if part is None:
            found.global_.append(shown)
            continue
        raw = part.group("quoted")
        name = raw.replace("``", "`") if raw is not None else part.group("bare")
        if target.endswith(".*"):
            # database-level grants are LIKE patterns: '_' and '%' are wildcards
            pattern = _like(name)
            if any(pattern.fullmatch(system) for system in SYSTEM_SCHEMAS):
                found.global_.append(shown)
            elif _literal(name) not in family:
                found.other.append(shown)
        elif name.lower() in SYSTEM_SCHEMAS:
            found.global_.append(shown)
        elif name not in family:
            found.other.append(shown)
    return found


def _literal(pattern: str) -> str | None:
    """The one name a LIKE pattern matches, or None if it holds a wildcard."""
    out: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "%_":
            return None
        else:
            out.append(char)
    return "".join(out)


def account_grants(conn: pymysql.connections.Connection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        return [str(row[0]) for row in cur.fetchall()]
