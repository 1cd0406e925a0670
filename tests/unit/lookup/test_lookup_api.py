"""The lookup API handler with API Gateway REST v1 proxy events in AWS's shape, on moto."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest

from headwater.handlers import lookup_api, lookup_loader
from headwater.handlers.support import tenancy as request_tenancy
from headwater.tenancy import INTERNAL
from tests.support.lambda_context import LambdaContext
from tests.support.lookup import (
    FIXTURE_SUBSCRIBER,
    FIXTURES,
    TENANCY_TABLE,
    api_event,
    lookup_environment,
)
from tests.support.tenancy import put_key, put_subscriber


@pytest.fixture
def lookup_env(monkeypatch):
    yield from lookup_environment(monkeypatch)


API_KEY = json.loads((FIXTURES / "api_gateway_get.json").read_text())["requestContext"]["identity"][
    "apiKey"
]
PARTITION = "/lookups/{dataset}/{key}"
MEMBER = "/lookups/{dataset}/{key}/{member}"
LIST = "/lookups/{dataset}"


@pytest.fixture
def loaded(lookup_env):
    lookup_api._store.cache_clear()  # the store holds a client of this mock
    result = lookup_loader.handler(
        lookup_env.put_csv((FIXTURES / "employees.csv").read_text()), LambdaContext()
    )
    assert result["status"] == "succeeded"
    yield lookup_env
    lookup_api._store.cache_clear()


def call(event: dict) -> tuple[int, dict]:
    response = lookup_api.handler(event, LambdaContext(function_name="hw-lookup-api"))
    # REST v1 responses carry multiValueHeaders (Powertools) or headers (our 500 fallback).
    headers = response.get("multiValueHeaders") or {
        k: [v] for k, v in response.get("headers", {}).items()
    }
    assert headers["Content-Type"] == ["application/json"]
    return response["statusCode"], json.loads(response["body"])


def test_partition_with_members_and_no_api_key_in_logs(loaded, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "lookup-api")
    call(api_event(None, "/health"))  # creates the service's logger
    stream = io.StringIO()
    # Powertools binds its handler to the stdout of the moment it was created (maybe another
    # test's); point it at a buffer to read exactly what this request logs.
    for log_handler in logging.getLogger("lookup-api").handlers:
        monkeypatch.setattr(log_handler, "stream", stream)
    status, body = call(api_event({"dataset": "employees", "key": "Engineering"}, PARTITION))
    assert status == 200
    assert body["dataset"] == "employees" and body["key"] == "Engineering"
    assert sorted(body["members"]) == ["E001", "E002", "E003"]
    assert body["members"]["E002"]["salary_band"] == 6
    text = stream.getvalue()
    assert '"status":200' in text
    assert "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" in text, "correlation id from requestContext"
    assert "k7q2r9s1t3" in text, "the key's id is logged"
    assert API_KEY not in text, "the key value is never logged"


def test_key_with_space_and_ampersand_is_found(loaded):
    event = api_event({"dataset": "employees", "key": "Research & Development"}, PARTITION)
    assert "%20%26%20" in event["path"]
    status, body = call(event)
    assert status == 200 and list(body["members"]) == ["R001"]


def test_member_route_and_404s(loaded):
    ok = call(api_event({"dataset": "employees", "key": "Sales", "member": "S001"}, MEMBER))
    assert ok[0] == 200 and ok[1]["facts"]["title"] == "Account Executive"
    cases = {
        ("employees", "Sales", "S999"): "unknown member 'S999'",
        ("employees", "Marketing", "S001"): "unknown key 'Marketing'",
        ("staff", "Sales", "S001"): "unknown dataset 'staff'",
    }
    for (dataset, key, member), message in cases.items():
        params = {"dataset": dataset, "key": key, "member": member}
        status, body = call(api_event(params, MEMBER))
        assert status == 404 and message in body["message"], body
    status, body = call(api_event({"dataset": "staff", "key": "Sales"}, PARTITION))
    assert status == 404 and body == {"message": "unknown dataset 'staff'"}


def test_replaced_file_removes_absent_keys_and_updates_the_rest(loaded):
    lookup_loader.handler(
        loaded.put_csv((FIXTURES / "employees_v2.csv").read_text(), "v2.csv"), LambdaContext()
    )
    status, body = call(api_event({"dataset": "employees", "key": "Sales"}, PARTITION))
    assert status == 404 and "unknown key 'Sales'" in body["message"]
    status, body = call(api_event({"dataset": "employees", "key": "Engineering"}, PARTITION))
    assert status == 200 and sorted(body["members"]) == ["E001", "E003"]
    assert body["members"]["E001"]["salary_band"] == 8


def test_malformed_replacement_keeps_the_old_version_serving(loaded):
    result = lookup_loader.handler(
        loaded.put_csv("department,employee_id,name\nOps,O1\n", "broken.csv"), LambdaContext()
    )
    assert result["status"] == "failed"
    status, body = call(api_event({"dataset": "employees", "key": "Sales"}, PARTITION))
    assert status == 200 and sorted(body["members"]) == ["S001", "S002"]


def test_list_keys_pages_through_every_key(loaded):
    seen, cursor = [], None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = call(api_event({"dataset": "employees"}, LIST, query))
        assert status == 200 and len(body["keys"]) <= 2
        seen += body["keys"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Engineering", "Research & Development", "Sales"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "abc"},
        {"limit": "-1"},
        {"limit": "2.5"},
        {"cursor": "not-a-cursor"},
        {"cursor": ""},
    ],
)
def test_bad_list_parameters_are_400(loaded, query):
    status, body = call(api_event({"dataset": "employees"}, LIST, query))
    assert status == 400 and body["message"]


def test_list_unknown_dataset_is_404(loaded):
    status, body = call(api_event({"dataset": "staff"}, LIST))
    assert status == 404 and body == {"message": "unknown dataset 'staff'"}


def test_health_is_api_gateways_and_unknown_routes_are_404(loaded):
    # GET /health is a MOCK integration: API Gateway answers it, the function never sees it.
    event = api_event(None, "/health")
    event["requestContext"]["identity"].update(apiKey=None, apiKeyId=None)
    assert call(event) == (404, {"message": "Not found"})
    status, body = call(api_event(None, "/nothing/here"))
    assert status == 404 and body == {"message": "Not found"}


def _first_page(dataset: str = "employees") -> dict:
    status, body = call(api_event({"dataset": dataset}, LIST, {"limit": "1"}))
    assert status == 200 and body["next_cursor"], body
    return body


def test_a_cursor_of_another_dataset_is_400(loaded):
    cursor = _first_page("employees")["next_cursor"]
    status, body = call(api_event({"dataset": "staff"}, LIST, {"cursor": cursor}))
    assert status == 400 and "another dataset" in body["message"]


def test_a_cursor_without_dataset_and_version_is_400(loaded):
    legacy = base64.urlsafe_b64encode(json.dumps({"after": "Engineering"}).encode()).decode()
    status, body = call(api_event({"dataset": "employees"}, LIST, {"cursor": legacy}))
    assert status == 400 and "cursor is not valid" in body["message"]


def test_a_listing_stays_on_its_version_or_ends_with_410(loaded):
    first = _first_page()
    status, second = call(
        api_event({"dataset": "employees"}, LIST, {"cursor": first["next_cursor"], "limit": "1"})
    )
    assert status == 200 and second["version"] == first["version"]
    assert second["keys"] == ["Research & Development"]
    v2 = (FIXTURES / "employees_v2.csv").read_text()
    result = lookup_loader.handler(loaded.put_csv(v2, "employees-2.csv"), LambdaContext())
    assert result["status"] == "succeeded"
    status, body = call(
        api_event({"dataset": "employees"}, LIST, {"cursor": second["next_cursor"]})
    )
    assert status == 410 and "restart it without a cursor" in body["message"]
    status, body = call(api_event({"dataset": "employees"}, LIST))
    assert status == 200 and body["version"] == result["manifest"]["version"]


# ---- tenancy: what a key's subscriber may read --------------------------------------------------


def _as_key(event: dict, key_id: str) -> dict:
    event["requestContext"]["identity"]["apiKeyId"] = key_id
    return event


def test_a_dataset_the_subscriber_is_not_granted_is_403_on_every_route(loaded):
    # "employees" exists and is loaded; "salaries" does not exist: both are the same 403, so a
    # subscriber cannot probe which datasets exist.
    put_subscriber(loaded.dynamodb, TENANCY_TABLE, FIXTURE_SUBSCRIBER, datasets=("staff",))
    request_tenancy.reset()  # the directory's cache still holds the earlier grants
    for dataset in ("employees", "salaries"):
        for params, resource in (
            ({"dataset": dataset}, LIST),
            ({"dataset": dataset, "key": "Sales"}, PARTITION),
            ({"dataset": dataset, "key": "Sales", "member": "S001"}, MEMBER),
        ):
            status, body = call(api_event(params, resource))
            assert (status, body) == (
                403,
                {"message": f"subscriber 'acme' is not granted dataset {dataset!r}"},
            ), resource
    # A granted dataset that does not exist stays a 404.
    status, body = call(api_event({"dataset": "staff"}, LIST))
    assert (status, body) == (404, {"message": "unknown dataset 'staff'"})


def test_internal_keys_read_every_dataset(loaded):
    put_subscriber(loaded.dynamodb, TENANCY_TABLE, "ops", kind=INTERNAL)
    put_key(loaded.dynamodb, TENANCY_TABLE, "ops-key-id", "ops")
    event = _as_key(api_event({"dataset": "employees", "key": "Sales"}, PARTITION), "ops-key-id")
    status, body = call(event)
    assert status == 200 and "S001" in body["members"]
    event = _as_key(api_event({"dataset": "salaries"}, LIST), "ops-key-id")
    assert call(event) == (404, {"message": "unknown dataset 'salaries'"})


def test_a_key_no_subscriber_owns_is_403_not_served(loaded):
    event = _as_key(api_event({"dataset": "employees", "key": "Sales"}, PARTITION), "stray-key")
    status, body = call(event)
    assert status == 403 and "belongs to no subscriber" in body["message"], body
    assert "Sales" not in json.dumps(body)
