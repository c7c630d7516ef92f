"""The resources of template.yaml, created in moto: what a CloudFormation deploy would create.

Queues, table, bucket, Glue job, ECS cluster and task definition, secrets and event rules get
their names, attributes, redrive policy and event patterns from the template itself, so the
demo breaks when the template changes in a way the flow cannot live with. Lambda functions
are not created in moto (it cannot run them); they are described as ``LocalFunction`` with the
environment the template gives them, resolved against the created resources.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dumpflow.db import Dsn
from dumpflow.local.functions import LocalFunction
from dumpflow.local.moto_server import MotoEndpoint
from dumpflow.local.template import (
    ACCOUNT_ID,
    Physical,
    Resolver,
    TemplateError,
    load_template,
    parameter_defaults,
    references,
    value_type,
)

log = logging.getLogger(__name__)

TAP_QUEUE_NAME = "dumpflow-local-s3-events"
TAP_RULE_NAME = "dumpflow-local-s3-tap"
_SERVERLESS_FUNCTION = "AWS::Serverless::Function"
_LAMBDA_FUNCTION = "AWS::Lambda::Function"


@dataclass(frozen=True)
class RuleTarget:
    """One target of a rule: an SQS queue (with transformer) or a local function."""

    arn: str
    input_transformer: Mapping[str, Any] | None = None
    message_group_id: str | None = None
    function: LocalFunction | None = None


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule as the template declares it."""

    logical_id: str
    name: str
    pattern: Mapping[str, Any]
    targets: tuple[RuleTarget, ...]
    enabled: bool = True


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping: which queue feeds which function, and how."""

    queue_arn: str
    function: LocalFunction
    batch_size: int = 10
    report_batch_item_failures: bool = False


@dataclass
class LocalStack:
    """Everything created from the template, addressable by logical id."""

    endpoint: MotoEndpoint
    stack_name: str
    template: dict[str, Any]
    physical: dict[str, Physical]
    functions: dict[str, LocalFunction]
    rules: list[EventRule]
    sources: list[QueueSource]
    queue_urls: dict[str, str]
    tap_queue_url: str
    db_secret_arns: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.endpoint.client(service)

    def resources_of_type(self, kind: str) -> list[str]:
        """Logical ids of the template's resources of one type, in template order."""
        return [
            logical_id
            for logical_id, spec in self.template["Resources"].items()
            if spec.get("Type") == kind and logical_id in self.physical
        ]

    def queue_url(self, arn: str) -> str:
        if arn not in self.queue_urls:
            raise TemplateError(f"no queue with ARN {arn} in the local stack")
        return self.queue_urls[arn]

    def function_environment(self) -> dict[str, str]:
        """The union of every function's environment: what the operator CLI needs too."""
        merged: dict[str, str] = {}
        for function in self.functions.values():
            merged.update(function.environment)
        return merged


@dataclass(frozen=True)
class StackOptions:
    """What the local deploy needs besides the template."""

    template_path: Path
    stack_name: str
    dsn: Dsn
    parameters: Mapping[str, Any] = field(default_factory=dict)
    environment_overrides: Mapping[str, str] = field(default_factory=dict)


def _physical_name(stack_name: str, logical_id: str, max_len: int = 64) -> str:
    """CloudFormation-style generated name: stack, logical id, random suffix."""
    return f"{stack_name}-{logical_id}-{uuid.uuid4().hex[:12].upper()}"[:max_len]


def _camel(node: Any) -> Any:
    """CloudFormation ECS properties are PascalCase; the ECS API wants camelCase."""
    if isinstance(node, list):
        return [_camel(item) for item in node]
    if isinstance(node, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in node.items()}
    return node


def _sqs_attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


