"""Schemathesis against the local deployment, from the committed OpenAPI document.

A schema-driven client must find the document true: every status the API answers is declared
for its operation, every answer fits its declared schema and content type, and nothing is a 5xx.
Schemathesis sends the document's examples, then inputs of its own (the declared constraints'
boundaries, then random valid and invalid ones), over real HTTP through the local front with a
real key: the internal "ops" key, whose throttle is the higher one (a 429 is declared anyway).

Schemathesis runs as its command (`schemathesis run`): its pytest plugin does not run under this
project's pytest. Its JSON report is what the test reads. The example count is bounded so the run
stays well under a minute.
"""

from __future__ import annotations

import json

import pytest

from tests.support.e2e import EXAMPLE, publish
from tests.support.schemathesis import DOCUMENT, schemathesis

pytestmark = pytest.mark.e2e

LOOKUP_OPERATIONS = (
    "GET /lookups/{dataset}",
    "GET /lookups/{dataset}/{key}",
    "GET /lookups/{dataset}/{key}/{member}",
)


def test_the_api_answers_as_its_openapi_document_says(platform, tmp_path):
    # The document's examples are the demo dataset's: serve it (other tests replace it).
    done = publish(platform, EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr
    run, report = schemathesis(platform, DOCUMENT, tmp_path)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert report["failures"] == [] and report["errors"] == [], output
    assert run.returncode == 0, output
    # Every operation of the document: health, lookup's three, records' two per dataset.
    operations = sum(len(ops) for ops in json.loads(DOCUMENT.read_text())["paths"].values())
    assert report["operations"]["tested"] == report["operations"]["total"] == operations, output
    # A wrong key would pass every check with 403s (declared): each lookup route, and the
    # records POST, must also have been answered for real, its 2xx checked against the schema.
    for operation in (*LOOKUP_OPERATIONS, "POST /records/orders"):
        accepted = sum(phase["accepted"] for phase in report["valid_rates"][operation].values())
        assert accepted > 0, (operation, report["valid_rates"][operation])
    # The request examples are real: each lookup route's examples get a 2xx.
    for operation in LOOKUP_OPERATIONS:
        assert report["valid_rates"][operation]["examples"]["accepted"] > 0, operation


def test_an_undeclared_status_fails_the_run(platform, tmp_path):
    """The run is able to fail: without its 404, the member route's answers are undeclared."""
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    del document["paths"]["/lookups/{dataset}/{key}/{member}"]["get"]["responses"]["404"]
    narrowed = tmp_path / "openapi.json"
    narrowed.write_text(json.dumps(document), encoding="utf-8")
    run, report = schemathesis(
        platform,
        narrowed,
        tmp_path,
        "--include-path",
        "/lookups/{dataset}/{key}/{member}",
    )
    assert run.returncode != 0
    assert {
        (failure["type"], operation)
        for failure in report["failures"]
        for operation in failure["operations"]
    } == {("UndefinedStatusCode", "GET /lookups/{dataset}/{key}/{member}")}, report["failures"]
