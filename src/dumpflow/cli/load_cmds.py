"""Placeholder until the owning issue lands its commands (replaced, never shipped as is)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
