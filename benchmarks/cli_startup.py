"""Start-up time of ``dumpflow --help`` side by side with its baselines, in one run.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]

Each command runs ``--runs`` times, interleaved (so load from other work hits all alike);
the table shows the median and the fastest wall time, and the ratio of each median to the
bare interpreter's. Rows:

- ``python -c pass``: the floor (interpreter start-up).
- ``dumpflow --help`` / ``--version``: the console script as installed.
- ``dumpflow status --help``: one command's module (boto3) loaded on demand.
- ``eager imports``: every command module imported up front, as the CLI did before it
  loaded commands lazily (the baseline the 0.3 s goal was set against).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
EAGER = (
    "import dumpflow.cli.ops_cmds, dumpflow.cli.load_cmds, dumpflow.cli.sample_cmds, "
    "dumpflow.cli.demo_run"
)
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "dumpflow --help": [str(BIN / "dumpflow"), "--help"],
    "dumpflow --version": [str(BIN / "dumpflow"), "--version"],
    "dumpflow status --help": [str(BIN / "dumpflow"), "status", "--help"],
    "eager imports (before)": [sys.executable, "-c", EAGER],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            times[name].append(time.perf_counter() - started)
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<26} {'median':>8} {'fastest':>8} {'x python':>9}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<26} {median:>7.3f}s {min(samples):>7.3f}s {median / floor:>8.1f}x")


if __name__ == "__main__":
    main()
