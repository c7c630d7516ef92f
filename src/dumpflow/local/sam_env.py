"""The ``--env-vars`` file of ``sam local invoke``: which stack the invoked functions talk to.

SAM passes a container only the variables the template declares, each with the value of this
file (per function logical id) or else its template value, which SAM cannot resolve (a ``Ref``
to the state table becomes ``StateTable``). So the file carries every declared variable:

- for the local stack (``local_env_vars``): the environment the demo gives each function, with
  ``AWS_ENDPOINT_URL`` (and the queue URLs) at moto's listener for containers
  (``container_endpoint``); template.yaml declares that variable only for this
  (``AWS::NoValue`` drops it from deployed functions);
- for a deployed stack (``deployed_env_vars``): each function's environment as Lambda has it,
  so the invocation reads and writes that stack's real table, queues, bucket, Glue and ECS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dumpflow.local.moto_stack import LocalStack
from dumpflow.local.template import Resolver, load_template

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
FUNCTION_TYPE = "AWS::Serverless::Function"

EnvVars = dict[str, dict[str, str]]


def declared_variables(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Per function logical id, the variables its container can be given."""
    globals_env = (
        ((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    ).get("Variables") or {}
    declared: dict[str, set[str]] = {}
    for logical_id, spec in template["Resources"].items():
        if spec.get("Type") != FUNCTION_TYPE:
            continue
        own = ((spec.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        declared[logical_id] = set(globals_env) | set(own)
    return declared


def local_env_vars(stack: LocalStack, container_url: str) -> EnvVars:
    """Every function pointed at the local stack through moto's listener at ``container_url``
    (the stack's own URLs, made on the 127.0.0.1 listener, are rewritten to it)."""
    declared = declared_variables(stack.template)
    host_url = stack.endpoint.url
    env: EnvVars = {}
    for logical_id, function in stack.functions.items():
        values = {**function.environment, ENDPOINT_VARIABLE: container_url}
        env[logical_id] = {
            k: v.replace(host_url, container_url)
            for k, v in sorted(values.items())
            if k in declared[logical_id]
        }
    return env


def function_names(template_path: Path, stack_name: str, region: str) -> dict[str, str]:
    """Logical id -> the function name a deploy of ``stack_name`` gives it."""
    template = load_template(template_path)
    resolver = Resolver(template=template, parameters={}, stack_name=stack_name, region=region)
    names: dict[str, str] = {}
    for logical_id, spec in template["Resources"].items():
        if spec.get("Type") != FUNCTION_TYPE:
            continue
        name = (spec.get("Properties") or {}).get("FunctionName")
        names[logical_id] = str(resolver.resolve(name)) if name is not None else logical_id
    return names


def deployed_env_vars(lambda_client: Any, names: Mapping[str, str]) -> EnvVars:
    """Each deployed function's own environment (GetFunctionConfiguration)."""
    env: EnvVars = {}
    for logical_id, name in names.items():
        config = lambda_client.get_function_configuration(FunctionName=name)
        variables = (config.get("Environment") or {}).get("Variables") or {}
        env[logical_id] = {str(k): str(v) for k, v in sorted(variables.items())}
    return env


def write_env_vars(path: Path, env: EnvVars) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(env, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
