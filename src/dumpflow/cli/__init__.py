"""The ``dumpflow`` command line (Typer + rich at the edge; the logic lives in the package)."""
