"""End to end, on the session's ``./setup.sh run``: the collect flow of issue 8 over real HTTP
through the local API front, with real keys of two subscribers.

Schedules are created through the API and kept by the emulator's EventBridge Scheduler; firing
one runs the collector (``headwater schedules fire``, as a user would), whose facts land in the
facts table; the table's stream reaches the sink through the runner's stream poller, and the
sink's Parquet change files must hold every fact exactly once, equal to the table. A run-now
that finds nothing new changes nothing, a delete removes the schedule from the Scheduler, and a
collector that fails every attempt leaves Lambda's failure record on the failures queue, which
an alarm watches, without the connection's token anywhere.

The tests of this module run in order and share the schedules they create (``state``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from boto3.dynamodb.types import TypeDeserializer

from headwater.collect import sink
from tests.support.e2e import HTTP_TIMEOUT, api_base, client, outputs, subscriber_key
from tests.support.paths import ROOT
from tests.support.tenancy import put_subscriber

pytestmark = pytest.mark.e2e

NAME = "daily-e2e"  # both subscribers use it: names are per subscriber
CAMPAIGNS = 2
WAIT = 180  # seconds, the bound of every wait below
_deserializer = TypeDeserializer()


# ---- helpers ---------------------------------------------------------------------------------


def call(
    platform: dict, method: str, path: str, key: str, body: Any = None
) -> tuple[int, Any, dict, str]:
    """One request through the local front: (status, parsed JSON or None, headers, raw text)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"x-api-key": key}
    if data is not None:
        headers["content-type"] = "application/json"
    request = urllib.request.Request(
        f"{api_base(platform)}{path}", data=data, headers=headers, method=method
    )
    for _attempt in range(20):
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        text = raw.decode("utf-8", "replace")
        parsed = json.loads(text) if text else None
        if status != 429:  # the plans' throttle is high; a burst may still meet it
            return status, parsed, got, text
        time.sleep(0.5)
    return status, parsed, got, text


def scheduler_name(subscriber: str, name: str) -> str:
    """The contract's name on the Scheduler: ``c-<16 hex of sha256(subscriber)>-<name>``."""
    return f"c-{hashlib.sha256(subscriber.encode()).hexdigest()[:16]}-{name}"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = WAIT, every: float = 1.0):
    """``probe()`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def cli(platform: dict, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "headwater", *argv],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def printed_result(stdout: str) -> dict:
    """The invocation result ``schedules fire`` prints last (indented JSON), after the
    function's own log lines."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


def function_env(platform: dict, output: str) -> dict[str, str]:
    name = outputs(platform)[output]
    conf = client(platform, "lambda").get_function_configuration(FunctionName=name)
    return conf["Environment"]["Variables"]


def facts_of(platform: dict, pk: str) -> dict[str, dict]:
    """The facts table's items under ``pk``: sk -> item (plain Python values)."""
    out = outputs(platform)
    dynamodb = client(platform, "dynamodb")
    items: dict[str, dict] = {}
    pages = dynamodb.get_paginator("query").paginate(
        TableName=out["collect_facts_table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    for page in pages:
        for raw in page["Items"]:
            item = {k: _deserializer.deserialize(v) for k, v in raw.items()}
            items[item["sk"]] = item
    return items


# s3 key -> rows of that object (read once: objects are immutable once acknowledged).
_OBJECT_KEY = re.compile(
    r"^(?P<prefix>.*)dataset=(?P<dataset>[^/]+)/day=(?P<day>\d{4}-\d{2}-\d{2})/"
    r"[0-9A-Za-z]+-(?P<sequence>\d{40})\.parquet$"
)


def change_rows(platform: dict, pk: str, dataset: str = "synthetic") -> list[dict]:
    """Every change record the sink wrote for ``pk``, each with its object's key (``_key``)."""
    out = outputs(platform)
    s3 = client(platform, "s3")
    prefix = f"{out['collect_changes_prefix']}dataset={dataset}/"
    rows = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=out["collect_changes_bucket"], Prefix=prefix
    ):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=out["collect_changes_bucket"], Key=entry["Key"])
            table = pq.read_table(io.BytesIO(body["Body"].read()))
            expected = sink.schema()
            assert table.schema.names == expected.names, entry["Key"]
            assert [f.type for f in table.schema] == [f.type for f in expected], entry["Key"]
            rows.extend(
                {**row, "_key": entry["Key"]} for row in table.to_pylist() if row["pk"] == pk
            )
    return rows


