"""``headwater keys list|create|rotate|revoke`` against a real moto server (AWS_ENDPOINT_URL),
with the tenancy directory table as modules/platform creates it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from headwater import aws as aws_clients
from headwater import cli, tenancy
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

pytestmark = pytest.mark.integration


@pytest.fixture
def directory(aws) -> str:
    table = f"tenancy-{uuid.uuid4().hex[:6]}"
    create_tenancy_table(aws("dynamodb"), table)
    return table


@pytest.fixture
def keys_cli(emulator, monkeypatch, directory):
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_clients.reset()
    yield lambda *argv: cli.main(["keys", *argv, "--table", directory])
    aws_clients.reset()


@pytest.fixture
def plan(aws, directory) -> tuple[str, str, str]:
    """A usage plan and its subscriber (granted employees), as modules/api_stage makes them."""
    gw = aws("apigateway")
    api_id = gw.create_rest_api(name=f"keys-{uuid.uuid4().hex[:6]}")["id"]
    name = f"basic-{uuid.uuid4().hex[:6]}"
    plan_id = gw.create_usage_plan(name=name, apiStages=[{"apiId": api_id, "stage": "local"}])["id"]
    subscriber = f"acme-{uuid.uuid4().hex[:6]}"
    put_subscriber(
        aws("dynamodb"), directory, subscriber, datasets=("employees",), usage_plan_id=plan_id
    )
    return name, plan_id, subscriber


def owner(aws, directory: str, key_id: str) -> str | None:
    item = aws("dynamodb").get_item(
        TableName=directory, Key={"pk": {"S": tenancy.KEY_PREFIX + key_id}}
    )
    return tenancy.subscriber_of(item.get("Item"))


def row_for(output: str, name: str) -> list[str]:
    rows = [line.split() for line in output.splitlines() if line.split()[:1] == [name]]
    assert len(rows) == 1, output
    return rows[0]


def test_create_list_revoke_round_trip(keys_cli, plan, aws, directory, capsys):
    plan_name, plan_id, subscriber = plan
    key_name = f"alice-{uuid.uuid4().hex[:6]}"

    # No --plan: the subscriber's own plan, from the directory.
    assert keys_cli("create", key_name, "--subscriber", subscriber) == 0
    created = capsys.readouterr()
    value = created.out.strip()
    assert len(value) >= 20 and "\n" not in value  # only the value on stdout
    assert key_name in created.err and f"subscriber {subscriber}" in created.err
    assert "reads employees" in created.err
    gw = aws("apigateway")
    key = next(k for k in gw.get_api_keys(includeValues=True)["items"] if k["name"] == key_name)
    assert key["value"] == value and key["enabled"]
    assert [k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plan_id)["items"]] == [key["id"]]
    assert owner(aws, directory, key["id"]) == subscriber

    assert keys_cli("list") == 0
    listed = capsys.readouterr().out
    assert listed.splitlines()[0].split() == [
        *("NAME", "ID", "ENABLED", "SUBSCRIBER", "PLANS", "EXPIRES")
    ]
    assert row_for(listed, key_name) == [key_name, key["id"], "yes", subscriber, plan_name, "-"]
    assert value not in listed  # never shown without --show-value
    assert keys_cli("list", "--show-value") == 0
    assert row_for(capsys.readouterr().out, key_name)[-1] == value

    assert keys_cli("revoke", key_name) == 0
    assert "disabled" in capsys.readouterr().out
    assert gw.get_api_key(apiKey=key["id"])["enabled"] is False
    assert gw.get_usage_plan_keys(usagePlanId=plan_id)["items"] == []
    assert owner(aws, directory, key["id"]) is None, "a revoked key belongs to no one"
    assert keys_cli("list") == 0
    assert row_for(capsys.readouterr().out, key_name) == [
        *(key_name, key["id"], "no", "-", "-", "-")
    ]

    assert keys_cli("revoke", key["id"], "--delete") == 0
    capsys.readouterr()
    assert key["id"] not in {k["id"] for k in gw.get_api_keys()["items"]}


def test_rotate_keeps_the_subscriber_and_plans_and_retires_the_old_key(
    keys_cli, plan, aws, directory, capsys
):
    _, plan_id, subscriber = plan
    name = f"bob-{uuid.uuid4().hex[:6]}"
    assert keys_cli("create", name, "--subscriber", subscriber) == 0
    old_value = capsys.readouterr().out.strip()
    gw = aws("apigateway")
    old = next(k for k in gw.get_api_keys()["items"] if k["name"] == name)

    assert keys_cli("rotate", name) == 0
    rotated = capsys.readouterr()
    new_value = rotated.out.strip()
    assert new_value and new_value != old_value and "\n" not in new_value
    keys = {k["id"]: k for k in gw.get_api_keys(includeValues=True)["items"]}
    (new,) = [k for k in keys.values() if k["name"] == name]
    assert new["id"] != old["id"] and new["value"] == new_value and new["enabled"]
    assert owner(aws, directory, new["id"]) == subscriber, "the new key keeps the subscriber"
    assert [k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plan_id)["items"]] == [new["id"]]
    retired = keys[old["id"]]
    assert retired["enabled"] is False and retired["name"].startswith(f"{name}-rotated-")
    assert owner(aws, directory, old["id"]) is None
    assert f"subscriber {subscriber}" in rotated.err and retired["name"] in rotated.err

    # The name stays the subscriber's handle: it rotates again.
    assert keys_cli("rotate", name) == 0
    capsys.readouterr()
    assert owner(aws, directory, next(
        k["id"] for k in gw.get_api_keys()["items"] if k["name"] == name
    )) == subscriber  # fmt: skip


def test_rotate_with_grace_keeps_the_old_key_until_it_expires_then_prune_retires_it(
    keys_cli, plan, aws, directory, capsys
):
    plan_name, plan_id, subscriber = plan
    name = f"carol-{uuid.uuid4().hex[:6]}"
    assert keys_cli("create", name, "--subscriber", subscriber) == 0
    capsys.readouterr()
    gw, ddb = aws("apigateway"), aws("dynamodb")
    old = next(k for k in gw.get_api_keys()["items"] if k["name"] == name)

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert keys_cli("rotate", name, "--grace", "24h") == 0
    rotated = capsys.readouterr()
    keys = {k["id"]: k for k in gw.get_api_keys()["items"]}
    (new,) = [k for k in keys.values() if k["name"] == name]
    # Both keys work meanwhile: same plan, same subscriber, the old one enabled and dated.
    in_plan = {k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plan_id)["items"]}
    assert in_plan == {old["id"], new["id"]}
    assert keys[old["id"]]["enabled"] and keys[old["id"]]["name"].startswith(f"{name}-rotated-")
    entry = ddb.get_item(TableName=directory, Key={"pk": {"S": tenancy.KEY_PREFIX + old["id"]}})
    expires = tenancy.expiry_of(entry["Item"])
    assert before + dt.timedelta(hours=24) <= expires <= before + dt.timedelta(hours=24, minutes=1)
    assert tenancy.subscriber_of(entry["Item"]) == subscriber
    assert f"keeps working until {tenancy.format_instant(expires)}" in rotated.err
    assert keys_cli("list") == 0
    listed = capsys.readouterr().out
    assert row_for(listed, keys[old["id"]]["name"])[-1] == tenancy.format_instant(expires)
    assert row_for(listed, name)[-1] == "-"

    # Before the expiry prune leaves it alone; after it, prune detaches and disables it.
    assert keys_cli("prune") == 0
    assert "no rotated key has expired" in capsys.readouterr().out
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    put_key(ddb, directory, old["id"], subscriber, by="headwater-cli", expires=past)
    assert keys_cli("prune") == 0
    pruned = capsys.readouterr().out
    assert f"pruned API key {keys[old['id']]['name']} ({old['id']})" in pruned
    assert f"detached from {plan_name}" in pruned
    assert gw.get_api_key(apiKey=old["id"])["enabled"] is False
    assert [k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plan_id)["items"]] == [new["id"]]
    assert owner(aws, directory, old["id"]) is None
    assert owner(aws, directory, new["id"]) == subscriber


@pytest.mark.parametrize("grace", ["forever", "24", "-1h", "31d", "1w"])
def test_a_grace_that_is_not_a_bounded_duration_is_a_usage_error(keys_cli, grace, capsys):
    with pytest.raises(SystemExit) as exited:
        keys_cli("rotate", "anything", "--grace", grace)
    assert exited.value.code == 2
    assert "--grace" in capsys.readouterr().err


def test_rotate_refuses_keys_terraform_owns_or_no_one_owns(keys_cli, plan, aws, directory, capsys):
    _, plan_id, subscriber = plan
    gw = aws("apigateway")
    made = gw.create_api_key(name=f"tf-{uuid.uuid4().hex[:6]}", enabled=True)
    gw.create_usage_plan_key(usagePlanId=plan_id, keyId=made["id"], keyType="API_KEY")
    put_key(aws("dynamodb"), directory, made["id"], subscriber, by="terraform")
    assert keys_cli("rotate", made["id"]) == 1
    err = capsys.readouterr().err
    assert "managed by Terraform" in err and "-replace=" in err
    assert f"keys create NAME --subscriber {subscriber}" in err  # the way to a grace
    assert f'aws_api_gateway_api_key.this["{subscriber}"]' in err
    assert gw.get_api_key(apiKey=made["id"])["enabled"] is True, "nothing changed"

    stray = gw.create_api_key(name=f"stray-{uuid.uuid4().hex[:6]}", enabled=True)
    assert keys_cli("rotate", stray["id"]) == 1
    assert "belongs to no subscriber" in capsys.readouterr().err


def test_errors_are_one_line_with_exit_code_1(keys_cli, plan, capsys):
    plan_name, _, subscriber = plan
    assert keys_cli("create", "bob", "--subscriber", "nobody") == 1
    err = capsys.readouterr().err
    assert "no subscriber 'nobody' in the tenancy directory" in err and subscriber in err
    assert keys_cli("create", "bob", "--subscriber", subscriber, "--plan", "no-such-plan") == 1
    assert "no usage plan named or with id 'no-such-plan'" in capsys.readouterr().err
    assert keys_cli("revoke", "nobody-" + uuid.uuid4().hex) == 1
    assert "no API key named" in capsys.readouterr().err
    name = f"dup-{uuid.uuid4().hex[:6]}"
    assert keys_cli("create", name, "--subscriber", subscriber, "--plan", plan_name) == 0
    capsys.readouterr()
    assert keys_cli("create", name, "--subscriber", subscriber) == 1
    assert "already exists" in capsys.readouterr().err


def test_create_without_a_subscriber_is_a_usage_error(keys_cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        keys_cli("create", "carol")
    assert exit_.value.code == 2
    assert "--subscriber" in capsys.readouterr().err


def test_unreachable_endpoint_is_a_clear_error(keys_cli, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    aws_clients.reset()
    assert keys_cli("list") == 1
    err = capsys.readouterr().err
    assert err.startswith("headwater: error: listing API keys:")
    assert "Traceback" not in err