class _Deployer:
    """Creates one template's resources in dependency order."""

    def __init__(self, options: StackOptions, endpoint: MotoEndpoint) -> None:
        self.options = options
        self.endpoint = endpoint
        self.template = load_template(options.template_path)
        self.region = endpoint.region
        self.queue_urls: dict[str, str] = {}
        self.functions: dict[str, LocalFunction] = {}
        self.function_events: dict[str, dict[str, Any]] = {}
        self.rules: list[EventRule] = []
        self.sources: list[QueueSource] = []
        self.db_secret_arns: list[str] = []
        self.network: dict[str, str] = {}
        self.resolver = Resolver(
            template=self.template,
            parameters=self._parameters(),
            stack_name=options.stack_name,
            region=self.region,
        )
        self.creators: dict[str, Callable[[str, dict[str, Any]], Physical]] = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::DynamoDB::Table": self._table,
            "AWS::Glue::Job": self._glue_job,
            "AWS::ECS::Cluster": self._ecs_cluster,
            "AWS::ECS::TaskDefinition": self._task_definition,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::EC2::VPC": lambda _id, _p: Physical(self._network()["vpc"]),
            "AWS::EC2::Subnet": lambda _id, _p: Physical(self._network()["subnet"]),
            "AWS::EC2::SecurityGroup": lambda _id, _p: Physical(
                self._network()["security_group"],
                {"GroupId": self._network()["security_group"]},
            ),
            "AWS::Events::Rule": self._rule,
            _SERVERLESS_FUNCTION: self._function,
            _LAMBDA_FUNCTION: self._function,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
        }

    # -- parameters and network -------------------------------------------------------------

    def _network(self) -> dict[str, str]:
        """A VPC with DNS hostnames (moto's Fargate needs it), one subnet, one security group."""
        if not self.network:
            ec2 = self.endpoint.client("ec2")
            vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
            subnet = ec2.create_subnet(
                VpcId=vpc, CidrBlock="10.42.1.0/24", AvailabilityZone=f"{self.region}a"
            )["Subnet"]["SubnetId"]
            group = ec2.create_security_group(
                GroupName=f"{self.options.stack_name}-local",
                Description="dumpflow local",
                VpcId=vpc,
            )["GroupId"]
            self.network = {"vpc": vpc, "subnet": subnet, "security_group": group}
        return self.network

    def _parameters(self) -> dict[str, Any]:
        values = parameter_defaults(self.template)
        missing: list[str] = []
        for name, spec in (self.template.get("Parameters") or {}).items():
            if name in self.options.parameters or name in values:
                continue
            kind = value_type(str(spec.get("Type", "String")))
            provided = self._provision_parameter(name, kind)
            if provided is None:
                missing.append(name)
            else:
                values[name] = provided
        values.update(self.options.parameters)
        missing = [name for name in missing if name not in values]
        if missing:
            raise TemplateError(
                f"template parameters without a default that the local stack cannot fill: "
                f"{', '.join(missing)}"
            )
        return values

    def _provision_parameter(self, name: str, kind: str) -> Any:
        """Local stand-ins for parameters naming existing network or secret resources."""
        network_kinds = {
            "AWS::EC2::VPC::Id": "vpc",
            "AWS::EC2::Subnet::Id": "subnet",
            "AWS::EC2::SecurityGroup::Id": "security_group",
        }
        element = kind[5:-1] if kind.startswith("List<") else kind
        if element in network_kinds:
            value = self._network()[network_kinds[element]]
            return [value] if kind.startswith("List<") else value
        if element == "AWS::EC2::AvailabilityZone::Name":
            return f"{self.region}a"
        if "secret" in name.lower():
            return self._create_db_secret(f"{self.options.stack_name}-{name}")
        return None

    # -- resources --------------------------------------------------------------------------

    def deploy(self) -> LocalStack:
        resources: dict[str, Any] = self.template["Resources"]
        for logical_id in self._creation_order(resources):
            spec = resources[logical_id]
            condition = spec.get("Condition")
            if condition and not self.resolver.condition(condition):
                continue
            kind = spec.get("Type", "")
            properties = spec.get("Properties") or {}
            creator = self.creators.get(kind, self._synthesized(kind))
            try:
                self.resolver.physical[logical_id] = creator(logical_id, properties)
            except TemplateError as exc:
                raise TemplateError(f"resource {logical_id} ({kind}): {exc}") from exc
        self._wire_function_events()
        tap_url = self._s3_tap()
        return LocalStack(
            endpoint=self.endpoint,
            stack_name=self.options.stack_name,
            template=self.template,
            physical=dict(self.resolver.physical),
            functions=self.functions,
            rules=self.rules,
            sources=self.sources,
            queue_urls=self.queue_urls,
            tap_queue_url=tap_url,
            db_secret_arns=self.db_secret_arns,
        )

    def _creation_order(self, resources: dict[str, Any]) -> list[str]:
        order: list[str] = []
        visiting: set[str] = set()

        def visit(logical_id: str) -> None:
            if logical_id in order:
                return
            if logical_id in visiting:
                raise TemplateError(f"circular dependency through {logical_id}")
            visiting.add(logical_id)
            spec = resources[logical_id]
            depends = spec.get("DependsOn") or []
            needed = references(spec.get("Properties") or {}) | set(
                [depends] if isinstance(depends, str) else depends
            )
            if spec.get("Type") == _SERVERLESS_FUNCTION:
                needed |= references(self._globals())
            for other in sorted(needed & resources.keys()):
                if other != logical_id:
                    visit(other)
            visiting.discard(logical_id)
            order.append(logical_id)

        for logical_id in resources:
            visit(logical_id)
        return order

    def _resolve(self, properties: dict[str, Any]) -> dict[str, Any]:
        resolved: dict[str, Any] = self.resolver.resolve(properties)
        return resolved

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def _synthesized(self, kind: str) -> Callable[[str, dict[str, Any]], Physical]:
        """Resources the flow never calls (roles, log groups, alarms): names and ARNs only."""
        service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "local"

        def create(logical_id: str, properties: dict[str, Any]) -> Physical:
            name = _physical_name(self.options.stack_name, logical_id)
            arn = self._arn(service, f"{kind.rsplit('::', 1)[-1].lower()}/{name}")
            return Physical(name, {"Arn": arn, "Name": name})

        return create

    def _bucket(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        name = str(p.get("BucketName") or _physical_name(self.options.stack_name, logical_id))
        name = name.lower()[:63]
        s3 = self.endpoint.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
            )
        notifications = p.get("NotificationConfiguration") or {}
        if (notifications.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        return Physical(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            },
        )

    def _queue(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        fifo = bool(p.get("FifoQueue"))
        name = p.pop("QueueName", None) or _physical_name(
            self.options.stack_name, logical_id, 75 if fifo else 80
        ) + (".fifo" if fifo else "")
        keep = {
            "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds", "FifoQueue", "ContentBasedDeduplication",
            "DeduplicationScope", "FifoThroughputLimit", "RedrivePolicy", "RedriveAllowPolicy",
        }  # fmt: skip
        attributes = {k: _sqs_attribute(v) for k, v in p.items() if k in keep}
        sqs = self.endpoint.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", name)
        self.queue_urls[arn] = url
        return Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _table(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        name = str(p.get("TableName") or _physical_name(self.options.stack_name, logical_id))
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        if "ProvisionedThroughput" in p:
            request["ProvisionedThroughput"] = {
                k: int(v) for k, v in p["ProvisionedThroughput"].items()
            }
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if p.get(index_kind):
                request[index_kind] = [
                    {k: v for k, v in index.items() if k != "ContributorInsightsSpecification"}
                    for index in p[index_kind]
                ]
        if (p.get("StreamSpecification") or {}).get("StreamViewType"):
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": p["StreamSpecification"]["StreamViewType"],
            }
        dynamodb = self.endpoint.client("dynamodb")
        description = dynamodb.create_table(**request)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return Physical(name, attributes)

    def _glue_job(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        name = str(p.get("Name") or _physical_name(self.options.stack_name, logical_id))
        keep = {
            "Role", "Command", "DefaultArguments", "NonOverridableArguments", "ExecutionProperty",
            "MaxRetries", "Timeout", "GlueVersion", "WorkerType", "NumberOfWorkers",
            "MaxCapacity", "Description", "ExecutionClass",
        }  # fmt: skip
        request = {k: v for k, v in p.items() if k in keep}
        if "ExecutionProperty" in request:
            request["ExecutionProperty"] = {
                k: int(v) for k, v in request["ExecutionProperty"].items()
            }
        for numeric in ("MaxRetries", "Timeout", "NumberOfWorkers"):
            if numeric in request:
                request[numeric] = int(request[numeric])
        if "MaxCapacity" in request:
            request["MaxCapacity"] = float(request["MaxCapacity"])
        self.endpoint.client("glue").create_job(Name=name, **request)
        return Physical(name, {"Arn": self._arn("glue", f"job/{name}")})

    def _ecs_cluster(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        name = str(p.get("ClusterName") or _physical_name(self.options.stack_name, logical_id))
        arn = self.endpoint.client("ecs").create_cluster(clusterName=name)["cluster"]["clusterArn"]
        return Physical(name, {"Arn": arn})

    def _task_definition(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = _camel(self._resolve(properties))
        p.pop("tags", None)
        p.setdefault("family", f"{self.options.stack_name}-{logical_id}")
        task_memory = p.get("memory")
        for container in p.get("containerDefinitions", []):
            if "memory" not in container and "memoryReservation" not in container and task_memory:
                container["memory"] = int(task_memory)
            for numeric in ("memory", "memoryReservation", "cpu"):
                if numeric in container:
                    container[numeric] = int(container[numeric])
        for numeric in ("cpu", "memory"):
            if numeric in p:
                p[numeric] = str(p[numeric])
        response = self.endpoint.client("ecs").register_task_definition(**p)
        arn = response["taskDefinition"]["taskDefinitionArn"]
        return Physical(arn, {"TaskDefinitionArn": arn})

    def _create_db_secret(self, name: str) -> str:
        """A secret in the shape RDS writes, pointing at the local MariaDB."""
        dsn = self.options.dsn
        secret = {
            "engine": "mariadb",
            "host": dsn.host,
            "port": dsn.port,
            "username": dsn.user,
            "password": dsn.password,
        }
        arn: str = self.endpoint.client("secretsmanager").create_secret(
            Name=name, SecretString=json.dumps(secret)
        )["ARN"]
        self.db_secret_arns.append(arn)
        return arn

    def _secret(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        name = str(p.get("Name") or _physical_name(self.options.stack_name, logical_id))
        arn = self._create_db_secret(name)
        return Physical(arn, {"Id": arn, "Name": name})

    def _rule(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        name = str(p.get("Name") or _physical_name(self.options.stack_name, logical_id))
        pattern = p.get("EventPattern") or {}
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        targets = tuple(
            RuleTarget(
                arn=str(t["Arn"]),
                input_transformer=t.get("InputTransformer"),
                message_group_id=(t.get("SqsParameters") or {}).get("MessageGroupId"),
            )
            for t in p.get("Targets") or []
        )
        self._register_rule(logical_id, name, pattern, targets, p.get("State", "ENABLED"))
        return Physical(name, {"Arn": self._arn("events", f"rule/{name}")})

    def _register_rule(
        self,
        logical_id: str,
        name: str,
        pattern: Mapping[str, Any],
        targets: tuple[RuleTarget, ...],
        state: str,
    ) -> None:
        """Record the rule for local delivery; in moto only the rule itself, no targets."""
        self.endpoint.client("events").put_rule(
            Name=name, EventPattern=json.dumps(pattern), State=state
        )
        self.rules.append(EventRule(logical_id, name, pattern, targets, enabled=state == "ENABLED"))

    def _globals(self) -> dict[str, Any]:
        return dict((self.template.get("Globals") or {}).get("Function") or {})

    def _function(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        defaults = self._globals()
        merged = {**defaults, **properties}
        variables = {
            **((defaults.get("Environment") or {}).get("Variables") or {}),
            **((properties.get("Environment") or {}).get("Variables") or {}),
        }
        events = merged.pop("Events", None) or {}
        merged.pop("Environment", None)
        p = self._resolve(merged)
        name = str(p.get("FunctionName") or _physical_name(self.options.stack_name, logical_id))
        arn = self._arn("lambda", f"function:{name}")
        environment = {k: str(v) for k, v in self._resolve(variables).items()}
        environment.update(self.options.environment_overrides)
        if "Handler" not in p:
            raise TemplateError(f"function {logical_id} has no Handler")
        self.functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=name,
            arn=arn,
            handler=str(p["Handler"]),
            environment=environment,
            timeout_seconds=int(p.get("Timeout", 3)),
            memory_mb=int(p.get("MemorySize", 128)),
            dead_letter_arn=(p.get("DeadLetterQueue") or {}).get("TargetArn")
            or (p.get("DeadLetterConfig") or {}).get("TargetArn"),
        )
        self.function_events[logical_id] = events
        return Physical(name, {"Arn": arn})

    def _event_source_mapping(self, logical_id: str, properties: dict[str, Any]) -> Physical:
        p = self._resolve(properties)
        function_ref = str(p["FunctionName"])
        function = next(
            (f for f in self.functions.values() if function_ref in (f.name, f.arn)), None
        )
        if function is None:
            raise TemplateError(f"event source mapping to unknown function {function_ref}")
        self._add_source(p, function)
        return Physical(str(uuid.uuid4()))

    def _add_source(self, p: Mapping[str, Any], function: LocalFunction) -> None:
        queue_arn = str(p.get("Queue") or p.get("EventSourceArn"))
        if queue_arn not in self.queue_urls:
            raise TemplateError(f"SQS event source {queue_arn} is not a queue of the template")
        self.sources.append(
            QueueSource(
                queue_arn=queue_arn,
                function=function,
                batch_size=int(p.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures"
                in (p.get("FunctionResponseTypes") or []),
            )
        )

    def _wire_function_events(self) -> None:
        """SAM ``Events``: SQS sources and EventBridge rules that target the function."""
        for logical_id, events in self.function_events.items():
            function = self.functions[logical_id]
            for event_id, event in events.items():
                kind = event.get("Type")
                p = self._resolve(event.get("Properties") or {})
                if kind == "SQS":
                    self._add_source(p, function)
                elif kind in ("EventBridgeRule", "CloudWatchEvent"):
                    rule_name = str(
                        p.get("RuleName")
                        or _physical_name(self.options.stack_name, f"{logical_id}{event_id}")
                    )
                    target = RuleTarget(
                        arn=function.arn,
                        input_transformer=p.get("InputTransformer"),
                        function=function,
                    )
                    self._register_rule(
                        f"{logical_id}{event_id}",
                        rule_name,
                        p.get("Pattern") or {},
                        (target,),
                        p.get("State", "ENABLED"),
                    )
                else:
                    log.info(
                        "%s event %s of type %s is not run locally", logical_id, event_id, kind
                    )
        for rule_index, rule in enumerate(self.rules):
            linked = tuple(
                dataclasses.replace(t, function=self._function_by_arn(t.arn))
                if t.function is None and ":lambda:" in t.arn
                else t
                for t in rule.targets
            )
            self.rules[rule_index] = EventRule(
                rule.logical_id, rule.name, rule.pattern, linked, rule.enabled
            )

    def _function_by_arn(self, arn: str) -> LocalFunction | None:
        return next((f for f in self.functions.values() if f.arn == arn), None)

    def _s3_tap(self) -> str:
        """Where moto's S3 EventBridge notifications land before local delivery applies rules."""
        sqs = self.endpoint.client("sqs")
        url: str = sqs.create_queue(QueueName=TAP_QUEUE_NAME)["QueueUrl"]
        events = self.endpoint.client("events")
        events.put_rule(
            Name=TAP_RULE_NAME, EventPattern=json.dumps({"source": ["aws.s3"]}), State="ENABLED"
        )
        events.put_targets(
            Rule=TAP_RULE_NAME, Targets=[{"Id": "tap", "Arn": self._arn("sqs", TAP_QUEUE_NAME)}]
        )
        return url


def deploy_stack(options: StackOptions, endpoint: MotoEndpoint) -> LocalStack:
    """Create the template's resources in moto; raises TemplateError naming what failed."""
    stack = _Deployer(options, endpoint).deploy()
    log.info(
        "local stack %s: %d resources, %d functions, %d rules, %d queue sources",
        stack.stack_name, len(stack.physical), len(stack.functions), len(stack.rules),
        len(stack.sources),
    )  # fmt: skip
    return stack
