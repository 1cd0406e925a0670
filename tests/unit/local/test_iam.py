"""Local IAM checks: which actions a call needs, and how the role's policies decide it.

The policies mirror the modules' (terraform/modules/{function,lookup,ingest}): resource-scoped
grants, wildcards, kms:ViaService, and the Deny statements with aws:SecureTransport.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from headwater.local.iam import actions, enforce, evaluate
from headwater.local.iam.actions import BucketEncryption

R = "us-east-1"
A = "123456789012"
TABLE = f"arn:aws:dynamodb:{R}:{A}:table/lookup"
KEY = f"arn:aws:kms:{R}:{A}:key/1234abcd"
RAW = "arn:aws:s3:::raw"
QUEUE_URL = f"https://sqs.{R}.amazonaws.com/{A}/work"
QUEUE = f"arn:aws:sqs:{R}:{A}:work"
BUS = f"arn:aws:events:{R}:{A}:event-bus/default"
TOPIC = f"arn:aws:sns:{R}:{A}:alerts"

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "LoadLookupTable",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Resource": [TABLE],
        },
        {
            "Sid": "ReadLookupFiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{RAW}/lookup/*"],
        },
        {"Sid": "ListRaw", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": RAW},
        {
            "Sid": "Curated",
            "Effect": "Allow",
            "Action": "s3:Put*",
            "Resource": "arn:aws:s3:::cur/*",
        },
        {
            "Sid": "UseKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": [f"s3.{R}.amazonaws.com"]}},
        },
        {"Sid": "Queue", "Effect": "Allow", "Action": "SQS:*Message", "Resource": QUEUE},
        {"Sid": "Events", "Effect": "Allow", "Action": "events:PutEvents", "Resource": BUS},
        {
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
        },
        {
            "Sid": "NoPlainHttp",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "NeverDeleteTable",
            "Effect": "Deny",
            "Action": "dynamodb:Delete*",
            "Resource": "*",
        },
        {
            "Sid": "PublishOnlyAlerts",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": f"arn:aws:sns:{R}:{A}:alert?",
        },
    ],
}


def _kms(bucket_key: bool = True) -> actions.EncryptionLookup:
    return lambda bucket: BucketEncryption(KEY if bucket == "raw" else None, bucket_key)


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Parsing AWS's 13 MB IAM definition takes a while: once per module.
    return actions.build_index(tmp_path_factory.mktemp("iam") / "actions.json")


@pytest.fixture
def checker(tmp_path: Path, index_path: Path) -> enforce.Checker:
    index = index_path
    spec = {
        "function": "loader",
        "role_arn": f"arn:aws:iam::{A}:role/loader",
        "principal_arn": f"arn:aws:sts::{A}:assumed-role/loader/loader",
        "account": A,
        "region": R,
        "documents": [POLICY],
        "action_index": str(index),
    }
    path = tmp_path / "loader.json"
    path.write_text(json.dumps(spec))
    check = enforce.Checker(str(path))
    check._bucket_encryption = _kms()  # type: ignore[method-assign] - no emulator in unit tests
    return check


# (service, operation, params, expected: None = allowed, else the denied (action, resource))
CALLS = [
    ("dynamodb", "PutItem", {"TableName": "lookup", "Item": {}}, None),
    ("dynamodb", "UpdateItem", {"TableName": "lookup", "Key": {}}, ("dynamodb:UpdateItem", TABLE)),
    (
        "dynamodb",
        "PutItem",
        {"TableName": "other", "Item": {}},
        ("dynamodb:PutItem", f"arn:aws:dynamodb:{R}:{A}:table/other"),
    ),
    ("dynamodb", "BatchWriteItem", {"RequestItems": {"lookup": []}}, None),
    (
        "dynamodb",
        "Query",
        {"TableName": "lookup", "IndexName": "by-x"},
        ("dynamodb:Query", f"{TABLE}/index/by-x"),
    ),
    ("dynamodb", "DeleteItem", {"TableName": "lookup", "Key": {}}, ("dynamodb:DeleteItem", TABLE)),
    ("s3", "GetObject", {"Bucket": "raw", "Key": "lookup/a.csv"}, None),
    (
        "s3",
        "GetObject",
        {"Bucket": "raw", "Key": "ingest/a.csv"},
        ("s3:GetObject", f"{RAW}/ingest/a.csv"),
    ),
    ("s3", "HeadObject", {"Bucket": "raw", "Key": "lookup/a.csv"}, None),
    ("s3", "GetObject", {"Bucket": "raw", "Key": "lookup/a.csv", "VersionId": "v1"}, None),
    ("s3", "ListObjectsV2", {"Bucket": "raw", "Prefix": "lookup/"}, None),
    ("s3", "ListObjectVersions", {"Bucket": "raw"}, ("s3:ListBucketVersions", RAW)),
    ("s3", "PutObject", {"Bucket": "cur", "Key": "x.parquet"}, None),
    ("s3", "PutObject", {"Bucket": "raw", "Key": "lookup/x"}, ("s3:PutObject", f"{RAW}/lookup/x")),
    (
        "s3",
        "DeleteObject",
        {"Bucket": "raw", "Key": "lookup/a.csv", "VersionId": "v1"},
        ("s3:DeleteObjectVersion", f"{RAW}/lookup/a.csv"),
    ),
    ("s3", "CopyObject", {"Bucket": "cur", "Key": "b", "CopySource": "raw/lookup/a.csv"}, None),
    (
        "s3",
        "CopyObject",
        {
            "Bucket": "cur",
            "Key": "b",
            "CopySource": {"Bucket": "raw", "Key": "in/a", "VersionId": "1"},
        },
        ("s3:GetObjectVersion", f"{RAW}/in/a"),
    ),
    ("sqs", "SendMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": []}, None),
    ("sqs", "ReceiveMessage", {"QueueUrl": QUEUE_URL}, None),
    ("sqs", "PurgeQueue", {"QueueUrl": QUEUE_URL}, ("sqs:PurgeQueue", QUEUE)),
    ("events", "PutEvents", {"Entries": [{"Source": "x"}]}, None),
    (
        "events",
        "PutEvents",
        {"Entries": [{"EventBusName": "other"}]},
        ("events:PutEvents", f"arn:aws:events:{R}:{A}:event-bus/other"),
    ),
    ("monitoring", "PutMetricData", {"Namespace": "x", "MetricData": []}, None),
    ("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"}, None),
    ("sns", "Publish", {"TopicArn": f"{TOPIC}-x", "Message": "m"}, ("sns:Publish", f"{TOPIC}-x")),
    ("sts", "GetCallerIdentity", {}, None),
]


@pytest.mark.parametrize(("service", "operation", "params", "denied"), CALLS)
def test_calls_against_a_module_like_role(checker, service, operation, params, denied):
    decision = checker.decide(service, operation, params)
    if denied is None:
        assert decision is None
    else:
        assert decision is not None
        assert (decision.action, decision.resource) == denied


def test_explicit_deny_wins_over_allow_and_names_the_statement():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": "*"},
        ]
    }
    decision = evaluate.evaluate([policy], "dynamodb:DeleteItem", TABLE)
    assert decision.result == evaluate.EXPLICIT_DENY and decision.statement == "NoDeletes"
    assert evaluate.evaluate([policy], "dynamodb:GetItem", TABLE).allowed
    message = enforce.denial_message("P", decision)
    assert message.endswith("with an explicit deny in an identity-based policy")


def test_no_statement_is_an_implicit_deny():
    assert evaluate.evaluate([], "s3:GetObject", f"{RAW}/k").result == evaluate.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("statement", "action", "resource", "allowed"),
    [
        ({"NotAction": "s3:Delete*", "Resource": "*"}, "s3:GetObject", "x", True),
        ({"NotAction": "s3:Delete*", "Resource": "*"}, "s3:DeleteObject", "x", False),
        ({"Action": "s3:*", "NotResource": f"{RAW}/secret/*"}, "s3:GetObject", f"{RAW}/a", True),
        (
            {"Action": "s3:*", "NotResource": f"{RAW}/secret/*"},
            "s3:GetObject",
            f"{RAW}/secret/a",
            False,
        ),
        ({"Action": "s3:Get?bject", "Resource": "*"}, "s3:GetObject", "x", True),
        ({"Action": "S3:GETOBJECT", "Resource": "*"}, "s3:GetObject", "x", True),
        # Resources are case-sensitive, actions are not.
        ({"Action": "s3:GetObject", "Resource": f"{RAW}/A"}, "s3:GetObject", f"{RAW}/a", False),
        # An action without resource-level permissions is requested on "*".
        (
            {"Action": "cloudwatch:PutMetricData", "Resource": "arn:aws:cloudwatch:*"},
            "cloudwatch:PutMetricData",
            "*",
            False,
        ),
        (
            {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::[a]"},
            "s3:GetObject",
            "arn:aws:s3:::a",
            False,
        ),
    ],
)
def test_not_action_not_resource_and_wildcards(statement, action, resource, allowed):
    policy = {"Statement": [dict(statement, Effect="Allow")]}
    assert evaluate.evaluate([policy], action, resource).allowed is allowed


@pytest.mark.parametrize(
    ("operator", "key", "values", "context", "holds"),
    [
        ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "true"}, False),
        ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"}, True),
        (
            "StringEquals",
            "kms:ViaService",
            ["s3.us-east-1.amazonaws.com"],
            {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
            True,
        ),
        (
            "StringEquals",
            "kms:ViaService",
            ["sqs.us-east-1.amazonaws.com"],
            {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
            False,
        ),
        ("StringEquals", "kms:ViaService", ["s3.us-east-1.amazonaws.com"], {}, False),
        ("StringEqualsIfExists", "kms:ViaService", ["x"], {}, True),
        ("StringEquals", "aws:SourceAccount", A, {"aws:SourceAccount": A}, True),
        (
            "StringLike",
            "kms:EncryptionContext:aws:logs:arn",
            "arn:aws:logs:*:123456789012:*",
            {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{R}:{A}:log-group:x"},
            True,
        ),
        (
            "ArnLike",
            "aws:SourceArn",
            f"arn:aws:events:{R}:{A}:rule/*",
            {"aws:SourceArn": f"arn:aws:events:{R}:{A}:rule/ingest"},
            True,
        ),
        (
            "ArnEquals",
            "aws:SourceArn",
            f"arn:aws:events:{R}:{A}:rule/ingest",
            {"aws:SourceArn": f"arn:aws:events:{R}:{A}:rule/other"},
            False,
        ),
        ("StringNotEquals", "aws:SourceAccount", A, {"aws:SourceAccount": "999999999999"}, True),
        ("Null", "aws:SourceArn", "true", {}, True),
    ],
)
def test_condition_operators_and_keys_the_modules_use(operator, key, values, context, holds):
    assert evaluate.condition_holds(operator, key, values, context) is holds


def test_unknown_condition_key_fails_closed_both_ways():
    allow = {
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "data"}},
    }
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "data"}},
    }
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    decision = evaluate.evaluate([{"Statement": [allow]}], "s3:GetObject", "x")
    assert decision.result == evaluate.IMPLICIT_DENY and "not known locally" in decision.notes[0]
    decision = evaluate.evaluate([{"Statement": [everything, deny]}], "s3:GetObject", "x")
    assert decision.result == evaluate.EXPLICIT_DENY


def test_operation_names_map_to_their_actions():
    def needed(op, **params):
        return [(r.action, r.resource) for r in actions.requirements("s3", op, params, R)]

    obj = f"{RAW}/k"
    assert needed("HeadObject", Bucket="raw", Key="k") == [("s3:GetObject", obj)]
    assert needed("HeadObject", Bucket="raw", Key="k", VersionId="1") == [
        ("s3:GetObjectVersion", obj)
    ]
    assert needed("ListObjectsV2", Bucket="raw") == [("s3:ListBucket", RAW)]
    assert needed("GetObject", Bucket="raw", Key="k", VersionId="1") == [
        ("s3:GetObjectVersion", obj)
    ]
    assert needed("CopyObject", Bucket="cur", Key="t", CopySource="raw/k?versionId=1") == [
        ("s3:GetObjectVersion", obj),
        ("s3:PutObject", "arn:aws:s3:::cur/t"),
    ]
    assert needed(
        "DeleteObjects", Bucket="raw", Delete={"Objects": [{"Key": "k", "VersionId": "1"}]}
    ) == [("s3:DeleteObjectVersion", obj)]
    assert needed("CreateMultipartUpload", Bucket="raw", Key="k") == [("s3:PutObject", obj)]


def test_lambda_invoke_is_authorised_as_invoke_function(checker):
    """A role that may invoke one function (the collect API's: run-now invokes the collector
    asynchronously) is allowed Invoke on it, and only on it."""
    collector = f"arn:aws:lambda:{R}:{A}:function:collector"
    found = actions.requirements("lambda", "Invoke", {"FunctionName": "collector"}, R)
    assert [(r.action, r.resource) for r in found] == [("lambda:InvokeFunction", collector)]
    checker.spec["documents"] = [
        {
            "Statement": [
                {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": collector}
            ]
        }
    ]
    checker._reload = lambda: None  # type: ignore[method-assign] - keep the edited documents
    params = {"FunctionName": "collector", "InvocationType": "Event"}
    assert checker.decide("lambda", "Invoke", params) is None
    denied = checker.decide("lambda", "Invoke", {"FunctionName": "other"})
    assert denied is not None and denied.action == "lambda:InvokeFunction"


def test_create_secret_is_checked_on_the_secret_it_names_not_its_key():
    """The collect API creates connections under its prefix with the platform key: the
    resource is the secret (matched by ``secret:<prefix>*``), never the KmsKeyId's ARN."""
    params = {"Name": "hw/collect/acme/main", "KmsKeyId": KEY, "SecretString": "{}"}
    found = actions.requirements("secretsmanager", "CreateSecret", params, R)
    assert [(r.action, r.resource) for r in found] == [
        (
            "secretsmanager:CreateSecret",
            f"arn:aws:secretsmanager:{R}:{A}:secret:hw/collect/acme/main",
        ),
        # Setting the key validates both actions on it, through Secrets Manager.
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    ]
    assert found[1].context["kms:ViaService"] == f"secretsmanager.{R}.amazonaws.com"


