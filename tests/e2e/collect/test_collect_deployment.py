"""The collect module as the local environment deploys it: what the emulator holds after
``terraform apply`` is what the contract (issue 8) and the handlers rely on.

The plan-time assertions (terraform/modules/collect/tests) pin the policies; this checks the
applied result: the stream, TTL, mapping and retry settings the emulator stored, the routes on
the REST API, the schedule role, the outputs the tools read, and that the module converges.
"""

from __future__ import annotations

import json

from tests.support.e2e import client, outputs, terraform_plan

CONTRACT_OUTPUTS = {
    "collect_facts_table",
    "collect_state_table",
    "collect_changes_bucket",
    "collect_changes_prefix",
    "collect_collector_function_name",
    "collect_sink_function_name",
    "collect_api_function_name",
    "collect_sink_failures_queue_url",
    "collect_collector_failures_queue_url",
    "collect_secret_prefix",
}


def test_the_environment_exposes_the_contracts_outputs(platform):
    out = outputs(platform)
    assert set(out) >= CONTRACT_OUTPUTS
    assert out["collect_secret_prefix"] == "headwater-local/collect/"
    assert out["collect_changes_prefix"] == "changes/"
    assert client(platform, "s3").head_bucket(Bucket=out["collect_changes_bucket"])


def test_the_facts_table_streams_every_change_and_expires_by_ttl(platform):
    out = outputs(platform)
    dynamodb = client(platform, "dynamodb")
    table = dynamodb.describe_table(TableName=out["collect_facts_table"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    ttl = dynamodb.describe_time_to_live(TableName=out["collect_facts_table"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    state = dynamodb.describe_table(TableName=out["collect_state_table"])["Table"]
    assert state["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_the_sink_maps_the_facts_stream_with_the_contracts_settings(platform):
    out = outputs(platform)
    lam = client(platform, "lambda")
    stream_arn = client(platform, "dynamodb").describe_table(TableName=out["collect_facts_table"])[
        "Table"
    ]["LatestStreamArn"]
    # By the stream: moto filters FunctionName by the exact string it was created with (the ARN).
    (mapping,) = lam.list_event_source_mappings(EventSourceArn=stream_arn)["EventSourceMappings"]
    sink = lam.get_function(FunctionName=out["collect_sink_function_name"])["Configuration"]
    assert mapping["FunctionArn"] == sink["FunctionArn"]
    failures_arn = client(platform, "sqs").get_queue_attributes(
        QueueUrl=out["collect_sink_failures_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert mapping["EventSourceArn"] == stream_arn
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["ParallelizationFactor"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10
    assert mapping["MaximumRecordAgeInSeconds"] == 86400
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": failures_arn}}


def test_the_collector_retries_twice_then_records_the_event_in_its_queue(platform):
    out = outputs(platform)
    config = client(platform, "lambda").get_function_event_invoke_config(
        FunctionName=out["collect_collector_function_name"]
    )
    failures_arn = client(platform, "sqs").get_queue_attributes(
        QueueUrl=out["collect_collector_failures_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 21600
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == failures_arn


def test_the_api_function_gets_the_schedule_role_which_invokes_only_the_collector(platform):
    out = outputs(platform)
    lam = client(platform, "lambda")
    env = lam.get_function_configuration(FunctionName=out["collect_api_function_name"])[
        "Environment"
    ]["Variables"]
    collector = lam.get_function(FunctionName=out["collect_collector_function_name"])
    assert env["COLLECT_COLLECTOR_ARN"] == collector["Configuration"]["FunctionArn"]
    assert env["COLLECT_SECRET_PREFIX"] == out["collect_secret_prefix"]
    assert env["COLLECT_STATE_TABLE"] == out["collect_state_table"]

    iam = client(platform, "iam")
    role_name = env["COLLECT_SCHEDULE_ROLE_ARN"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    invokes = [s for s in document["Statement"] if "lambda:InvokeFunction" in str(s["Action"])]
    assert [s["Resource"] for s in invokes] == [collector["Configuration"]["FunctionArn"]]
    assert env["COLLECT_SCHEDULE_DLQ_ARN"] in json.dumps(document)


def test_the_routes_are_on_the_rest_api_with_keys_required(platform):
    gateway = client(platform, "apigateway")
    api_id = next(
        a["id"]
        for a in gateway.get_rest_apis()["items"]
        if a["name"] == outputs(platform)["api_name"]
    )
    resources = {r["path"]: r for r in gateway.get_resources(restApiId=api_id, limit=500)["items"]}
    expected = {
        "/schedules": {"GET", "POST"},
        "/schedules/{name}": {"GET", "PATCH", "DELETE"},
        "/schedules/{name}/run": {"POST"},
        "/connections": {"GET", "POST"},
        "/connections/{name}": {"PUT", "DELETE"},
    }
    for path, methods in expected.items():
        assert set(resources[path].get("resourceMethods", {})) == methods, path
        for method in methods:
            m = gateway.get_method(
                restApiId=api_id, resourceId=resources[path]["id"], httpMethod=method
            )
            assert m["apiKeyRequired"] is True, (path, method)
            assert m["methodIntegration"]["type"] == "AWS_PROXY", (path, method)


def test_a_second_plan_changes_nothing_in_collect(platform):
    plan = terraform_plan(platform)
    assert plan.returncode in (0, 2), plan.stderr[-2000:]
    # "# module.stack.module.collect.<address> will be updated in-place" and the like.
    changed = [
        line
        for line in plan.stdout.splitlines()
        if "# module.stack.module.collect." in line and (" will be " in line or " must be " in line)
    ]
    assert not changed, "\n".join(changed)
