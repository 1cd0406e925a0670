"""The deployed local platform survives a crash: ``kill -9`` of the local mode, ``local up``, and
Terraform finds nothing to change, a file fed afterwards is processed, keys and usage plans still
open the API at the same URL, and a quota used up before the crash stays used up.

It runs last in the session (conftest.py orders it), and leaves the platform running for the
session's ``./setup.sh destroy``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import PurePosixPath

import pytest

from tests.support.e2e import (
    EXAMPLE,
    ROOT,
    api_base,
    client,
    get,
    key_value,
    outputs,
    publish,
    terraform_plan,
)
from tests.support.tenancy import put_key

pytestmark = pytest.mark.e2e


def _manifest(platform):
    (path,) = sorted((platform["state"] / "local").glob("manifest-*.json"))
    return json.loads(path.read_text())


def test_the_platform_survives_kill_9_and_up(platform):
    state = platform["state"]
    apis_before = json.loads((state / "apis.json").read_text())
    pid = int((state / "local.pid").read_text())

    # A subscriber that used its whole quota before the crash stays over it after.
    gateway = client(platform, "apigateway")
    api_id = next(
        item["id"]
        for item in gateway.get_rest_apis()["items"]
        if item["name"] == outputs(platform)["api_name"]
    )
    quota_plan = gateway.create_usage_plan(
        name="e2e-crash-quota",
        apiStages=[{"apiId": api_id, "stage": api_base(platform).rsplit("/", 1)[1]}],
        quota={"limit": 2, "period": "DAY"},
    )
    key = gateway.create_api_key(name="e2e-crash-quota", enabled=True)
    gateway.create_usage_plan_key(usagePlanId=quota_plan["id"], keyId=key["id"], keyType="API_KEY")
    # A key of the demo subscriber (granted employees), as `headwater keys create` registers it.
    directory = outputs(platform)["tenancy_table"]
    put_key(client(platform, "dynamodb"), directory, key["id"], "demo", by="e2e")
    url = f"{api_base(platform)}/lookups/employees"
    assert [get(url, key["value"])[0] for _ in range(2)] == [200, 200]
    time.sleep(2)  # the front saves quota counts about once a second

    os.kill(pid, signal.SIGKILL)
    # At once, as a user would, with the port from HEADWATER_LOCAL_PORT (no --port).
    up = subprocess.run(
        [str(ROOT / "setup.sh"), "cli", "local", "up"],
        cwd=ROOT, env=platform["env"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"http://127.0.0.1:{platform['port']}" in up.stdout
    assert int((state / "local.pid").read_text()) != pid

    # Every identifier in the Terraform state exists again: the plan is empty.
    plan = terraform_plan(platform)
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr[-2000:]

    # The API is served at the same URL; a subscriber key still opens it after a new load.
    deadline = time.monotonic() + 30
    apis = {}
    while time.monotonic() < deadline:
        apis = json.loads((state / "apis.json").read_text())
        if apis.get(outputs(platform)["api_name"], {}).get("stages"):
            break
        time.sleep(0.5)
    assert apis == apis_before
    done = publish(platform, EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr
    status, body, _ = get(url, key_value(platform, "demo"))
    assert status == 200, body
    assert get(url, key["value"])[:2] == (429, {"message": "Limit Exceeded"})
    gateway = client(platform, "apigateway")
    gateway.delete_usage_plan_key(usagePlanId=quota_plan["id"], keyId=key["id"])
    gateway.delete_api_key(apiKey=key["id"])
    client(platform, "dynamodb").delete_item(
        TableName=directory, Key={"pk": {"S": f"key#{key['id']}"}}
    )
    gateway.delete_usage_plan(usagePlanId=quota_plan["id"])

    # A file fed after the crash goes through the whole ingest pipeline.
    s3, names = client(platform, "s3"), outputs(platform)
    entry = next(f for f in _manifest(platform)["files"] if f["outcome"] == "curated")
    source = PurePosixPath(entry["key"])
    new_key = str(source.with_name(f"after-crash{source.suffix}"))
    body = s3.get_object(Bucket=names["raw_bucket"], Key=entry["key"])["Body"].read()
    version = s3.put_object(Bucket=names["raw_bucket"], Key=new_key, Body=body)["VersionId"]
    expected = f"after-crash-{version}.parquet"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket=names["curated_bucket"]).get("Contents", [])
        if any(PurePosixPath(o["Key"]).name == expected for o in listed):
            break
        time.sleep(1)
    else:
        pytest.fail(f"{new_key} fed after the crash was not curated within 180 s")
