"""Every operator setting with a bad value: one line naming the setting, exit code 2, never a
traceback, and no AWS call (the checks run before any client is made)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dumpflow.cli.main import app

EXAMPLES = 300 if os.environ.get("DUMPFLOW_DEEP") else 20
VALID = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: a call would fail loudly
    "DUMPFLOW_TABLE": "dumpflow-state",
    "DUMPFLOW_BUCKET": "gghouse-dumps",
    "DUMPFLOW_QUEUE_URL": "http://127.0.0.1:9/123456789012/dumpflow-dumps.fifo",
    "DUMPFLOW_DLQ_URL": "http://127.0.0.1:9/123456789012/dumpflow-dumps-dlq.fifo",
}

# Text an environment variable can hold (no NUL, no lone surrogates), not blank.
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda v: v.strip() != "")


def not_digits(minimum: int) -> Callable[[str], bool]:
    return lambda v: not (re.fullmatch(r"[0-9]{1,18}", v.strip()) and int(v.strip()) >= minimum)


def no_url(value: str) -> bool:
    return "://" not in value


def no_stack_name(value: str) -> bool:
    return not re.fullmatch(r"[A-Za-z][-A-Za-z0-9]{0,127}", value)


BAD_NUMBERS = st.sampled_from(["10MiB", "1e6", "-5", "0x10", "ten", "1.5", "١٢"]) | env_text
BAD_URLS = (
    st.sampled_from(["notaurl", "127.0.0.1:5000", "localhost", "http://", "ftp://h/1/q",
                     "http://h:99999", "http://h:0", "http://[::1"]) | env_text.filter(no_url)
)  # fmt: skip
BAD_QUEUES = BAD_URLS | st.sampled_from(["https://sqs.ap-northeast-1.amazonaws.com/q"])
CASES: dict[str, st.SearchStrategy[str]] = {
    "DUMPFLOW_MIN_DUMP_BYTES": BAD_NUMBERS.filter(not_digits(1)),
    "DUMPFLOW_MANIFEST_WAIT_SECONDS": BAD_NUMBERS.filter(not_digits(0)),
    "DUMPFLOW_GLUE_TIMEOUT_MINUTES": BAD_NUMBERS.filter(not_digits(1)),
    "DUMPFLOW_DBT_TIMEOUT_MINUTES": BAD_NUMBERS.filter(not_digits(1)),
    "DUMPFLOW_DAILY_STARTS_PER_BACKFILL": BAD_NUMBERS.filter(not_digits(1)),
    "DUMPFLOW_REQUIRE_MANIFEST": env_text.filter(
        lambda v: v.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off")
    ),
    "DUMPFLOW_KEY_PATTERN": st.sampled_from(["(", "^dumps/(\\d{8})\\.sql$", "[a-", "*"]),
    "DUMPFLOW_DUMP_PREFIX": env_text.filter(lambda v: not v.endswith("/")),
    "DUMPFLOW_TARGET_SCHEMA": env_text.filter(lambda v: not re.fullmatch(r"[A-Za-z0-9_$]+", v)),
    "DUMPFLOW_BACKFILL_SCHEMA": st.sampled_from(["staging backfill", "a`b", "x" * 65]),
    "DUMPFLOW_QUEUE_URL": BAD_QUEUES,
    "DUMPFLOW_DLQ_URL": BAD_QUEUES,
    "DUMPFLOW_TABLE": st.sampled_from(["ab", "dumpflow state", "tab/le", "ä" * 4]),
    "DUMPFLOW_BUCKET": st.sampled_from(["Gghouse", "a", "bucket_name", "-dumps", "x" * 64]),
    "DUMPFLOW_STACK_NAME": env_text.filter(no_stack_name),
    "AWS_ENDPOINT_URL": BAD_URLS,
    "AWS_DEFAULT_REGION": st.sampled_from(["tokyo", "ap northeast 1", "AP-NORTHEAST-1", "-"]),
    "AWS_REGION": st.sampled_from(["ap-northeast", "us_east_1", "ap-northeast-1 "]),
    "AWS_PROFILE": st.sampled_from(["on call", "[default]", "x" * 129]),
    "AWS_MAX_ATTEMPTS": st.sampled_from(["three", "-1", "1.5"]),
    "AWS_RETRY_MODE": st.sampled_from(["fast", "Standard"]),
}
OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--endpoint-url": BAD_URLS,
    "--region": st.sampled_from(["tokyo", "ap-northeast-1/", "ap_northeast_1"]),
    "--stack-name": env_text.filter(no_stack_name).filter(lambda v: not v.startswith("-")),
    "--profile": st.sampled_from(["on call", "[x]"]),
}


def assert_one_line_naming(name: str, args: list[str], env: dict[str, str]) -> None:
    result = CliRunner(env={**VALID, **env}).invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_environment_value_is_named(name: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None)
    @given(CASES[name])
    def check(value: str) -> None:
        for command in (["status"], ["replay"], ["backfill", "--from", "2026-11-20", "--to",
                                                  "2026-11-20"]):  # fmt: skip
            assert_one_line_naming(name, command, {name: value})

    check()


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_a_bad_option_is_named_before_or_after_the_command(option: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None)
    @given(OPTIONS[option])
    def check(value: str) -> None:
        assert_one_line_naming(option, [option, value, "status"], {})
        assert_one_line_naming(option, ["status", option, value], {})

    check()


def test_the_issue_examples() -> None:
    assert_one_line_naming("--endpoint-url", ["status", "--endpoint-url", "notaurl"], {})
    assert_one_line_naming("--endpoint-url", ["--endpoint-url", "127.0.0.1:5000", "status"], {})
    assert_one_line_naming(
        "DUMPFLOW_MIN_DUMP_BYTES", ["status"], {"DUMPFLOW_MIN_DUMP_BYTES": "10MiB"}
    )


def test_the_same_option_twice_with_different_values_is_refused() -> None:
    assert_one_line_naming("--profile", ["--profile", "a", "status", "--profile", "b"], {})
    assert_one_line_naming("--region", ["--region", "ap-northeast-1", "status", "--region",
                                        "us-east-1"], {})  # fmt: skip


BAD_DSNS = st.sampled_from(["notadsn", "postgres://h", "mysql://h:99999", "mysql://h?ssl=1",
                            "mysql://h?tls=required"]) | env_text.filter(no_url)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("DUMPFLOW_DSN", ["sample-dump", "--date", "2026-11-20", "--out", "/nonexistent/x"]),
        ("DUMPFLOW_DSN", ["demo", "--schema-suffix", "_never"]),
        ("DUMPFLOW_MYSQL_DSN", ["demo", "--engine", "mysql", "--schema-suffix", "_never"]),
    ],
)
def test_a_bad_database_dsn_is_named(name: str, args: list[str]) -> None:
    @settings(max_examples=max(EXAMPLES // 4, 5), deadline=None)
    @given(BAD_DSNS)
    def check(value: str) -> None:
        assert_one_line_naming(name, args, {name: value})

    check()


def test_a_bad_load_dump_dsn_is_named(tmp_path: Path) -> None:
    dump = tmp_path / "gghouse_20261120.sql"
    dump.write_text("CREATE TABLE t (id INT);\n")

    @settings(max_examples=max(EXAMPLES // 4, 5), deadline=None)
    @given(BAD_DSNS)
    def check(value: str) -> None:
        load = ["load-dump", str(dump), "--schema", "never_loaded"]
        assert_one_line_naming("--dsn", [*load, f"--dsn={value}"], {})
        assert_one_line_naming("DUMPFLOW_DSN", load, {"DUMPFLOW_DSN": value})

    check()
