"""Text helpers for the terminal tables of every command."""

from __future__ import annotations


def shorten(text: str | None, width: int) -> str:
    """One line of at most ``width`` characters, an ellipsis marking what was cut."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
