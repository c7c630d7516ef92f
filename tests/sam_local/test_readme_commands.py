"""The README's `sam local invoke` commands are the ones the tests and make sam-local run."""

from __future__ import annotations

from pathlib import Path

from dumpflow.local.demo_stack import REPO_ROOT
from dumpflow.local.sam_invoke import SamLocal
from dumpflow.local.sam_local import DEFAULT_ENV_VARS, invoke_command
from dumpflow.local.samples import SAMPLE_FUNCTIONS, SampleEvents

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_shows_one_command_per_sample_as_make_sam_local_prints_it() -> None:
    samples = SampleEvents()
    for sample, function in SAMPLE_FUNCTIONS.items():
        printed = invoke_command(function, samples.path(sample), DEFAULT_ENV_VARS)
        command = printed.removeprefix("AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ")
        assert command != printed
        assert f"\n{command}\n" in README, command


def test_the_tests_invoke_with_the_documented_options() -> None:
    sam = SamLocal(Path("sam"), Path("t.yaml"), DEFAULT_ENV_VARS, "ap-northeast-1", {})
    argv = sam.command("IngestFunction", SampleEvents().path("sqs_dump_object_created.json"))
    documented = invoke_command(
        "IngestFunction", SampleEvents().path("sqs_dump_object_created.json"), DEFAULT_ENV_VARS
    )
    options = [a for a in argv[4:] if a.startswith("--") and a not in ("--template", "--event")]
    assert options == ["--env-vars", "--region", "--skip-pull-image"]
    for option in options:
        assert f" {option} " in documented
