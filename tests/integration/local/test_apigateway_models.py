"""The local API front enforces request models as API Gateway's body validators do.

A REST API is built in the emulator as the records module builds it: a POST method per dataset
whose request model is the dataset's JSON Schema (from the real declaration) and whose validator
checks body and parameters. A body the model refuses gets API Gateway's BAD_REQUEST_BODY answer
and never reaches the function; an updated model is enforced once the front refreshes.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from headwater.local.apigateway.front import ApiFront
from headwater.local.lambda_service.runner import Runner
from headwater.records.declarations import load_record_datasets
from headwater.records.json_schema import model_document
from tests.support import paths
from tests.support.emulator import code_zip, free_port, lambda_proxy_uri, lambda_role

pytestmark = pytest.mark.integration

FIXTURES = paths.FIXTURES / "local"
REGION = "us-east-1"
STAGE = "local"
ORDER = {
    "order_id": "o-1",
    "customer_id": "c-1",
    "amount": 12.5,
    "currency": "EUR",
    "placed_at": "2026-11-30T10:00:00Z",
}


def call(url: str, body: bytes, headers: dict):
    # http.client, not urllib: urllib adds a form Content-Type to any request with a body.
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=20)
    try:
        connection.request("POST", parsed.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def deployed(aws):
    suffix = f"{time.time_ns() % 10**8:08d}"
    gw = aws("apigateway")
    function = aws("lambda").create_function(
        FunctionName=f"models-echo-{suffix}",
        Runtime="python3.12",
        Role=lambda_role(aws("iam"), f"models-{suffix}"),
        Handler="hw_apigw_fixtures.handlers.echo",
        Timeout=5,
        Code={"ZipFile": code_zip()},
    )["FunctionArn"]
    name = f"models-{suffix}"
    api_id = gw.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    body_validator = gw.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True, validateRequestParameters=True
    )["id"]
    params_validator = gw.create_request_validator(
        restApiId=api_id, name="params", validateRequestParameters=True
    )["id"]
    orders = load_record_datasets()["orders"]
    gw.create_model(
        restApiId=api_id,
        name="RecordsOrders",
        contentType="application/json",
        schema=model_document(orders),
    )
    records = gw.create_resource(restApiId=api_id, parentId=root, pathPart="records")["id"]
    ids = {}
    for part, validator in (("orders", body_validator), ("unchecked", params_validator)):
        ids[part] = gw.create_resource(restApiId=api_id, parentId=records, pathPart=part)["id"]
        gw.put_method(
            restApiId=api_id,
            resourceId=ids[part],
            httpMethod="POST",
            authorizationType="NONE",
            requestModels={"application/json": "RecordsOrders"},
            requestValidatorId=validator,
        )
        gw.put_integration(
            restApiId=api_id,
            resourceId=ids[part],
            httpMethod="POST",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_proxy_uri(function),
        )
    gw.create_deployment(restApiId=api_id, stageName=STAGE)
    return {"api_id": api_id, "name": name}


@pytest.fixture(scope="module")
def base(emulator, deployed, tmp_path_factory) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES))
        runner = Runner(emulator.endpoint_url, REGION, refresh_interval=0.5)
        runner.start()
        front = ApiFront(
            emulator.endpoint_url,
            runner,
            REGION,
            base_port=free_port(),
            state_dir=tmp_path_factory.mktemp("state"),
            refresh_interval=0.5,
        )
        front.start()
        try:
            yield f"{front.urls()[deployed['name']]['url']}/{STAGE}"
        finally:
            front.stop()
            runner.stop()


def post(base: str, path: str, body: bytes, content_type: str | None = "application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return call(f"{base}{path}", body, headers)


def invalid(response) -> bool:
    status, headers, body = response
    return (
        status == 400
        and json.loads(body) == {"message": "Invalid request body"}
        and headers.get("x-amzn-ErrorType") == "BadRequestException"
        and "X-Handler" not in headers  # the function never ran
    )


def test_a_body_the_model_accepts_reaches_the_function(base):
    for body in (ORDER, [ORDER, {**ORDER, "order_id": "o-2"}]):
        status, headers, answer = post(base, "/records/orders", json.dumps(body).encode())
        assert status == 200 and headers["X-Handler"] == "echo"
        assert json.loads(json.loads(answer)["body"]) == body


@pytest.mark.parametrize(
    "body",
    [
        {**ORDER, "unknown": 1},  # additionalProperties: false
        {k: v for k, v in ORDER.items() if k != "currency"},  # required
        {**ORDER, "currency": "JPY"},  # enum
        {**ORDER, "amount": "12"},  # type
        [],  # minItems 1
        [ORDER] * 101,  # maxItems 100
        "not an object",
    ],
    ids=["unknown-field", "missing", "enum", "type", "empty-batch", "batch-too-big", "string"],
)
def test_a_body_the_model_refuses_is_the_gateways_400(base, body):
    assert invalid(post(base, "/records/orders", json.dumps(body).encode()))


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b""], ids=["syntax", "bytes", "empty"])
def test_a_body_that_is_not_json_is_invalid(base, raw):
    assert invalid(post(base, "/records/orders", raw))


def test_without_content_type_the_json_model_applies(base):
    assert invalid(post(base, "/records/orders", b'{"x": 1}', content_type=None))
    charset = post(base, "/records/orders", b'{"x": 1}', "application/json; charset=utf-8")
    assert invalid(charset)


def test_a_content_type_without_a_model_is_not_validated(base):
    # "If no matching content type is found, request validation is not performed."
    status, headers, _ = post(base, "/records/orders", b"plain text", content_type="text/plain")
    assert status == 200 and headers["X-Handler"] == "echo"


def test_a_validator_that_skips_bodies_leaves_them_to_the_function(base):
    status, headers, _ = post(base, "/records/unchecked", b'{"unknown": true}')
    assert status == 200 and headers["X-Handler"] == "echo"


def test_an_updated_model_is_enforced_after_the_next_refresh(aws, base, deployed):
    relaxed = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}
    gw = aws("apigateway")
    gw.update_model(
        restApiId=deployed["api_id"],
        modelName="RecordsOrders",
        patchOperations=[{"op": "replace", "path": "/schema", "value": json.dumps(relaxed)}],
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status, _, _ = post(base, "/records/orders", b'{"unknown": 1}')
            if status == 200:
                break
            time.sleep(0.25)
        assert status == 200, "the front kept enforcing the old model"
    finally:
        orders = load_record_datasets()["orders"]
        gw.update_model(
            restApiId=deployed["api_id"],
            modelName="RecordsOrders",
            patchOperations=[{"op": "replace", "path": "/schema", "value": model_document(orders)}],
        )
