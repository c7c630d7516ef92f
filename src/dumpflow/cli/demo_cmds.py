"""``dumpflow demo``: the whole dump flow on this machine, no AWS account (what ``make demo`` runs).

This module only declares the command. The demo needs what the operator CLI does not (moto,
PyYAML, dbt: the ``local`` extra) and a dumpflow checkout (template.yaml, glue/, dbt_task/);
both are checked before ``dumpflow.cli.demo_run`` is imported, so a plain ``pip install .``
gets a one-line answer naming what to install instead of a ModuleNotFoundError.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

EXIT_SETUP_FAILED = 2
SCHEMA_SUFFIX = re.compile(r"[A-Za-z0-9_]{1,24}")
# import name -> what provides it (pyproject.toml, extra "local")
DEMO_MODULES = {"moto": "moto[server]", "yaml": "PyYAML", "dbt": "dbt-core + dbt-mysql"}
INSTALL_HINT = "pip install 'dumpflow[local]' (or make install in a checkout)"


class Engine(StrEnum):
    """The warehouse server the demo runs on (the dbt target follows: contract 2)."""

    MARIADB = "mariadb"
    MYSQL = "mysql"


def missing_modules() -> list[str]:
    """The demo's dependencies that are not installed (their distribution names)."""
    return [
        dist for module, dist in DEMO_MODULES.items() if importlib.util.find_spec(module) is None
    ]


def demo(
    scale: Annotated[
        float,
        typer.Option("--scale", min=0.001, help="Size of the sample dumps (1.0 = 16k rooms)."),
    ] = 0.05,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave moto, the database and the files up.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where dumps and the log go (default .demo/).")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="Warehouse server: mariadb ($DUMPFLOW_DSN, else a throw-away server) or mysql "
            "($DUMPFLOW_MYSQL_DSN, default 127.0.0.1:3307, started by scripts/mysql-server).",
        ),
    ] = Engine.MARIADB,
    dsn: Annotated[
        str | None,
        typer.Option("--dsn", help="Server to use instead (mysql://user:pass@host:port)."),
    ] = None,
    schema_suffix: Annotated[
        str,
        typer.Option(
            "--schema-suffix",
            help="Use staging<SUFFIX>, silver<SUFFIX>, gold<SUFFIX>, seeds<SUFFIX> instead of "
            "the real schemas (keeps a shared server's warehouse untouched).",
        ),
    ] = "",
) -> None:
    """Run the whole dump flow locally: real handlers, loader and dbt; AWS replaced by moto."""
    if schema_suffix and not SCHEMA_SUFFIX.fullmatch(schema_suffix):
        raise typer.BadParameter(
            f"{schema_suffix!r}: use letters, digits and underscores, at most 24",
            param_hint="--schema-suffix",
        )
    missing = missing_modules()
    if missing:
        typer.echo(
            f"dumpflow demo: needs {', '.join(missing)}, which the operator CLI does not: "
            f"{INSTALL_HINT}",
            err=True,
        )
        raise typer.Exit(EXIT_SETUP_FAILED)
    demo_run = importlib.import_module("dumpflow.cli.demo_run")
    demo_run.run_demo(
        demo_run.DemoOptions(
            scale=scale,
            keep=keep,
            as_json=as_json,
            workdir=workdir,
            engine=engine.value,
            dsn=dsn,
            schema_suffix=schema_suffix,
        )
    )


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo)
