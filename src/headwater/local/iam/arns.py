"""Resource ARNs of a request, built per service from its parameters, as IAM sees them.

The account and region are the emulator's (moto's default account, the runner's region). A
service without a builder here is requested on ``*``: a resource-scoped policy then denies it
locally, and the log line names the call, so a missing builder shows up instead of hiding a gap.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

ACCOUNT = "123456789012"  # moto's default account: every ARN Terraform sees in the emulator


def s3_bucket(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def parse_copy_source(source: Any) -> tuple[str, str, str | None]:
    """CopySource as boto3 takes it: a dict, or ``bucket/key`` with ``?versionId=``."""
    if isinstance(source, dict):
        return source["Bucket"], source["Key"], source.get("VersionId")
    text = str(source).lstrip("/")
    version = None
    if "?versionId=" in text:
        text, version = text.split("?versionId=", 1)
    bucket, _, key = text.partition("/")
    return bucket, unquote(key), version


def dynamodb_table(table: str, region: str, index: str | None = None) -> str:
    if table.startswith("arn:"):
        arn = table
    else:
        arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def sqs_queue(queue_url_or_name: str, region: str) -> str:
    """``https://host/123456789012/name`` (or a bare name) -> ``arn:aws:sqs:region:acct:name``."""
    if queue_url_or_name.startswith("arn:"):
        return queue_url_or_name
    if "://" in queue_url_or_name:
        parts = [p for p in urlparse(queue_url_or_name).path.split("/") if p]
        account, name = (parts[-2], parts[-1]) if len(parts) >= 2 else (ACCOUNT, parts[-1])
        return f"arn:aws:sqs:{region}:{account}:{name}"
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{queue_url_or_name}"


def event_bus(name: str | None, region: str) -> str:
    if name and name.startswith("arn:"):
        return name
    return f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name or 'default'}"


def kms_key(key_id: str, region: str) -> str:
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        return f"arn:aws:kms:{region}:{ACCOUNT}:{key_id}"
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def _named(service: str, region: str, kind: str, name: str, sep: str = "/") -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}{sep}{name}"


def generic(prefix: str, params: dict[str, Any], region: str) -> str:
    """The resource of a one-resource call in the services without their own rules."""
    if prefix == "sns":
        arn = params.get("TopicArn") or params.get("TargetArn")
        if arn:
            return str(arn)
        if "Name" in params:
            return _named("sns", region, "", params["Name"], sep="")
    if prefix == "lambda" and "FunctionName" in params:
        return _named("lambda", region, "function", params["FunctionName"], sep=":")
    if prefix == "secretsmanager" and "SecretId" in params:
        # The real ARN ends in a random suffix; a name is matched as AWS documents (name-??????).
        return _named("secretsmanager", region, "secret", params["SecretId"], sep=":")
    if prefix == "secretsmanager" and "Name" in params:
        # CreateSecret names the secret it makes (its KmsKeyId is an ARN too, and not the
        # resource: the loop below would take it).
        return _named("secretsmanager", region, "secret", params["Name"], sep=":")
    if prefix == "scheduler" and "Name" in params:
        group = params.get("GroupName") or "default"
        return _named("scheduler", region, "schedule", f"{group}/{params['Name']}")
    if prefix == "logs" and "logGroupName" in params:
        return _named("logs", region, "log-group", params["logGroupName"], sep=":")
    if prefix == "kms" and "KeyId" in params:
        return kms_key(params["KeyId"], region)
    if prefix == "sqs" and ("QueueUrl" in params or "QueueName" in params):
        return sqs_queue(params.get("QueueUrl") or params["QueueName"], region)
    if prefix == "dynamodb" and "TableName" in params:
        return dynamodb_table(params["TableName"], region, params.get("IndexName"))
    if prefix == "dynamodb" and "StreamArn" in params:
        return str(params["StreamArn"])
    if prefix == "events" and "EventBusName" in params:
        return event_bus(params["EventBusName"], region)
    for value in params.values():  # a parameter that is itself an ARN names the resource
        if isinstance(value, str) and value.startswith("arn:aws:"):
            return value
    return "*"
