"""template.yaml as CloudFormation reads it, and resolved the way a deployed stack would be."""

from __future__ import annotations

from typing import Any

import pytest

from dumpflow.local.template import Resolver, load_template, parameter_defaults
from template.stack import DEPLOY_PARAMETERS, REGION, STACK, TEMPLATE_PATH, physical_ids


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture()
def resolver(template: dict[str, Any]) -> Resolver:
    parameters = {**parameter_defaults(template), **DEPLOY_PARAMETERS}
    return Resolver(template, parameters, STACK, REGION, physical=physical_ids())
