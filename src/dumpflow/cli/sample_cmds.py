"""``dumpflow sample-dump``: realistic source dumps for the demo, the tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dumpflow.db import DSN_ENV, Dsn, DsnError
from dumpflow.sample import SampleDumpError, write_sample_dumps


def _parse_date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {raw!r}") from exc


def sample_dump(
    date: Annotated[str, typer.Option("--date", help="First business date, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the dumps and manifests.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Consecutive dates to write.")] = 1,
    scale: Annotated[
        float, typer.Option("--scale", min=0.001, help="1.0 = 700 properties, 16,000 rooms.")
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 42,
    gzip: Annotated[bool, typer.Option("--gzip", help="Write gghouse_YYYYMMDD.sql.gz.")] = False,
    dsn: Annotated[
        str | None,
        typer.Option("--dsn", help="MariaDB for the scratch schema (default $DUMPFLOW_DSN)."),
    ] = None,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant",
            help="Make the LAST date a dump the quality gate refuses: "
            "stale (the day before's content), shrunk (half of tenants gone), "
            "dropped-column (rooms.rent gone; shrunk and dropped-column need --days 2+).",
        ),
    ] = None,
) -> None:
    """Write realistic dumps of the source system (real mariadb-dump output) + manifests."""
    logging.basicConfig(level=logging.WARNING)
    console = Console()
    try:
        server = Dsn.from_env(dsn)
    except DsnError as exc:
        setting = "--dsn" if dsn else DSN_ENV
        Console(stderr=True).print(f"sample-dump: {setting}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    try:
        written = write_sample_dumps(
            out,
            _parse_date(date),
            days,
            scale=scale,
            seed=seed,
            gzip=gzip,
            dsn=server,
            variant=variant,
        )
    except SampleDumpError as exc:
        Console(stderr=True).print(
            f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from exc
    table = Table("date", "dump", "bytes", "manifest")
    table.columns[1].overflow = table.columns[3].overflow = "fold"  # paths wrap, never cut
    table.columns[2].no_wrap = True
    table.columns[2].justify = "right"
    for dump in written:
        table.add_row(
            dump.dump_date.isoformat(),
            str(dump.path),
            f"{dump.manifest['dump_size_bytes']:,}",
            str(dump.manifest_path),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``sample-dump`` to the app."""
    app.command("sample-dump")(sample_dump)
