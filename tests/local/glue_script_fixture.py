"""Stand-in Glue entry script: fails for a "corrupt" dump key, else returns 0."""

from __future__ import annotations


def main(argv: list[str]) -> int:
    arguments = dict(zip(argv[::2], argv[1::2], strict=True))
    if "corrupt" in arguments["--dump_key"]:
        raise ValueError(f"{arguments['--dump_key']}: sha256 does not match the manifest")
    return 0
