"""Reading template.yaml the way CloudFormation would, so the local stack cannot drift from it.

Only what the local stack needs: the YAML short-form tags (``!Ref``, ``!Sub``, ...), parameter
defaults, conditions and the intrinsic functions that compute names, ARNs and environment
variables. Physical values of resources come from the caller (the moto stack that created them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve; names what and where."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Fn`` short forms into their ``{"Fn::Fn": ...}`` long forms."""


def _tag_constructor(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    name = "Ref" if tag == "Ref" else ("Condition" if tag == "Condition" else f"Fn::{tag}")

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in (
    "Ref", "Condition", "Sub", "GetAtt", "Join", "Select", "Split", "If", "Equals", "Not",
    "And", "Or", "FindInMap", "Base64", "GetAZs", "ImportValue", "Cidr", "Transform",
):  # fmt: skip
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template (short-form tags included)."""
    try:
        with path.open(encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=_CfnLoader)
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


@dataclass(frozen=True, slots=True)
class Physical:
    """What ``Ref`` and ``Fn::GetAtt`` return for one created resource."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Resolver:
    """Evaluates intrinsic functions against parameters and the resources created so far."""

    template: Mapping[str, Any]
    parameters: dict[str, Any]
    stack_name: str
    region: str
    physical: dict[str, Physical] = field(default_factory=dict)
    _conditions: dict[str, bool] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/local"
            ),
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unsupported pseudo parameter {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions") or {}
            if name not in definitions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(definitions[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name].ref
        raise TemplateError(f"Ref to {name!r}, which is neither a parameter nor created yet")

    def get_att(self, logical_id: str, attribute: str) -> str:
        created = self.physical.get(logical_id)
        if created is None:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: {logical_id} is not created")
        if attribute not in created.attributes:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: the local stack knows only "
                f"{sorted(created.attributes)}"
            )
        return created.attributes[attribute]

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, node: Any) -> Any:
        """The value of ``node`` with every intrinsic evaluated (``AWS::NoValue`` dropped)."""
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, arg)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def _fn_sub(r: Resolver, arg: Any) -> str:
    if isinstance(arg, str):
        return r.sub(arg, {})
    text, variables = arg
    return r.sub(text, {k: r.resolve(v) for k, v in variables.items()})


def _fn_get_att(r: Resolver, arg: Any) -> str:
    logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
    return r.get_att(logical_id, r.resolve(attribute))


def _fn_join(r: Resolver, arg: Any) -> str:
    delimiter, items = arg
    values = r.resolve(items)
    return str(delimiter).join(str(v) for v in values)


def _fn_select(r: Resolver, arg: Any) -> Any:
    index, items = r.resolve(arg[0]), r.resolve(arg[1])
    return items[int(index)]


def _fn_split(r: Resolver, arg: Any) -> list[str]:
    delimiter, text = arg
    return str(r.resolve(text)).split(delimiter)


def _fn_if(r: Resolver, arg: Any) -> Any:
    name, when_true, when_false = arg
    return r.resolve(when_true if r.condition(name) else when_false)


def _fn_equals(r: Resolver, arg: Any) -> bool:
    left, right = (r.resolve(v) for v in arg)
    return str(left) == str(right)


def _fn_find_in_map(r: Resolver, arg: Any) -> Any:
    map_name, top, second = (r.resolve(v) for v in arg)
    try:
        return r.template["Mappings"][map_name][top][second]
    except KeyError as exc:
        raise TemplateError(f"FindInMap {map_name}/{top}/{second}: no such entry") from exc


def _fn_get_azs(r: Resolver, arg: Any) -> list[str]:
    """The zones moto's EC2 knows in the region."""
    return [f"{r.region}a", f"{r.region}c", f"{r.region}d"]


def _fn_unsupported(name: str) -> Callable[[Resolver, Any], Any]:
    def fail(r: Resolver, arg: Any) -> Any:
        raise TemplateError(f"{name} cannot be resolved by the local stack (argument {arg!r})")

    return fail


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, arg: r.ref(r.resolve(arg)),
    "Condition": lambda r, arg: r.condition(arg),
    "Fn::Sub": _fn_sub,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": lambda r, arg: not r.resolve(arg[0]),
    "Fn::And": lambda r, arg: all(r.resolve(v) for v in arg),
    "Fn::Or": lambda r, arg: any(r.resolve(v) for v in arg),
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": lambda r, arg: r.resolve(arg),
    "Fn::GetAZs": _fn_get_azs,
    "Fn::ImportValue": _fn_unsupported("Fn::ImportValue"),
    "Fn::Cidr": _fn_unsupported("Fn::Cidr"),
    "Fn::Transform": _fn_unsupported("Fn::Transform"),
}


def references(node: Any) -> set[str]:
    """Logical ids a node points at (``Ref``, ``GetAtt``, ``Sub``): the creation order."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                for name in _SUB_VARIABLE.findall(text):
                    found.add(name.split(".", 1)[0])
                found |= references(value if isinstance(value, str) else value[1])
            else:
                found |= references(value)
    return found


SSM_VALUE_TYPE = "AWS::SSM::Parameter::Value<"


def value_type(kind: str) -> str:
    """The type of the value Ref returns: an SSM-resolved parameter's inner type."""
    return kind[len(SSM_VALUE_TYPE) : -1] if kind.startswith(SSM_VALUE_TYPE) else kind


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    """Each parameter's default, typed the way Ref returns it (lists for List<...> types).

    An SSM-typed parameter's default is the name of an SSM parameter, not its value: such
    parameters get no default here (the local stack supplies their values).
    """
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        raw_kind = str(spec.get("Type", "String"))
        if "Default" not in spec or raw_kind.startswith(SSM_VALUE_TYPE):
            continue
        default = spec["Default"]
        kind = value_type(raw_kind)
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            values[name] = [p.strip() for p in str(default).split(",") if p.strip()]
        else:
            values[name] = str(default) if not isinstance(default, str) else default
    return values
