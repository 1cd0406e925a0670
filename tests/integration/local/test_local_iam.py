"""Local IAM checks through the real runner and worker: a call the role does not allow fails as
on AWS (AccessDeniedException, AWS's message), one it allows goes through, and a policy change
reaches a warm worker."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from headwater.local.lambda_service.runner import Runner
from tests.integration.local.test_runner import (  # noqa: F401 - fixtures
    HANDLERS,
    REGION,
    endpoint,
    moto_endpoint,
)
from tests.support.emulator import code_zip, lambda_role

pytestmark = pytest.mark.integration

TABLE = "iam-items"


def _policy(actions: list[str], resource: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
    )


@pytest.fixture
def setup(endpoint: str) -> dict[str, Any]:  # noqa: F811 - the fixture above
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    iam = session.client("iam", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    table_arn = dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    role = lambda_role(iam, "iam-check-loader")
    iam.put_role_policy(
        RoleName="iam-check-loader",
        PolicyName="load",
        PolicyDocument=_policy(["dynamodb:PutItem", "dynamodb:GetItem"], table_arn),
    )
    session.client("lambda", endpoint_url=endpoint).create_function(
        FunctionName="iam-loader",
        Runtime="python3.12",
        Role=role,
        Handler=f"{HANDLERS}.dynamodb_update",
        Timeout=10,
        Environment={"Variables": {}},
        Code={"ZipFile": code_zip()},
    )
    return {"iam": iam, "table_arn": table_arn, "dynamodb": dynamodb}


def test_update_item_without_permission_fails_like_aws_then_passes_once_granted(
    endpoint: str,  # noqa: F811
    setup: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
):
    runner = Runner(endpoint, REGION, refresh_interval=0.3)
    runner.start()
    try:
        denied = runner.invoke("iam-loader", {"table": TABLE})
        assert denied.ok, denied.payload
        assert denied.payload["code"] == "AccessDeniedException"
        assert denied.payload["status"] == 403
        assert denied.payload["class"] == "ClientError"  # DynamoDB models no such exception
        assert denied.payload["message"] == (
            "User: arn:aws:sts::123456789012:assumed-role/iam-check-loader/iam-loader is not "
            f"authorized to perform: dynamodb:UpdateItem on resource: {setup['table_arn']} "
            "because no identity-based policy allows the dynamodb:UpdateItem action"
        )
        # Workers write to the runner's stderr (the daemon's log): one line names what is missing.
        assert (
            f"AccessDenied: iam-loader needs dynamodb:UpdateItem on {setup['table_arn']}"
            in capfd.readouterr().err
        )
        # The call never reached the emulator.
        assert "Item" not in setup["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": "k"}})

        setup["iam"].put_role_policy(
            RoleName="iam-check-loader",
            PolicyName="backstop",
            PolicyDocument=_policy(["dynamodb:UpdateItem"], setup["table_arn"]),
        )
        deadline = time.monotonic() + 15
        while True:  # the refresh rewrites the policies; the warm worker re-reads them
            result = runner.invoke("iam-loader", {"table": TABLE})
            if result.payload == "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert result.payload == "ok"
        item = setup["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": "k"}})["Item"]
        assert item["v"] == {"S": "x"}
    finally:
        runner.stop()


def test_switch_off_lets_the_call_through(
    endpoint: str,  # noqa: F811
    setup: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("HEADWATER_LOCAL_IAM", "off")
    runner = Runner(endpoint, REGION, refresh_interval=0.3)
    runner.start()
    try:
        assert runner.iam.on is False
        assert runner.invoke("iam-loader", {"table": TABLE}).payload == "ok"
    finally:
        runner.stop()