def image(text: str | None) -> dict | None:
    """A change record's image (DynamoDB JSON) as plain values."""
    if text is None:
        return None
    return {k: _deserializer.deserialize(v) for k, v in json.loads(text).items()}


def log_lines(platform: dict, needle: str) -> list[dict]:
    """The functions' JSON log lines (the daemon's log) that contain ``needle``."""
    path = platform["state"] / "local.log"
    found = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if needle in line and "{" in line:
            try:
                found.append(json.loads(line[line.index("{") :]))
            except ValueError:
                continue
    return found


# ---- two subscribers, schedules, tenancy -----------------------------------------------------


@pytest.fixture(scope="module")
def state(platform) -> dict[str, Any]:
    """Two new subscribers, each with a key in a usage plan of its own, and what tests share."""
    out = outputs(platform)
    dynamodb = client(platform, "dynamodb")
    found: dict[str, Any] = {}
    for label in ("a", "b"):
        subscriber = f"e2e-collect-{label}-{uuid.uuid4().hex[:6]}"
        put_subscriber(dynamodb, out["tenancy_table"], subscriber)
        found[label] = {
            "subscriber": subscriber,
            "key": subscriber_key(platform, subscriber)["value"],
            "account": f"acct-{label}-{uuid.uuid4().hex[:6]}",
        }
    return found


def _schedule(account: str, name: str = NAME, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "source": "synthetic",
        "account": account,
        "expression": "rate(1 day)",
        "params": {"campaigns": CAMPAIGNS},
        **extra,
    }


def test_two_subscribers_create_the_same_name_and_each_sees_only_its_own(platform, state):
    a, b = state["a"], state["b"]
    # Disabled: an enabled rate schedule fires at its creation ("starts invoking immediately"),
    # and this module fires them itself, one of them only.
    for who in (a, b):
        status, body, headers, _ = call(
            platform, "POST", "/schedules", who["key"], _schedule(who["account"], enabled=False)
        )
        assert status == 201, body
        assert headers.get("Location", "").endswith(f"schedules/{NAME}"), headers
        assert (body["name"], body["account"], body["enabled"]) == (NAME, who["account"], False)
    # The name is taken for a, whatever b did.
    status, body, _, _ = call(platform, "POST", "/schedules", a["key"], _schedule(a["account"]))
    assert status == 409, body

    for who in (a, b):
        status, body, _, _ = call(platform, "GET", "/schedules", who["key"])
        assert status == 200, body
        assert [(s["name"], s["account"]) for s in body["schedules"]] == [(NAME, who["account"])]
        assert body["next"] is None

    # Both live in the Scheduler under names of their own, each input naming its owner.
    scheduler = client(platform, "scheduler")
    group = outputs(platform)["schedule_group_name"]
    assert function_env(platform, "collect_api_function_name")["COLLECT_SCHEDULE_GROUP"] == group
    for who in (a, b):
        found = scheduler.get_schedule(
            Name=scheduler_name(who["subscriber"], NAME), GroupName=group
        )
        job = json.loads(found["Target"]["Input"])
        assert (job["subscriber"], job["schedule"], job["account"]) == (
            who["subscriber"],
            NAME,
            who["account"],
        )
        assert found["State"] == "DISABLED"
        who["input"] = job


def test_another_subscribers_schedule_is_answered_like_a_missing_one(platform, state):
    a, b = state["a"], state["b"]
    # Enabled, so it fires at its creation: on an account of its own, away from NAME's facts.
    status, body, _, _ = call(
        platform, "POST", "/schedules", a["key"], _schedule(f"{a['account']}-x", name="only-a")
    )
    assert status == 201, body
    found = client(platform, "scheduler").get_schedule(
        Name=scheduler_name(a["subscriber"], "only-a"),
        GroupName=outputs(platform)["schedule_group_name"],
    )
    assert found["State"] == "ENABLED"
    missing = call(platform, "GET", "/schedules/no-such-schedule", b["key"])
    assert missing[0] == 404, missing
    for method, path, payload in (
        ("GET", "/schedules/only-a", None),
        ("PATCH", "/schedules/only-a", {"enabled": False}),
        ("DELETE", "/schedules/only-a", None),
        ("POST", "/schedules/only-a/run", None),
    ):
        status, body, _, _ = call(platform, method, path, b["key"], payload)
        assert (status, body) == (404, missing[1]), (method, path)
    # ... and a's schedule is untouched: still enabled, still there.
    status, body, _, _ = call(platform, "GET", "/schedules/only-a", a["key"])
    assert status == 200 and body["enabled"] is True, body


