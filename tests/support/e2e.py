"""Shared by the e2e modules (pytest puts tests/e2e on sys.path): the feed settings of the one
``./setup.sh run`` per session, and helpers to reach the platform it deployed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3

from tests.support.paths import ROOT

FILES = 24
SEED = 11
DAY = "2026-11-20"
EXAMPLE = ROOT / "examples" / "lookup" / "employees.csv"
# Kept below every request the tests make: an unanswered one fails the test, not the session.
HTTP_TIMEOUT = 30


def client(platform: dict, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=platform["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def outputs(platform: dict) -> dict[str, Any]:
    raw = json.loads((platform["state"] / "local" / "outputs.json").read_text())
    return {name: value["value"] for name, value in raw.items()}


def api_base(platform: dict) -> str:
    """The local front's base URL of the environment's API, stage included."""
    apis = json.loads((platform["state"] / "apis.json").read_text())
    api = apis[outputs(platform)["api_name"]]
    (stage,) = api["stages"]
    return f"{api['url']}/{stage}"


def key_value(platform: dict, name: str) -> str:
    key_id = outputs(platform)["api_key_ids"][name]
    return client(platform, "apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]


def usage_plan(platform: dict, name: str, quota: int | None = None) -> dict:
    """A usage plan on the environment's API stage, throttle high enough not to interfere, and
    a daily quota of ``quota`` requests when given."""
    gateway = client(platform, "apigateway")
    api_id = next(
        item["id"]
        for item in gateway.get_rest_apis()["items"]
        if item["name"] == outputs(platform)["api_name"]
    )
    stage = api_base(platform).rsplit("/", 1)[1]
    extra = {"quota": {"limit": quota, "period": "DAY"}} if quota is not None else {}
    return gateway.create_usage_plan(
        name=name,
        apiStages=[{"apiId": api_id, "stage": stage}],
        throttle={"rateLimit": 100.0, "burstLimit": 100},
        **extra,
    )


def subscriber_key(platform: dict, subscriber: str, quota: int | None = None) -> dict[str, str]:
    """A new key of ``subscriber`` (its directory entry written) in a usage plan of its own:
    {"id", "value", "plan"}."""
    from tests.support.tenancy import put_key

    name = f"e2e-{subscriber}-{uuid.uuid4().hex[:8]}"
    plan = usage_plan(platform, name, quota)
    gateway = client(platform, "apigateway")
    key = gateway.create_api_key(name=name, enabled=True)
    put_key(client(platform, "dynamodb"), outputs(platform)["tenancy_table"], key["id"], subscriber)
    gateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"id": key["id"], "value": key["value"], "plan": plan["id"]}


def get(url: str, key: str | None = None, retry_throttle: bool = True) -> tuple[int, Any, dict]:
    """GET ``url``: (status, parsed JSON body, headers). A throttled request (429 "Too Many
    Requests", not the quota's "Limit Exceeded") is retried after a pause when asked."""
    headers = {"x-api-key": key} if key is not None else {}
    for _attempt in range(20):
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                status, body, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, body, got = error.code, error.read(), dict(error.headers)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")  # not JSON: the caller's assertion says so
        message = parsed.get("message") if isinstance(parsed, dict) else None
        throttled = status == 429 and message == "Too Many Requests"
        if not (throttled and retry_throttle):
            return status, parsed, got
        time.sleep(0.5)
    return status, parsed, got


def publish(platform: dict, path: Path, wait: float = 120) -> subprocess.CompletedProcess:
    """``headwater lookup publish`` as a user runs it, against the session's environment."""
    return subprocess.run(
        [sys.executable, "-m", "headwater", "lookup", "publish", str(path),
         "--dataset", "employees", "--outputs", str(platform["state"] / "local" / "outputs.json"),
         "--wait", str(wait)],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=wait + 60,
    )  # fmt: skip


def terraform_plan(platform: dict) -> subprocess.CompletedProcess:
    """``terraform plan -detailed-exitcode`` of the local environment with the variables
    ``./setup.sh deploy`` gives it (exit 0: nothing to change, 2: changes)."""
    env = {**platform["env"], "TF_CLI_CONFIG_FILE": str(platform["state"] / "terraformrc")}
    artifact = ROOT / "build" / "lambda-local.zip"  # every function group locally (setup.sh)
    return subprocess.run(
        ["terraform", "-chdir=terraform/environments/local", "plan", "-input=false",
         "-detailed-exitcode", "-lock=false", f"-var=endpoint={platform['endpoint']}",
         f'-var=artifacts={{api="{artifact}",data="{artifact}",onboard="{artifact}"}}',
         f"-var=api_front_url=http://127.0.0.1:{platform['api_port']}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def read_csv(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """{department: {employee_id: facts}} as the API returns them (typed, empty -> null)."""
    import csv

    partitions: dict[str, dict[str, dict[str, Any]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            facts = {
                name: (None if value == "" else int(value) if name == "salary_band" else value)
                for name, value in row.items()
                if name not in ("department", "employee_id")
            }
            partitions.setdefault(row["department"], {})[row["employee_id"]] = facts
    return partitions
