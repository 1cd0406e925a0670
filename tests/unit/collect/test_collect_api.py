"""The collect API handler with API Gateway REST v1 proxy events, on moto's in-process mock:
the Scheduler, Secrets Manager, DynamoDB and the tenancy directory are moto's, not stubs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from headwater import aws
from headwater.collect import schedule_store
from headwater.handlers import collect_api
from tests.support.collect_api import (
    COLLECTOR_ARN,
    GROUP,
    SECRET_PREFIX,
    STATE_TABLE,
    collect_environment,
    request,
)

SCHEDULES, SCHEDULE, RUN = "/schedules", "/schedules/{name}", "/schedules/{name}/run"
CONNECTIONS, CONNECTION = "/connections", "/connections/{name}"
DAILY = {
    "name": "daily",
    "source": "synthetic",
    "account": "act_1",
    "expression": "cron(0 6 * * ? *)",
    "time_zone": "Europe/Berlin",
    "params": {"campaigns": 2},
}
TOKEN = "EAABsecretTOKENvalue0123456789"


def create(body=DAILY, key="k-acme"):
    return request("POST", SCHEDULES, body=body, key=key)


def get(name, key="k-acme"):
    return request("GET", SCHEDULE, {"name": name}, key=key)


def listing(key="k-acme", **query):
    return request("GET", SCHEDULES, key=key, query={k: str(v) for k, v in query.items()})


# ---- create, read, ownership ------------------------------------------------------------------


def test_create_answers_201_location_and_the_schedule_as_the_scheduler_holds_it(collect_env):
    status, body, headers = create()
    assert status == 201, body
    assert headers["Location"] == "schedules/daily"
    assert {k: body[k] for k in DAILY} == DAILY
    assert body["enabled"] is True and body["connection"] is None
    assert body["start"] is None and body["end"] is None
    assert body["created"].endswith("Z") and body["updated"].endswith("Z")
    [name] = collect_env.scheduler_names()
    assert name == schedule_store.schedule_name("acme", "daily")
    raw = collect_env.scheduler.get_schedule(GroupName=GROUP, Name=name)
    assert raw["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert raw["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert raw["FlexibleTimeWindow"] == {"Mode": "OFF"} and raw["State"] == "ENABLED"
    target = raw["Target"]
    assert target["Arn"] == COLLECTOR_ARN
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"]["Arn"].endswith(":hw-scheduler-dlq")
    # The literal context attribute (json.dumps keeps < and >), ids and settings only.
    assert "<aws.scheduler.scheduled-time>" in target["Input"]
    data = json.loads(target["Input"])
    assert set(data) == {
        "subscriber",
        "schedule",
        "schedule_id",
        "source",
        "account",
        "connection",
        "params",
        "scheduled_time",
    }
    assert data["subscriber"] == "acme" and data["schedule"] == "daily"
    assert get("daily") == (200, body, get("daily")[2])


def test_each_subscriber_sees_only_its_own_and_names_are_unique_per_subscriber(collect_env):
    assert create(key="k-acme")[0] == 201
    assert create(key="k-globex")[0] == 201, "the same name for another subscriber"
    assert create({**DAILY, "name": "hourly", "expression": "rate(1 hour)"}, "k-globex")[0] == 201
    assert [s["name"] for s in listing("k-acme")[1]["schedules"]] == ["daily"]
    assert [s["name"] for s in listing("k-globex")[1]["schedules"]] == ["daily", "hourly"]
    other, missing = get("hourly", "k-acme"), get("nothing", "k-acme")
    assert other[0] == missing[0] == 404 and other[1] == missing[1] == {
        "message": "unknown schedule"
    }
    patch = request("PATCH", SCHEDULE, {"name": "hourly"}, {"enabled": False}, key="k-acme")
    assert patch[0] == 404
    assert request("DELETE", SCHEDULE, {"name": "hourly"}, key="k-acme")[0] == 404
    assert request("POST", RUN, {"name": "hourly"}, key="k-acme")[0] == 404
    assert collect_env.invokes == []
    assert get("hourly", "k-globex")[1]["enabled"] is True, "untouched by acme"
    assert len(collect_env.scheduler_names()) == 3


def test_a_rotated_key_of_the_same_subscriber_sees_its_schedules(collect_env):
    assert create(key="k-acme")[0] == 201
    assert get("daily", "k-acme-2")[0] == 200
    assert [s["name"] for s in listing("k-acme-2")[1]["schedules"]] == ["daily"]
    assert request("DELETE", SCHEDULE, {"name": "daily"}, key="k-acme-2")[0] == 204


def test_duplicate_name_is_409_and_changes_nothing(collect_env):
    assert create()[0] == 201
    status, body, _ = create({**DAILY, "expression": "rate(2 hours)"})
    assert status == 409 and "daily" in body["message"]
    assert get("daily")[1]["expression"] == DAILY["expression"]


def test_invalid_body_is_one_400_with_every_error_and_nothing_created(collect_env):
    bad = {
        "name": "Daily!",
        "source": "synthetic",
        "account": "",
        "expression": "cron(* * * * ? *)",
        "time_zone": "Mars/Olympus",
        "params": {"campaigns": 0, "colour": "red"},
        "enabled": "yes",
        "extra": 1,
    }
    status, body, _ = create(bad)
    assert status == 400
    assert sorted((e["path"], e["rule"]) for e in body["errors"]) == [
        ("account", "length"),
        ("enabled", "type"),
        ("expression", "minInterval"),
        ("extra", "additionalProperties"),
        ("name", "pattern"),
        ("params.campaigns", "minimum"),
        ("params.colour", "additionalProperties"),
        ("time_zone", "timezone"),
    ]
    assert collect_env.scheduler_names() == []


@pytest.mark.parametrize("raw", ["{not json", "[1]", "NaN"])
def test_a_body_that_is_not_an_object_is_400(collect_env, raw):
    status, body, _ = request("POST", SCHEDULES, raw_body=raw)
    assert status == 400 and body["message"]
    assert collect_env.scheduler_names() == []


def test_limit_per_subscriber_is_409_and_other_subscribers_are_not_counted(monkeypatch):
    for env in collect_environment(monkeypatch, max_schedules=2):
        assert create({**DAILY, "name": "one"})[0] == 201
        assert create({**DAILY, "name": "two"})[0] == 201
        status, body, _ = create({**DAILY, "name": "three"})
        assert status == 409 and "2 schedules" in body["message"]
        assert create({**DAILY, "name": "three"}, key="k-globex")[0] == 201
        assert request("DELETE", SCHEDULE, {"name": "one"})[0] == 204
        assert create({**DAILY, "name": "three"})[0] == 201
        assert len(env.scheduler_names()) == 3


def test_listing_pages_by_name_with_limit_and_next(collect_env):
    names = [f"s{i:02d}" for i in range(7)]
    for name in reversed(names):
        assert create({**DAILY, "name": name})[0] == 201
    create({**DAILY, "name": "zz"}, key="k-globex")
    seen, token, pages = [], None, 0
    while True:
        query = {"limit": 3} if token is None else {"limit": 3, "next": token}
        status, body, _ = listing(**query)
        assert status == 200
        seen += [s["name"] for s in body["schedules"]]
        pages += 1
        token = body["next"]
        if token is None:
            break
    assert seen == names and pages == 3
    assert listing(limit=0)[0] == 400 and listing(limit=101)[0] == 400
    assert len(listing()[1]["schedules"]) == 7 and listing()[1]["next"] is None


# ---- PATCH --------------------------------------------------------------------------------------


def patch(name, body, key="k-acme"):
    return request("PATCH", SCHEDULE, {"name": name}, body, key=key)


def test_patch_changes_given_fields_keeps_the_schedule_id_and_validates_the_result(collect_env):
    assert create()[0] == 201
    name = schedule_store.schedule_name("acme", "daily")
    before = json.loads(
        collect_env.scheduler.get_schedule(GroupName=GROUP, Name=name)["Target"]["Input"]
    )
    status, body, _ = patch("daily", {"expression": "rate(12 hours)", "enabled": False})
    assert status == 200, body
    assert body["expression"] == "rate(12 hours)" and body["enabled"] is False
    assert body["time_zone"] == "Europe/Berlin" and body["params"] == {"campaigns": 2}
    raw = collect_env.scheduler.get_schedule(GroupName=GROUP, Name=name)
    assert raw["State"] == "DISABLED" and raw["ScheduleExpression"] == "rate(12 hours)"
    # UpdateSchedule replaced the whole definition: the target is complete, the id kept.
    assert raw["Target"]["DeadLetterConfig"]["Arn"].endswith(":hw-scheduler-dlq")
    assert json.loads(raw["Target"]["Input"])["schedule_id"] == before["schedule_id"]
    status, body, _ = patch(
        "daily", {"expression": "rate(5 minutes)", "name": "other", "colour": 1, "params": {"x": 1}}
    )
    assert status == 400
    assert sorted((e["path"], e["rule"]) for e in body["errors"]) == [
        ("colour", "additionalProperties"),
        ("expression", "minInterval"),
        ("name", "readOnly"),
        ("params.x", "additionalProperties"),
    ]
    assert get("daily")[1]["expression"] == "rate(12 hours)", "a refused PATCH changes nothing"
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    end = start + timedelta(days=30)
    iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    status, body, _ = patch("daily", {"start": iso(start), "end": iso(end)})
    assert status == 200 and (body["start"], body["end"]) == (iso(start), iso(end))
    assert patch("daily", {"end": iso(start - timedelta(hours=1))})[1]["errors"][0]["rule"] == (
        "afterStart"
    )
    assert patch("daily", {"start": None, "end": None})[1]["start"] is None


# ---- DELETE, and the failure between the two writes -------------------------------------------


def _checkpoint(env, name):
    raw = env.scheduler.get_schedule(
        GroupName=GROUP, Name=schedule_store.schedule_name("acme", name)
    )
    schedule_id = json.loads(raw["Target"]["Input"])["schedule_id"]
    env.dynamodb.put_item(
        TableName=STATE_TABLE,
        Item={**schedule_store.checkpoint_key(schedule_id), "day": {"S": "2026-12-01"}},
    )
    return schedule_id


def test_delete_removes_the_schedule_and_its_checkpoint(collect_env):
    assert create()[0] == 201
    _checkpoint(collect_env, "daily")
    status, body, _ = request("DELETE", SCHEDULE, {"name": "daily"})
    assert (status, body) == (204, None)
    assert collect_env.scheduler_names() == [] and collect_env.state_items() == []
    assert get("daily")[0] == 404
    assert request("DELETE", SCHEDULE, {"name": "daily"})[0] == 404


def test_checkpoint_delete_failing_after_delete_schedule_leaves_no_ghost(
    collect_env, monkeypatch, caplog
):
    assert create()[0] == 201
    old_id = _checkpoint(collect_env, "daily")
    store = collect_api.store()

    def refuse(**kwargs):
        raise RuntimeError("state table unavailable")

    with monkeypatch.context() as patched, caplog.at_level(logging.WARNING):
        patched.setattr(store._dynamodb, "delete_item", refuse)
        status, _, _ = request("DELETE", SCHEDULE, {"name": "daily"})
    # The schedule (the source of truth) is gone: the API answers the delete, and warns.
    assert status == 204
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "its checkpoint was not" in warning.getMessage()
    assert warning.schedule_id == old_id and "state table unavailable" in warning.error
    assert collect_env.scheduler_names() == [] and get("daily")[0] == 404
    assert listing()[1]["schedules"] == []
    # Re-created under the same name: a new schedule_id, so the leftover is never its checkpoint.
    assert len(collect_env.state_items()) == 1, "the leftover checkpoint is still there"
    assert create()[0] == 201
    raw = collect_env.scheduler.get_schedule(
        GroupName=GROUP, Name=schedule_store.schedule_name("acme", "daily")
    )
    assert json.loads(raw["Target"]["Input"])["schedule_id"] != old_id


@pytest.mark.parametrize(
    ("code", "status"), [("ThrottlingException", 503), ("AccessDeniedException", 500)]
)
def test_a_failed_create_schedule_leaves_nothing_listed(collect_env, monkeypatch, code, status):
    """A throttled Scheduler is a 503 with Retry-After (the client retries); any other AWS
    error a 500 without detail. Either way nothing was created."""
    store = collect_api.store()

    def refuse(**kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": code, "Message": "secret detail"}}, "CreateSchedule")

    with monkeypatch.context() as patched:
        patched.setattr(store._scheduler, "create_schedule", refuse)
        answer, body, headers = create()
    assert answer == status
    assert "secret detail" not in json.dumps(body)
    assert ("Retry-After" in headers) == (status == 503)
    assert listing()[1]["schedules"] == [] and collect_env.scheduler_names() == []
    assert get("daily")[0] == 404


# ---- run now ----------------------------------------------------------------------------------


def test_run_invokes_the_collector_asynchronously_with_the_schedule_input(collect_env):
    assert create()[0] == 201
    before = datetime.now(UTC).replace(microsecond=0)
    status, body, _ = request("POST", RUN, {"name": "daily"})
    assert status == 202 and body["schedule"] == "daily"
    sent = datetime.fromisoformat(body["scheduled_time"].replace("Z", "+00:00"))
    assert before <= sent <= datetime.now(UTC)
    [invoke] = collect_env.invokes
    assert invoke["FunctionName"] == COLLECTOR_ARN and invoke["InvocationType"] == "Event"
    payload = json.loads(invoke["Payload"])
    stored = json.loads(
        collect_env.scheduler.get_schedule(
            GroupName=GROUP, Name=schedule_store.schedule_name("acme", "daily")
        )["Target"]["Input"]
    )
    assert payload == {**stored, "scheduled_time": body["scheduled_time"], "trigger": "api"}
    assert request("POST", RUN, {"name": "nothing"})[0] == 404 and len(collect_env.invokes) == 1


# ---- connections ------------------------------------------------------------------------------


def connect(name="meta", key="k-acme", token=TOKEN, source="synthetic"):
    return request(
        "POST", CONNECTIONS, body={"name": name, "source": source, "token": token}, key=key
    )


def test_connections_are_write_only_and_per_subscriber(collect_env, caplog, capsys):
    # The service's logger at DEBUG, everything else at INFO (botocore's DEBUG lines print
    # request bodies, of any AWS call: a log level no deployment uses).
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="collect"):
        status, body, headers = connect()
        assert status == 201 and headers["Location"] == "connections/meta"
        assert body["name"] == "meta" and body["source"] == "synthetic"
        assert connect()[0] == 409
        assert connect(key="k-globex", token="GLOBEXtoken")[0] == 201, "same name, other subscriber"
        listed = request("GET", CONNECTIONS)
        replaced = request("PUT", CONNECTION, {"name": "meta"}, {"token": TOKEN + "-v2"})
    assert listed[0] == 200 and [c["name"] for c in listed[1]["connections"]] == ["meta"]
    assert replaced[0] == 200 and replaced[1]["name"] == "meta"
    for answer in (body, listed[1], replaced[1]):
        assert TOKEN not in json.dumps(answer) and "token" not in json.dumps(answer)
    # Nothing logged (Powertools writes JSON lines to stdout; the stdlib records too) holds it.
    logged = (
        capsys.readouterr().out
        + caplog.text
        + json.dumps([r.__dict__ for r in caplog.records], default=str)
    )
    assert TOKEN not in logged and "GLOBEXtoken" not in logged
    # The secret: under the subscriber's prefix, the new token, the source kept, the KMS key.
    secret = collect_env.secrets.get_secret_value(SecretId=f"{SECRET_PREFIX}acme/meta")
    assert json.loads(secret["SecretString"]) == {"source": "synthetic", "token": TOKEN + "-v2"}
    described = collect_env.secrets.describe_secret(SecretId=f"{SECRET_PREFIX}acme/meta")
    assert described["KmsKeyId"] == collect_api.settings().kms_key_arn
    assert {"Key": "subscriber", "Value": "acme"} in described["Tags"]
    # Another subscriber's connection is a missing one.
    assert request("PUT", CONNECTION, {"name": "meta"}, {"token": "x"}, key="k-a")[0] == 404
    assert request("DELETE", CONNECTION, {"name": "meta"}, key="k-a")[0] == 404
    assert request("DELETE", CONNECTION, {"name": "meta"})[0] == 204
    assert request("GET", CONNECTIONS)[1]["connections"] == []
    assert [c["name"] for c in request("GET", CONNECTIONS, key="k-globex")[1]["connections"]] == [
        "meta"
    ]
    # Deleted without a recovery window: the name is free again at once.
    assert connect()[0] == 201


def test_a_subscriber_prefix_never_lists_a_longer_subscribers_connections(collect_env):
    assert connect("one", key="k-ab")[0] == 201
    assert connect("two", key="k-a")[0] == 201
    assert [c["name"] for c in request("GET", CONNECTIONS, key="k-a")[1]["connections"]] == ["two"]
    assert [c["name"] for c in request("GET", CONNECTIONS, key="k-ab")[1]["connections"]] == ["one"]


def test_invalid_connection_body_lists_every_error_without_the_token(collect_env):
    status, body, _ = request(
        "POST", CONNECTIONS, body={"name": "Bad Name", "source": "nope", "token": "", "x": 1}
    )
    assert status == 400
    assert sorted((e["path"], e["rule"]) for e in body["errors"]) == [
        ("name", "pattern"),
        ("source", "enum"),
        ("token", "type"),
        ("x", "additionalProperties"),
    ]
    status, body, _ = request("PUT", CONNECTION, {"name": "meta"}, {"token": "a\nb"})
    assert (
        status == 400
        and body["errors"][0]["rule"] == "printable"
        and "a\nb" not in json.dumps(body)
    )
    assert request("GET", CONNECTIONS)[1]["connections"] == []


@pytest.fixture
def tokened_connector(monkeypatch) -> None:
    """A registry with a connector "tokened" that needs a token (the synthetic one needs none)."""
    from headwater.collect.connectors import registry
    from headwater.collect.connectors.synthetic import SyntheticConnector

    class Tokened(SyntheticConnector):
        name = "tokened"
        requires_connection = True

    monkeypatch.setattr(
        registry, "CONNECTORS", MappingProxyType({**registry.CONNECTORS, "tokened": Tokened()})
    )


@pytest.mark.usefixtures("tokened_connector")
def test_a_schedule_may_name_only_its_owners_connection(collect_env):
    assert connect("theirs", key="k-globex", source="tokened")[0] == 201
    assert connect("mine", source="tokened")[0] == 201
    assert connect("synthetic-token", source="synthetic")[0] == 201
    tokened = {**DAILY, "source": "tokened"}
    status, body, _ = create(tokened)
    assert status == 400 and [(e["path"], e["rule"]) for e in body["errors"]] == [
        ("connection", "required")
    ]
    theirs, missing = (
        create({**tokened, "connection": "theirs"}),
        create({**tokened, "connection": "ghost"}),
    )
    assert theirs[0] == missing[0] == 400
    assert [(e["path"], e["rule"]) for e in theirs[1]["errors"]] == [("connection", "exists")]
    assert theirs[1]["errors"][0]["message"] == "unknown connection 'theirs'"
    assert collect_env.scheduler_names() == []
    wrong = create({**tokened, "connection": "synthetic-token"})
    assert wrong[0] == 400 and wrong[1]["errors"][0]["rule"] == "source"
    status, body, _ = create({**tokened, "connection": "mine"})
    assert status == 201 and body["connection"] == "mine"
    assert patch("daily", {"connection": "theirs"})[0] == 400
    assert patch("daily", {"connection": None})[1]["errors"][0]["rule"] == "required"
    assert create({**DAILY, "name": "synth", "connection": "mine"})[1]["errors"][0]["rule"] == (
        "notAllowed"
    )
    stored = collect_env.scheduler.get_schedule(
        GroupName=GROUP, Name=schedule_store.schedule_name("acme", "daily")
    )
    assert json.loads(stored["Target"]["Input"])["connection"] == "mine"
    assert TOKEN not in json.dumps(stored, default=str)


def test_the_name_hash_is_an_index_only_the_input_subscriber_decides(collect_env):
    target = {"Arn": COLLECTOR_ARN, "RoleArn": "arn:aws:iam::123456789012:role/r"}
    # Under acme's prefix but another subscriber's input (a forged or colliding name), and one
    # whose input is not a schedule's at all: neither is acme's.
    for name, raw_input in (("forged", None), ("garbage", "not json")):
        collect_env.scheduler.create_schedule(
            GroupName=GROUP,
            Name=schedule_store.schedule_name("acme", name),
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                **target,
                "Input": raw_input
                or json.dumps(
                    {
                        "subscriber": "globex",
                        "schedule": name,
                        "schedule_id": "x",
                        "source": "synthetic",
                        "account": "a",
                    }
                ),
            },
        )
        assert get(name)[0] == 404
        assert request("DELETE", SCHEDULE, {"name": name})[0] == 404
    assert listing()[1]["schedules"] == []
    assert len(collect_env.scheduler_names()) == 2, "nothing deleted"


@pytest.mark.parametrize("name", ["A B", "x" * 80, "a/b", "../globex/meta", "é"])
def test_a_name_no_schedule_or_connection_can_have_is_a_404(collect_env, name):
    assert connect("meta", key="k-globex")[0] == 201
    # AWS refuses such names with a ValidationException (a 500 here): none may reach it.
    calls = []
    for service in ("scheduler", "secretsmanager"):
        aws.client(service).meta.events.register(
            "before-call", lambda model, **_: calls.append(model.name)
        )
    for method, resource in (
        ("GET", SCHEDULE),
        ("PATCH", SCHEDULE),
        ("DELETE", SCHEDULE),
        ("POST", RUN),
        ("PUT", CONNECTION),
        ("DELETE", CONNECTION),
    ):
        body = {"token": "t"} if method == "PUT" else ({} if method == "PATCH" else None)
        status, answer, _ = request(method, resource, {"name": name}, body)
        assert status == 404, (method, resource, answer)
    assert calls == []


@pytest.mark.usefixtures("tokened_connector")
def test_a_connection_schedules_name_is_deleted_only_with_force(collect_env):
    assert connect("main", source="tokened")[0] == 201
    assert connect("main", key="k-globex", source="tokened")[0] == 201
    tokened = {**DAILY, "source": "tokened", "connection": "main"}
    for name in ("daily", "hourly"):
        assert create({**tokened, "name": name})[0] == 201
    # acme's schedules hold back acme's connection only, not globex's of the same name.
    assert request("DELETE", CONNECTION, {"name": "main"}, key="k-globex")[0] == 204

    status, body, _ = request("DELETE", CONNECTION, {"name": "main"})
    assert status == 409
    assert "schedule(s) daily, hourly" in body["message"] and "force=true" in body["message"]
    assert [c["name"] for c in request("GET", CONNECTIONS)[1]["connections"]] == ["main"]
    # A missing connection stays a 404, not a 409.
    assert request("DELETE", CONNECTION, {"name": "ghost"})[0] == 404

    # Once no schedule names it, it goes; or at once with force.
    assert request("DELETE", "/schedules/{name}", {"name": "hourly"})[0] == 204
    assert request("DELETE", CONNECTION, {"name": "main"})[0] == 409
    status, body, _ = request("DELETE", CONNECTION, {"name": "main"}, query={"force": "maybe"})
    assert status == 400 and body["message"].startswith("force:"), body
    assert request("DELETE", CONNECTION, {"name": "main"}, query={"force": "true"})[0] == 204
    assert request("GET", CONNECTIONS)[1]["connections"] == []
    assert request("DELETE", CONNECTION, {"name": "main"}, query={"force": "true"})[0] == 404
