"""Schemathesis over the collect routes of the committed OpenAPI document, on the local
deployment, with a subscriber's key (the routes are per subscriber; an internal key's answers
are not what a customer gets).

Every status answered must be declared for its operation, every answer must fit its schema and
content type, nothing may be a 5xx. Bounded: a few examples per operation and phase, so the
e2e tier stays fast (the lookup test covers the whole document with its own key).
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.e2e import client, outputs, subscriber_key
from tests.support.schemathesis import DOCUMENT, schemathesis
from tests.support.tenancy import put_subscriber

pytestmark = pytest.mark.e2e

COLLECT_PATHS = "^/(schedules|connections)"
EXAMPLES = 15  # per operation and phase


def test_the_collect_routes_answer_as_the_openapi_document_says(platform, tmp_path):
    subscriber = f"e2e-collect-fuzz-{uuid.uuid4().hex[:6]}"
    put_subscriber(client(platform, "dynamodb"), outputs(platform)["tenancy_table"], subscriber)
    key = subscriber_key(platform, subscriber)["value"]
    run, report = schemathesis(
        platform,
        DOCUMENT,
        tmp_path,
        *("--include-path-regex", COLLECT_PATHS),
        key=key,
        examples=EXAMPLES,
    )
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert report["failures"] == [] and report["errors"] == [], output
    assert run.returncode == 0, output
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    operations = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        if path.startswith(("/schedules", "/connections"))
        for method in methods
    }
    assert len(operations) == 10
    assert report["operations"]["tested"] == report["operations"]["selected"] == len(operations)
    # A refused key would pass every check with declared 403s: the creates and lists must have
    # been answered for real, their 2xx checked against the schema.
    for operation in ("POST /schedules", "GET /schedules", "POST /connections", "GET /connections"):
        accepted = sum(phase["accepted"] for phase in report["valid_rates"][operation].values())
        assert accepted > 0, (operation, report["valid_rates"][operation])


def test_an_undeclared_collect_status_fails_the_run(platform, tmp_path):
    """The run is able to fail: without its 404, reading a schedule that is not there (every
    name schemathesis makes up) answers an undeclared status."""
    subscriber = f"e2e-collect-fuzz-{uuid.uuid4().hex[:6]}"
    put_subscriber(client(platform, "dynamodb"), outputs(platform)["tenancy_table"], subscriber)
    key = subscriber_key(platform, subscriber)["value"]
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    del document["paths"]["/schedules/{name}"]["get"]["responses"]["404"]
    narrowed = tmp_path / "openapi.json"
    narrowed.write_text(json.dumps(document), encoding="utf-8")
    run, report = schemathesis(
        platform,
        narrowed,
        tmp_path,
        *("--include-path", "/schedules/{name}", "--include-method", "GET"),
        key=key,
        examples=5,
    )
    assert run.returncode != 0
    assert {
        (failure["type"], operation)
        for failure in report["failures"]
        for operation in failure["operations"]
    } == {("UndefinedStatusCode", "GET /schedules/{name}")}, report["failures"]
