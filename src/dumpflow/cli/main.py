"""Entry point of the ``dumpflow`` console script: one Typer app, commands from one module each."""

from __future__ import annotations

import typer

from dumpflow.cli import demo_cmds, load_cmds, ops_cmds, sample_cmds

app = typer.Typer(
    name="dumpflow",
    help="Event-driven ingestion of daily MySQL dumps: load, inspect, replay, backfill, demo.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def dumpflow() -> None:
    """Keeps ``dumpflow <command>`` a command group even while only one command is registered."""


for module in (load_cmds, sample_cmds, ops_cmds, demo_cmds):
    module.register(app)


if __name__ == "__main__":
    app()
