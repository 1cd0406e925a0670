"""The REST API's OpenAPI document is generated from the routes, merged across capabilities, and
docs/openapi.json is current."""

from __future__ import annotations

import argparse
import json

import pytest

from headwater.cli import openapi as openapi_cli
from headwater.cli.openapi import render
from headwater.handlers import lookup_api, openapi
from headwater.handlers.support import tenancy as request_tenancy
from headwater.tenancy import Caller
from tests.support.lambda_context import LambdaContext
from tests.support.lookup import api_event
from tests.support.paths import ROOT

COMMITTED = ROOT / "docs" / "openapi.json"
LOOKUP_PATHS = [
    "/lookups/{dataset}",
    "/lookups/{dataset}/{key}",
    "/lookups/{dataset}/{key}/{member}",
]


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.document()


def test_document_lists_the_platform_route_and_every_capability_route(document):
    assert sorted(document["paths"]) == ["/health", *LOOKUP_PATHS]
    assert all(list(ops) == ["get"] for ops in document["paths"].values())


@pytest.mark.parametrize("path", LOOKUP_PATHS)
def test_every_documented_lookup_route_reaches_the_function(path, monkeypatch):
    # A documented route the resolver does not have would answer the catch-all 404 "Not found".
    class Empty:  # a store without datasets: the route's own 404
        def current_version(self, _dataset):
            return None

        def get_partition(self, _dataset, _key):
            return None

        def list_page(self, _dataset, **_kwargs):
            return None

    monkeypatch.setattr(lookup_api, "store", Empty)
    # Routing only: an internal caller, so no directory is needed (tenancy has its own tests).
    internal = Caller(subscriber="ops", internal=True, grants=frozenset(), key_id="k")
    monkeypatch.setattr(request_tenancy, "caller", lambda _event: internal)
    names = [n.strip("{}") for n in path.split("/") if n.startswith("{")]
    response = lookup_api.handler(
        api_event(dict.fromkeys(names, "x"), path), LambdaContext(function_name="hw-lookup-api")
    )
    assert json.loads(response["body"]) == {"message": "unknown dataset 'x'"}, path


def test_every_route_but_health_requires_the_api_key(document):
    scheme = document["components"]["securitySchemes"]["api_key"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    for path, ops in document["paths"].items():
        for operation in ops.values():
            expected = [] if path == "/health" else [{"api_key": []}]
            assert operation["security"] == expected, path


def test_errors_are_documented_as_json_messages_and_never_422(document):
    error = {"$ref": "#/components/schemas/Error"}
    assert document["components"]["schemas"]["Error"]["required"] == ["message"]
    for path in LOOKUP_PATHS:
        responses = document["paths"][path]["get"]["responses"]
        for code in ("400", "403", "404", "429"):
            assert responses[code]["content"]["application/json"]["schema"] == error, (path, code)
        assert "422" not in responses
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_limit_constraints_come_from_the_typed_route(document):
    params = {p["name"]: p for p in document["paths"]["/lookups/{dataset}"]["get"]["parameters"]}
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == lookup_api.MAX_LIMIT
    assert params["dataset"]["in"] == "path" and params["dataset"]["required"] is True


def test_committed_document_is_up_to_date():
    assert COMMITTED.read_text(encoding="utf-8") == render(), "run `headwater openapi`"


def test_openapi_command_writes_the_document(tmp_path, capsys, document):
    out = tmp_path / "nested" / "api.json"
    parser = argparse.ArgumentParser()
    openapi_cli.register(parser.add_subparsers())
    args = parser.parse_args(["openapi", "--out", str(out)])
    assert args.func(args) == 0
    assert json.loads(out.read_text())["paths"].keys() == document["paths"].keys()
    args = parser.parse_args(["openapi", "--out", "-"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}\n")
    assert json.loads(printed.split("\n", 1)[1]) == json.loads(render())