def _keyed(prefix: str, params: dict) -> str | None:
    """The lookup the checker makes: every secret, queue and topic under KEY."""
    return KEY


@pytest.mark.parametrize(
    ("prefix", "operation", "params", "used"),
    [
        ("secretsmanager", "GetSecretValue", {"SecretId": "s"}, ["kms:Decrypt"]),
        ("secretsmanager", "PutSecretValue", {"SecretId": "s", "SecretString": "x"},
         ["kms:GenerateDataKey"]),
        ("secretsmanager", "UpdateSecret", {"SecretId": "s", "SecretString": "x"},
         ["kms:GenerateDataKey"]),
        ("secretsmanager", "UpdateSecret", {"SecretId": "s", "Description": "d"}, []),
        ("secretsmanager", "DescribeSecret", {"SecretId": "s"}, []),
        ("secretsmanager", "DeleteSecret", {"SecretId": "s"}, []),
        # No key named at creation: the AWS managed key, which needs no grant.
        ("secretsmanager", "CreateSecret", {"Name": "s", "SecretString": "x"}, []),
        ("secretsmanager", "CreateSecret", {"Name": "s", "KmsKeyId": "alias/aws/secretsmanager",
         "SecretString": "x"}, []),
        ("sqs", "SendMessage", {"QueueUrl": "http://h/1/q", "MessageBody": "m"},
         ["kms:GenerateDataKey", "kms:Decrypt"]),
        ("sqs", "SendMessageBatch", {"QueueUrl": "http://h/1/q", "Entries": []},
         ["kms:GenerateDataKey", "kms:Decrypt"]),
        ("sqs", "ReceiveMessage", {"QueueUrl": "http://h/1/q"}, ["kms:Decrypt"]),
        ("sqs", "DeleteMessage", {"QueueUrl": "http://h/1/q", "ReceiptHandle": "r"}, []),
        ("sns", "Publish", {"TopicArn": f"arn:aws:sns:{R}:{A}:t", "Message": "m"},
         ["kms:GenerateDataKey", "kms:Decrypt"]),
    ],
)  # fmt: skip
def test_services_use_a_customer_key_with_the_callers_permissions(prefix, operation, params, used):
    found = actions.requirements(prefix, operation, params, R, key_of=_keyed)
    kms = [r for r in found if r.action.startswith("kms:")]
    assert [r.action for r in kms] == used
    assert all(r.resource == KEY for r in kms)
    assert all(r.context["kms:ViaService"] == f"{prefix}.{R}.amazonaws.com" for r in kms)
    # Without a customer managed key (the lookup finds none) only the service's action is left.
    plain = actions.requirements(prefix, operation, params, R)
    assert not any(r.action.startswith("kms:") for r in plain)