def test_patch_enabled_false_disables_it_in_the_scheduler(platform, state):
    a = state["a"]
    status, body, _, _ = call(platform, "PATCH", "/schedules/only-a", a["key"], {"enabled": False})
    assert status == 200, body
    assert body["enabled"] is False
    found = client(platform, "scheduler").get_schedule(
        Name=scheduler_name(a["subscriber"], "only-a"),
        GroupName=outputs(platform)["schedule_group_name"],
    )
    assert found["State"] == "DISABLED"
    assert call(platform, "GET", "/schedules/only-a", a["key"])[1]["enabled"] is False
    status, _, _, _ = call(platform, "DELETE", "/schedules/only-a", a["key"])
    assert status == 204


# ---- fire one: facts, then the sink's change files -------------------------------------------


def _pk(who: dict) -> str:
    return f"{who['subscriber']}#synthetic#{who['account']}"


def test_firing_a_schedule_lands_its_facts(platform, state):
    a, b = state["a"], state["b"]
    initial_days = int(
        function_env(platform, "collect_collector_function_name")["COLLECT_INITIAL_DAYS"]
    )
    expected = CAMPAIGNS * initial_days
    fired = cli(
        platform,
        *("schedules", "fire", scheduler_name(a["subscriber"], NAME)),
        *("--group", outputs(platform)["schedule_group_name"]),
    )
    assert fired.returncode == 0, fired.stdout[-3000:] + fired.stderr[-3000:]
    result = printed_result(fired.stdout)
    assert (result["facts"], result["windows"]) == (expected, initial_days), result

    items = facts_of(platform, _pk(a))
    assert len(items) == expected
    assert len({item["day"] for item in items.values()}) == initial_days
    assert {item["campaign"] for item in items.values()} == {"campaign-01", "campaign-02"}
    for item in items.values():
        assert (item["subscriber"], item["source"], item["account"]) == (
            a["subscriber"],
            "synthetic",
            a["account"],
        )
        assert item["clicks"] <= item["impressions"]
    # Only the fired schedule collected: b's facts are not there.
    assert facts_of(platform, _pk(b)) == {}
    # The checkpoint moved to the end of the last window collected.
    checkpoint = client(platform, "dynamodb").get_item(
        TableName=outputs(platform)["collect_state_table"],
        Key={"pk": {"S": f"checkpoint#{a['input']['schedule_id']}"}},
        ConsistentRead=True,
    )
    assert checkpoint["Item"]["day"]["S"] == result["checkpoint"]
    state["facts"] = items


def test_the_sink_writes_each_fact_once_as_the_table_holds_it(platform, state):
    a = state["a"]
    items = state["facts"]
    rows = wait_for(
        "the sink's change records of every fact",
        lambda: (found := change_rows(platform, _pk(a))) and len(found) >= len(items) and found,
        every=2.0,
    )
    assert sorted(row["sk"] for row in rows) == sorted(items), "each fact exactly once"
    prefix = outputs(platform)["collect_changes_prefix"]
    for row in rows:
        match = _OBJECT_KEY.match(row["_key"])
        assert match, row["_key"]
        assert (match["prefix"], match["dataset"]) == (prefix, "synthetic")
        assert match["day"] == row["sk"][:10] == items[row["sk"]]["day"]
        assert row["operation"] == "INSERT" and row["ttl_removal"] is False
        assert row["old_image"] is None
        assert image(row["new_image"]) == items[row["sk"]]
        # An object is named by its first record: no record sorts before it in its object.
        assert row["sequence_number"] >= match["sequence"]
    state["changes"] = {row["_key"] for row in rows}


def _finished_runs(platform: dict, schedule_id: str) -> list[dict]:
    return [
        line
        for line in log_lines(platform, schedule_id)
        if line.get("message") == "collect: run finished" and line.get("trigger") == "api"
    ]


