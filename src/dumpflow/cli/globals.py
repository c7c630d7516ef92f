"""The AWS options every operator command takes, before or after the command name.

``dumpflow --profile oncall status`` and ``dumpflow status --profile oncall`` mean the same
(the aws-cli habit). Given in both places with different values, the command refuses: at
3 a.m. nobody should have to know which one wins.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated

import typer

Profile = Annotated[
    str | None, typer.Option("--profile", help="AWS profile (default: boto3's default chain).")
]
Region = Annotated[str | None, typer.Option("--region", help="AWS region.")]
StackName = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        help="Read bucket, queues and table from this CloudFormation stack's outputs; "
        "default $DUMPFLOW_STACK_NAME.",
    ),
]
EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="AWS endpoint (the local stack of `make demo`); default $AWS_ENDPOINT_URL.",
    ),
]


class ConflictingOption(ValueError):
    """The same option was given before and after the command with different values."""


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    profile: str | None = None
    region: str | None = None
    stack_name: str | None = None
    endpoint_url: str | None = None

    def merged(self, after: GlobalOptions) -> GlobalOptions:
        """These (given before the command) combined with ``after`` (given after it)."""
        values: dict[str, str | None] = {}
        for f in fields(self):
            before, later = getattr(self, f.name), getattr(after, f.name)
            if before is not None and later is not None and before != later:
                option = "--" + f.name.replace("_", "-")
                raise ConflictingOption(
                    f"{option} given twice: {before!r} before the command, {later!r} after it"
                )
            values[f.name] = later if later is not None else before
        return GlobalOptions(**values)


def global_options(ctx: typer.Context, after: GlobalOptions) -> GlobalOptions:
    """The options of this invocation: the group's (if any) merged with the command's."""
    before = ctx.find_object(GlobalOptions) or GlobalOptions()
    return before.merged(after)