def test_sse_kms_reads_and_writes_need_the_implicit_kms_actions():
    def kms(op, bucket_key=True, **params):
        found = actions.requirements("s3", op, params, R, _kms(bucket_key))
        return [
            (r.action, r.resource, r.context.get("kms:EncryptionContext:aws:s3:arn"))
            for r in found
            if r.action.startswith("kms:")
        ]

    assert kms("GetObject", Bucket="raw", Key="k") == [("kms:Decrypt", KEY, RAW)]
    assert kms("PutObject", Bucket="raw", Key="k", bucket_key=False) == [
        ("kms:GenerateDataKey", KEY, f"{RAW}/k")
    ]
    assert kms("HeadObject", Bucket="raw", Key="k") == []
    assert kms("GetObject", Bucket="plain", Key="k") == []  # not SSE-KMS: no KMS call
    assert kms("CopyObject", Bucket="plain", Key="t", CopySource="raw/k") == [
        ("kms:Decrypt", KEY, RAW)
    ]
    viaservice = actions.requirements("s3", "GetObject", {"Bucket": "raw", "Key": "k"}, R, _kms())
    assert viaservice[1].context["kms:ViaService"] == f"s3.{R}.amazonaws.com"


def test_sse_kms_read_is_denied_without_decrypt_through_s3(checker):
    checker.spec["documents"] = [
        {
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{RAW}/*"},
                {
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": KEY,
                    "Condition": {
                        "StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}
                    },
                },
            ]
        }
    ]
    checker._reload = lambda: None  # type: ignore[method-assign] - keep the edited documents
    decision = checker.decide("s3", "GetObject", {"Bucket": "raw", "Key": "k"})
    assert decision is not None and (decision.action, decision.resource) == ("kms:Decrypt", KEY)


def test_every_action_the_rules_produce_exists_in_the_iam_definition(index_path):
    index = actions.load_index(str(index_path))
    produced = {
        r.action
        for service, op, params, _ in CALLS
        for r in actions.requirements(service, op, params, R, _kms())
    }
    produced |= {f"s3:{a}" for pair in actions._S3_OBJECT_ACTIONS.values() for a in pair}
    produced |= {f"s3:{a}" for a in actions._S3_BUCKET_ACTIONS.values()}
    assert sorted(a for a in produced if not actions.known_action(index, a)) == []


def test_denied_call_gets_aws_error_shape():
    assert enforce.error_code("dynamodb", "json") == "AccessDeniedException"
    assert enforce.error_code("s3", "rest-xml") == "AccessDenied"
    assert enforce.error_code("sqs", "json") == "AccessDenied"
    decision = evaluate.Decision(evaluate.IMPLICIT_DENY, "s3:GetObject", f"{RAW}/k")
    assert enforce.denial_message("arn:aws:sts::1:assumed-role/r/f", decision) == (
        "User: arn:aws:sts::1:assumed-role/r/f is not authorized to perform: s3:GetObject on "
        f"resource: {RAW}/k because no identity-based policy allows the s3:GetObject action"
    )


@pytest.mark.parametrize(
    ("value", "on"), [(None, True), ("on", True), ("off", False), ("OFF", False)]
)
def test_switch_and_status_line(tmp_path, monkeypatch, value, on):
    from headwater.local.iam import policies

    if value is None:
        monkeypatch.delenv(policies.SWITCH, raising=False)
    else:
        monkeypatch.setenv(policies.SWITCH, value)
    files = policies.PolicyFiles(iam_client=None, region=R, directory=tmp_path)
    assert files.on is on
    assert files.write("fn", "arn:aws:iam::123456789012:role/r") == (
        str(tmp_path / "fn.json") if on else None
    )
    line = policies.status_line(tmp_path)
    assert line is not None and line.startswith(f"iam checks: {'on' if on else 'off'}")
    files.close()
    assert policies.status_line(tmp_path) is None


def test_unreadable_role_is_written_with_no_policies_so_calls_are_denied(tmp_path, monkeypatch):
    from headwater.local.iam import policies

    monkeypatch.delenv(policies.SWITCH, raising=False)
    files = policies.PolicyFiles(iam_client=None, region=R, directory=tmp_path)
    spec = json.loads(Path(files.write("fn", "arn:aws:iam::123456789012:role/r")).read_text())
    assert spec["documents"] == []
    assert spec["principal_arn"] == "arn:aws:sts::123456789012:assumed-role/r/fn"


def test_the_checker_reads_the_customer_key_of_a_secret_queue_or_topic(checker, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": R,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        kms = boto3.client("kms", region_name=R)
        key = kms.create_key()["KeyMetadata"]
        kms.create_alias(AliasName="alias/platform", TargetKeyId=key["KeyId"])
        secrets = boto3.client("secretsmanager", region_name=R)
        secrets.create_secret(Name="db", SecretString="{}", KmsKeyId=key["KeyId"])
        secrets.create_secret(Name="plain", SecretString="{}")
        sqs = boto3.client("sqs", region_name=R)
        keyed = sqs.create_queue(QueueName="work", Attributes={"KmsMasterKeyId": "alias/platform"})[
            "QueueUrl"
        ]
        managed = sqs.create_queue(
            QueueName="managed", Attributes={"KmsMasterKeyId": "alias/aws/sqs"}
        )["QueueUrl"]
        sns = boto3.client("sns", region_name=R)
        topic = sns.create_topic(Name="t", Attributes={"KmsMasterKeyId": key["Arn"]})["TopicArn"]

        assert checker._resource_key("secretsmanager", {"SecretId": "db"}) == key["Arn"]
        assert checker._resource_key("secretsmanager", {"SecretId": "plain"}) is None
        assert checker._resource_key("secretsmanager", {"SecretId": "missing"}) is None
        assert checker._resource_key("sqs", {"QueueUrl": keyed}) == key["Arn"]  # alias resolved
        assert checker._resource_key("sqs", {"QueueUrl": managed}) is None  # AWS managed key
        assert checker._resource_key("sns", {"TopicArn": topic}) == key["Arn"]

        # A role that may read the secret but not decrypt with its key is denied, as on AWS.
        checker.spec["documents"] = [
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
                    {
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": key["Arn"],
                        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{R}.amazonaws.com"}},
                    },
                ]
            }
        ]
        checker._reload = lambda: None  # type: ignore[method-assign] - keep the edited documents
        decision = checker.decide("secretsmanager", "GetSecretValue", {"SecretId": "db"})
        assert decision is not None
        assert (decision.action, decision.resource) == ("kms:Decrypt", key["Arn"])
        assert checker.decide("secretsmanager", "GetSecretValue", {"SecretId": "plain"}) is None
        statement = checker.spec["documents"][0]["Statement"][1]
        statement["Condition"]["StringEquals"]["kms:ViaService"] = (
            f"secretsmanager.{R}.amazonaws.com"
        )
        assert checker.decide("secretsmanager", "GetSecretValue", {"SecretId": "db"}) is None
