"""Operator logic behind ``dumpflow status``, ``replay`` and ``backfill`` (no rendering here)."""