def test_run_now_is_idempotent(platform, state):
    a = state["a"]
    schedule_id = a["input"]["schedule_id"]
    before = len(_finished_runs(platform, schedule_id))
    status, body, _, _ = call(platform, "POST", f"/schedules/{NAME}/run", a["key"])
    assert status == 202, body
    assert body["schedule"] == NAME and body["scheduled_time"].endswith("Z")
    (run, *_) = wait_for(
        "the run-now's collector run",
        lambda: _finished_runs(platform, schedule_id)[before:],
    )
    # The checkpoint already reaches the last complete day: nothing to collect.
    assert (run["windows"], run["facts"]) == (0, 0), run
    assert facts_of(platform, _pk(a)) == state["facts"]

    # Forget the checkpoint and fire again: every fact is rewritten with the same values, which
    # must produce no change record. A sentinel change made afterwards shows the sink has read
    # the stream past the rewrite.
    out = outputs(platform)
    dynamodb = client(platform, "dynamodb")
    dynamodb.delete_item(
        TableName=out["collect_state_table"], Key={"pk": {"S": f"checkpoint#{schedule_id}"}}
    )
    fired = cli(
        platform,
        *("schedules", "fire", scheduler_name(a["subscriber"], NAME)),
        *("--group", out["schedule_group_name"]),
    )
    assert fired.returncode == 0, fired.stdout[-3000:] + fired.stderr[-3000:]
    assert printed_result(fired.stdout)["facts"] == len(state["facts"])
    assert facts_of(platform, _pk(a)) == state["facts"]
    sentinel = min(state["facts"])
    dynamodb.update_item(
        TableName=out["collect_facts_table"],
        Key={"pk": {"S": _pk(a)}, "sk": {"S": sentinel}},
        UpdateExpression="SET clicks = clicks + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )

    def new_rows() -> list[dict]:
        rows = [r for r in change_rows(platform, _pk(a)) if r["_key"] not in state["changes"]]
        return rows if any(r["operation"] == "MODIFY" for r in rows) else []

    rows = wait_for("the sentinel's change record", new_rows, every=2.0)
    (only,) = rows  # the rewrite added nothing; the sentinel is the one new record
    assert (only["operation"], only["sk"]) == ("MODIFY", sentinel)
    assert image(only["old_image"]) == state["facts"][sentinel]
    assert image(only["new_image"]) == {
        **state["facts"][sentinel],
        "clicks": state["facts"][sentinel]["clicks"] + 1,
    }


def test_delete_removes_the_schedule_from_the_scheduler(platform, state):
    a, b = state["a"], state["b"]
    out = outputs(platform)
    status, body, _, _ = call(platform, "DELETE", f"/schedules/{NAME}", a["key"])
    assert status == 204, body
    scheduler = client(platform, "scheduler")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(
            Name=scheduler_name(a["subscriber"], NAME), GroupName=out["schedule_group_name"]
        )
    assert call(platform, "GET", f"/schedules/{NAME}", a["key"])[0] == 404
    assert call(platform, "GET", "/schedules", a["key"])[1]["schedules"] == []
    checkpoint = client(platform, "dynamodb").get_item(
        TableName=out["collect_state_table"],
        Key={"pk": {"S": f"checkpoint#{a['input']['schedule_id']}"}},
        ConsistentRead=True,
    )
    assert "Item" not in checkpoint
    # b's schedule of the same name is still there; b deletes it.
    assert call(platform, "GET", f"/schedules/{NAME}", b["key"])[0] == 200
    assert call(platform, "DELETE", f"/schedules/{NAME}", b["key"])[0] == 204
    assert call(platform, "GET", f"/schedules/{NAME}", b["key"])[0] == 404


# ---- a collector that fails: Lambda's failure record on the queue, an alarm on it ------------


def _failure_records(platform: dict, schedule_id: str, seen: list[dict]) -> list[dict]:
    """Receive from the collector failures queue; keep (and delete) the records of
    ``schedule_id``, leave the others for whoever owns them."""
    sqs = client(platform, "sqs")
    url = outputs(platform)["collect_collector_failures_queue_url"]
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, VisibilityTimeout=5
    )
    for message in got.get("Messages", []):
        record = json.loads(message["Body"])
        if (record.get("requestPayload") or {}).get("schedule_id") == schedule_id:
            seen.append({"body": message["Body"], "record": record})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def test_a_failing_collector_ends_on_the_failures_queue_with_an_alarm(platform, state):
    a = state["a"]
    out = outputs(platform)
    token = f"EAAB-e2e-secret-{uuid.uuid4().hex}"
    status, body, headers, text = call(
        platform,
        "POST",
        "/connections",
        a["key"],
        {"name": "meta-e2e", "source": "meta_insights", "token": token},
    )
    assert status == 201, body
    assert (body["name"], body["source"]) == ("meta-e2e", "meta_insights")
    assert token not in text and token not in json.dumps(headers)
    status, body, _, text = call(platform, "GET", "/connections", a["key"])
    assert status == 200, body
    assert [(c["name"], c["source"]) for c in body["connections"]] == [
        ("meta-e2e", "meta_insights")
    ]
    assert token not in text

    # An account Meta's connector could never fetch is refused at once, with its reason.
    meta_schedule = {
        "name": "meta-fails",
        "source": "meta_insights",
        "account": "not-an-ad-account",
        "expression": "rate(1 day)",
        "connection": "meta-e2e",
        "enabled": False,  # run once, by run-now below, not at its creation too
    }
    status, body, _, _ = call(platform, "POST", "/schedules", a["key"], meta_schedule)
    assert status == 400, body
    assert [(e["path"], e["rule"]) for e in body["errors"]] == [("account", "pattern")], body
    status, body, _, _ = call(
        platform, "POST", "/schedules", a["key"], {**meta_schedule, "account": "act_1234567890"}
    )
    assert status == 201, body
    # The connection is then replaced by one for another source under the same name: the run
    # reads the token, finds it is not a Meta token and fails before any request (offline).
    # A schedule names it, so only a forced delete removes it.
    status, body, _, _ = call(platform, "DELETE", "/connections/meta-e2e", a["key"])
    assert status == 409 and "meta-fails" in body["message"], body
    forced = call(platform, "DELETE", "/connections/meta-e2e?force=true", a["key"])
    assert forced[0] == 204, forced
    status, body, _, _ = call(
        platform,
        "POST",
        "/connections",
        a["key"],
        {"name": "meta-e2e", "source": "synthetic", "token": token},
    )
    assert status == 201, body
    group = out["schedule_group_name"]
    stored = client(platform, "scheduler").get_schedule(
        Name=scheduler_name(a["subscriber"], "meta-fails"), GroupName=group
    )
    job = json.loads(stored["Target"]["Input"])
    assert token not in stored["Target"]["Input"]
    status, body, _, _ = call(platform, "POST", "/schedules/meta-fails/run", a["key"])
    assert status == 202, body

    seen: list[dict] = []
    (failure,) = wait_for(
        "the collector's failure record",
        lambda: _failure_records(platform, job["schedule_id"], seen),
        every=0.0,
    )
    record = failure["record"]
    collector = client(platform, "lambda").get_function_configuration(
        FunctionName=out["collect_collector_function_name"]
    )
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["functionArn"] == f"{collector['FunctionArn']}:$LATEST"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # the first + 2 retries
    payload = record["requestPayload"]
    assert payload == {**job, "scheduled_time": body["scheduled_time"], "trigger": "api"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert "is for source 'synthetic'" in record["responsePayload"]["errorMessage"], record
    assert token not in failure["body"]
    # Nor did the function log it, on any of its three attempts.
    assert token not in (platform["state"] / "local.log").read_text(errors="replace")

    # An alarm watches that queue.
    queue_name = out["collect_collector_failures_queue_url"].rstrip("/").rsplit("/", 1)[1]
    alarms = [
        alarm
        for page in client(platform, "cloudwatch").get_paginator("describe_alarms").paginate()
        for alarm in page["MetricAlarms"]
        if {"Name": "QueueName", "Value": queue_name} in alarm.get("Dimensions", [])
    ]
    assert len(alarms) == 1, alarms
    (alarm,) = alarms
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["ComparisonOperator"] in (
        "GreaterThanThreshold",
        "GreaterThanOrEqualToThreshold",
    )

    assert call(platform, "DELETE", "/schedules/meta-fails", a["key"])[0] == 204
    assert call(platform, "DELETE", "/connections/meta-e2e", a["key"])[0] == 204
    assert call(platform, "GET", "/connections", a["key"])[1] == {"connections": []}
