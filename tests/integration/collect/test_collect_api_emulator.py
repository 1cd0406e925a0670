"""The collect API handler against the local mode's emulator (a real, patched moto server): the
Scheduler, Secrets Manager and DynamoDB over HTTP, and run-now's asynchronous Invoke reaching
the runner's invoker (moto alone would try Docker)."""

from __future__ import annotations

import json

import pytest

from headwater import aws as aws_clients
from headwater.collect import schedule_store
from headwater.handlers import collect_api
from headwater.handlers.support import tenancy as request_tenancy
from tests.support.collect_api import request
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

pytestmark = pytest.mark.integration


@pytest.fixture
def deployed(emulator, aws, unique, make_function, invocations, monkeypatch):
    tenancy, state, group = f"tenancy-{unique}", f"state-{unique}", f"group-{unique}"
    dynamodb = aws("dynamodb")
    create_tenancy_table(dynamodb, tenancy)
    for subscriber in ("acme", "globex"):
        put_subscriber(dynamodb, tenancy, subscriber)
        put_key(dynamodb, tenancy, f"k-{subscriber}", subscriber)
    dynamodb.create_table(
        TableName=state,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws("scheduler").create_schedule_group(Name=group)
    collector = make_function(f"collector-{unique}")
    for name, value in {
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TENANCY_TABLE": tenancy,
        "COLLECT_SCHEDULE_GROUP": group,
        "COLLECT_COLLECTOR_ARN": collector,
        "COLLECT_SCHEDULE_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
        "COLLECT_SCHEDULE_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:dlq",
        "COLLECT_SECRET_PREFIX": f"hw-{unique}/collect/",
        "COLLECT_KMS_KEY_ARN": aws("kms").create_key()["KeyMetadata"]["Arn"],
        "COLLECT_STATE_TABLE": state,
        "POWERTOOLS_SERVICE_NAME": "collect",
    }.items():
        monkeypatch.setenv(name, value)
    aws_clients.reset()
    request_tenancy.reset()
    collect_api.reset()
    yield {"collector": collector, "group": group, "invocations": invocations}
    aws_clients.reset()
    request_tenancy.reset()
    collect_api.reset()


def test_create_list_run_delete_through_the_emulator(deployed, aws):
    body = {
        "name": "daily",
        "source": "synthetic",
        "account": "act_1",
        "expression": "cron(0 6 * * ? *)",
        "time_zone": "Europe/Berlin",
    }
    assert request("POST", "/schedules", body=body)[0] == 201
    assert request("POST", "/schedules", body=body, key="k-globex")[0] == 201
    listed = request("GET", "/schedules")[1]["schedules"]
    assert [s["name"] for s in listed] == ["daily"] and listed[0]["time_zone"] == "Europe/Berlin"
    status, answer, _ = request("POST", "/schedules/{name}/run", {"name": "daily"})
    assert status == 202
    [event] = deployed["invocations"].for_function(deployed["collector"])
    assert event["subscriber"] == "acme" and event["trigger"] == "api"
    assert event["scheduled_time"] == answer["scheduled_time"]
    assert request("DELETE", "/schedules/{name}", {"name": "daily"})[0] == 204
    names = [
        s["Name"] for s in aws("scheduler").list_schedules(GroupName=deployed["group"])["Schedules"]
    ]
    assert names == [schedule_store.schedule_name("globex", "daily")]
    # Connections: write-only, over the emulator's Secrets Manager.
    connection = {"name": "main", "source": "synthetic", "token": "TOKEN-abc"}
    assert request("POST", "/connections", body=connection)[0] == 201
    listed = request("GET", "/connections")[1]
    assert [c["name"] for c in listed["connections"]] == ["main"]
    assert "TOKEN-abc" not in json.dumps(listed)
    assert request("GET", "/connections", key="k-globex")[1]["connections"] == []
