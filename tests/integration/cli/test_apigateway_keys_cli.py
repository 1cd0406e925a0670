"""``headwater keys list|create|revoke`` against a real moto server (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import uuid

import pytest

from headwater import aws as aws_clients
from headwater import cli

pytestmark = pytest.mark.integration


@pytest.fixture
def keys_cli(emulator, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_clients.reset()
    yield lambda *argv: cli.main(["keys", *argv])
    aws_clients.reset()


@pytest.fixture
def plan(aws) -> tuple[str, str]:
    gw = aws("apigateway")
    api_id = gw.create_rest_api(name=f"keys-{uuid.uuid4().hex[:6]}")["id"]
    name = f"basic-{uuid.uuid4().hex[:6]}"
    plan_id = gw.create_usage_plan(name=name, apiStages=[{"apiId": api_id, "stage": "local"}])["id"]
    return name, plan_id


def row_for(output: str, name: str) -> list[str]:
    rows = [line.split() for line in output.splitlines() if line.split()[:1] == [name]]
    assert len(rows) == 1, output
    return rows[0]


def test_create_list_revoke_round_trip(keys_cli, plan, aws, capsys):
    plan_name, plan_id = plan
    key_name = f"alice-{uuid.uuid4().hex[:6]}"

    assert keys_cli("create", key_name, "--plan", plan_name) == 0
    created = capsys.readouterr()
    value = created.out.strip()
    assert len(value) >= 20 and "\n" not in value  # only the value on stdout
    assert key_name in created.err
    gw = aws("apigateway")
    key = next(k for k in gw.get_api_keys(includeValues=True)["items"] if k["name"] == key_name)
    assert key["value"] == value and key["enabled"]
    assert [k["id"] for k in gw.get_usage_plan_keys(usagePlanId=plan_id)["items"]] == [key["id"]]

    assert keys_cli("list") == 0
    listed = capsys.readouterr().out
    assert row_for(listed, key_name) == [key_name, key["id"], "yes", plan_name]
    assert value not in listed  # never shown without --show-value
    assert keys_cli("list", "--show-value") == 0
    assert row_for(capsys.readouterr().out, key_name)[-1] == value

    assert keys_cli("revoke", key_name) == 0
    assert "disabled" in capsys.readouterr().out
    assert gw.get_api_key(apiKey=key["id"])["enabled"] is False
    assert gw.get_usage_plan_keys(usagePlanId=plan_id)["items"] == []
    assert keys_cli("list") == 0
    assert row_for(capsys.readouterr().out, key_name) == [key_name, key["id"], "no", "-"]

    assert keys_cli("revoke", key["id"], "--delete") == 0
    capsys.readouterr()
    assert key["id"] not in {k["id"] for k in gw.get_api_keys()["items"]}


def test_errors_are_one_line_with_exit_code_1(keys_cli, plan, capsys):
    plan_name, _ = plan
    assert keys_cli("create", "bob", "--plan", "no-such-plan") == 1
    assert "no usage plan named or with id 'no-such-plan'" in capsys.readouterr().err
    assert keys_cli("revoke", "nobody-" + uuid.uuid4().hex) == 1
    assert "no API key named" in capsys.readouterr().err
    name = f"dup-{uuid.uuid4().hex[:6]}"
    assert keys_cli("create", name, "--plan", plan_name) == 0
    capsys.readouterr()
    assert keys_cli("create", name, "--plan", plan_name) == 1
    assert "already exists" in capsys.readouterr().err


def test_unreachable_endpoint_is_a_clear_error(keys_cli, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    aws_clients.reset()
    assert keys_cli("list") == 1
    err = capsys.readouterr().err
    assert err.startswith("headwater: error: listing API keys:")
    assert "Traceback" not in err
