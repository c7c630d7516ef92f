"""``python -m dumpflow.loader.quality dbt-columns [--check]``: regenerate the shipped list."""

from __future__ import annotations

import sys

from dumpflow.loader.quality.dbt_columns import main

USAGE = "usage: python -m dumpflow.loader.quality dbt-columns [--check] [--sources F] [--out F]\n"

if __name__ == "__main__":
    if sys.argv[1:2] != ["dbt-columns"]:
        sys.stderr.write(USAGE)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[2:]))
