"""The local provider overrides the endpoint of every AWS service the modules use.

A service without an endpoint in environments/local would be called on real AWS (or fail on the
dummy credentials). Every ``resource``/``data`` type of the modules maps to a provider endpoint
key; an unknown type prefix fails, so a new service is added here (and to the provider)
consciously.
"""

from __future__ import annotations

import re

from tests.support.terraform import TERRAFORM_DIR

# Resource/data type prefix (after "aws_") -> provider endpoint key. Longest prefix wins.
SERVICES = {
    "api_gateway_": "apigateway",
    "cloudwatch_event_": "events",
    "cloudwatch_metric_alarm": "cloudwatch",
    "cloudwatch_log_": "logs",
    "dynamodb_": "dynamodb",
    "iam_": "iam",
    "kms_": "kms",
    "lambda_": "lambda",
    "s3_": "s3",
    "scheduler_": "scheduler",
    "secretsmanager_": "secretsmanager",
    "sns_": "sns",
    "sqs_": "sqs",
    "caller_identity": "sts",
    # onboard's optional VPC endpoints and their security group (EC2 API).
    "vpc_endpoint": "ec2",
    "security_group": "ec2",
}
# Answered by the provider itself, no API call.
NO_ENDPOINT = {"partition", "region", "iam_policy_document"}

TYPE = re.compile(r'^\s*(?:resource|data)\s+"aws_([a-z0-9_]+)"', re.MULTILINE)


def module_types() -> set[str]:
    return {
        t
        for path in (TERRAFORM_DIR / "modules").rglob("*.tf")
        if ".terraform" not in path.parts and "examples" not in path.parts
        for t in TYPE.findall(path.read_text())
    }


def service_of(aws_type: str) -> str | None:
    matches = [p for p in SERVICES if aws_type.startswith(p)]
    return SERVICES[max(matches, key=len)] if matches else None


def local_endpoints() -> set[str]:
    hcl = (TERRAFORM_DIR / "environments" / "local" / "main.tf").read_text()
    block = re.search(r"endpoints\s*\{(?P<body>[^}]*)\}", hcl)
    assert block, "environments/local/main.tf has no endpoints block"
    return set(re.findall(r"^\s*([a-z0-9]+)\s*=", block["body"], flags=re.MULTILINE))


def test_every_type_maps_to_a_known_service():
    unknown = sorted(t for t in module_types() - NO_ENDPOINT if service_of(t) is None)
    assert not unknown, (
        f"aws_{unknown} use a service this test does not know: add its prefix to SERVICES "
        "and its endpoint to environments/local"
    )


def test_local_provider_has_every_endpoint():
    needed = {service_of(t) for t in module_types() - NO_ENDPOINT} - {None}
    missing = sorted(needed - local_endpoints())
    assert not missing, f"environments/local lacks endpoints for: {missing}"


def test_services_of_the_coming_capabilities_are_ready():
    assert {"scheduler", "secretsmanager"} <= local_endpoints()


def test_the_mapping():
    assert service_of("cloudwatch_metric_alarm") == "cloudwatch"
    assert service_of("cloudwatch_event_target") == "events"
    assert service_of("cloudwatch_log_group") == "logs"
    assert service_of("scheduler_schedule_group") == "scheduler"
    assert service_of("caller_identity") == "sts"
    assert service_of("vpc_endpoint") == "ec2"
    assert service_of("security_group") == "ec2"
    assert service_of("ec2_instance") is None
    assert "sqs_queue" in module_types()
