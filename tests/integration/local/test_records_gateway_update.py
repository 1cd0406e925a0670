"""Changing a record dataset's declaration applies cleanly to the local deployment.

Terraform updates an API Gateway model's schema with UpdateModel and a method's request models
or validator with UpdateMethod; moto 5.2.5 implements neither (moto_patches.apigateway does).
The fixture module (tests/fixtures/local/records_gateway) is shaped like modules/records' POST
route; it is applied to the session's emulator, then applied again with the next version of the
orders schema (a field added, one made optional) and another validator. The second apply must
succeed, the emulator must hold the new schema and validator, and a plan after it must be empty.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from headwater.records.declarations import load_record_datasets
from headwater.records.json_schema import model_document
from tests.support import paths
from tests.support.terraform import terraform_binary, terraform_env

pytestmark = pytest.mark.integration

FIXTURE = paths.FIXTURES / "local" / "records_gateway"
TIMEOUT = 300  # without the patch Terraform retries the update until its own timeout


def _changed_orders_schema() -> str:
    """The orders model after a declaration edit: a new optional field, `note` dropped."""
    document = json.loads(model_document(load_record_datasets()["orders"]))
    record, batch = document["oneOf"]
    for schema in (record, batch["items"]):
        schema["properties"]["channel"] = {"type": "string", "maxLength": 16}
        schema["properties"].pop("note")
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy = tmp_path / "records_gateway"
    shutil.copytree(FIXTURE, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return copy


def test_a_changed_schema_and_validator_apply_in_place(emulator, aws, workdir):
    env = terraform_env(paths.ROOT / ".headwater" / "records-gateway-test")
    tf = terraform_binary()

    def terraform(*args: str, **variables: str) -> subprocess.CompletedProcess:
        flags = [f"-var={name}={value}" for name, value in variables.items()]
        if args[0] != "output":
            flags = ["-input=false", *flags]
        result = subprocess.run(
            [tf, *args, "-no-color", *flags],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        assert result.returncode in (0, 2), (
            f"terraform {args[0]}:\n{result.stdout[-3000:]}\n" + (result.stderr[-3000:])
        )
        return result

    name = f"records-gw-{uuid.uuid4().hex[:8]}"
    first = model_document(load_record_datasets()["orders"])
    second = _changed_orders_schema()
    common = {"endpoint": emulator.endpoint_url, "name": name}

    terraform("init")
    terraform("apply", "-auto-approve", **common, schema=first, validate_body="true")
    outputs = json.loads(terraform("output", "-json").stdout)
    api_id = outputs["rest_api_id"]["value"]
    resource_id = outputs["resource_id"]["value"]
    validators = outputs["validators"]["value"]
    gw = aws("apigateway")
    assert json.loads(gw.get_model(restApiId=api_id, modelName="RecordsOrders")["schema"]) == (
        json.loads(first)
    )

    terraform("apply", "-auto-approve", **common, schema=second, validate_body="false")

    model = gw.get_model(restApiId=api_id, modelName="RecordsOrders")
    assert json.loads(model["schema"]) == json.loads(second)
    method = gw.get_method(restApiId=api_id, resourceId=resource_id, httpMethod="POST")
    assert method["requestValidatorId"] == validators["params"]
    assert method["requestModels"] == {"application/json": "RecordsOrders"}
    assert method["apiKeyRequired"] is True

    # Read back as written: no perpetual diff on the next plan (exit code 0, not 2).
    plan = terraform("plan", "-detailed-exitcode", **common, schema=second, validate_body="false")
    assert plan.returncode == 0, f"a plan after the update is not empty:\n{plan.stdout[-3000:]}"

    terraform("destroy", "-auto-approve", **common, schema=second, validate_body="false")
