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


RECORDS_PATHS = ["/records/orders", "/records/orders/{id}"]  # tests/unit/records: the rest
# tests/unit/collect/test_collect_openapi.py: the rest
COLLECT_PATHS = [
    "/connections",
    "/connections/{name}",
    "/schedules",
    "/schedules/{name}",
    "/schedules/{name}/run",
]


def test_document_lists_the_platform_route_and_every_capability_route(document):
    assert sorted(document["paths"]) == sorted(
        ["/health", *LOOKUP_PATHS, *RECORDS_PATHS, *COLLECT_PATHS]
    )
    assert all(list(document["paths"][p]) == ["get"] for p in ["/health", *LOOKUP_PATHS])


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


# ---- examples ----------------------------------------------------------------------------


def all_examples(document: dict):
    """(where, schema, value) of every example: parameters and response bodies."""
    for path, verb, operation in (
        (path, verb, op) for path, ops in document["paths"].items() for verb, op in ops.items()
    ):
        for parameter in operation.get("parameters", []):
            for name, example in parameter.get("examples", {}).items():
                yield f"{path} {parameter['name']} {name}", parameter["schema"], example["value"]
        for code, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    yield f"{verb} {path} {code} {name}", media["schema"], example["value"]


def test_every_route_has_examples_and_they_fit_their_schemas(document):
    import jsonschema_rs

    places = list(all_examples(document))
    for path, ops in document["paths"].items():
        for verb, operation in ops.items():
            for code, response in operation["responses"].items():
                if code == "204":  # No Content: nothing to exemplify, and nothing declared
                    assert "content" not in response, (path, verb)
                    continue
                assert any(p.startswith(f"{verb} {path} {code} ") for p, _, _ in places), (
                    path,
                    code,
                )
            for parameter in operation.get("parameters", []):
                # The cursor has none: no fixed value is a valid next page (it names a version).
                assert parameter.get("examples") or parameter["name"] == "cursor", parameter
    for where, schema, value in places:
        # Refs point into the document's components: validate within it.
        validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
        assert validator.is_valid(value), (where, value)


@pytest.fixture
def demo(monkeypatch):
    """The demo dataset published as ./setup.sh run publishes it: examples/lookup/employees.csv."""
    from headwater.handlers import lookup_loader
    from tests.support.lookup import lookup_environment

    environment = lookup_environment(monkeypatch)
    env = next(environment)
    lookup_api._store.cache_clear()  # the store holds a client of this mock
    csv = (ROOT / "examples" / "lookup" / "employees.csv").read_bytes()
    assert lookup_loader.handler(env.put_csv(csv), LambdaContext())["status"] == "succeeded"
    yield lookup_api.store().current_version("employees")
    lookup_api._store.cache_clear()
    environment.close()


def answer(resource: str, path: dict[str, str], query: dict[str, str] | None = None):
    response = lookup_api.handler(
        api_event(path, resource, query), LambdaContext(function_name="hw-lookup-api")
    )
    return response["statusCode"], json.loads(response["body"])


def test_examples_are_what_the_api_answers_on_the_demo_dataset(demo):
    from headwater.handlers import lookup_api_examples as ex
    from headwater.lookup.store import encode_cursor

    live = demo  # the examples' version stands for the live one, and so does its cursor
    dataset = {"dataset": ex.DATASET}
    assert answer("/lookups/{dataset}", dataset, {"limit": str(ex.LIMIT)}) == (
        200,
        {**ex.KEY_PAGE, "version": live, "next_cursor": encode_cursor(ex.DATASET, live, ex.KEY)},
    )
    last = {"limit": "3", "cursor": encode_cursor(ex.DATASET, live, "People")}
    assert answer("/lookups/{dataset}", dataset, last) == (
        200,
        {**ex.LAST_KEY_PAGE, "version": live},
    )
    partition = {**dataset, "key": ex.KEY}
    assert answer("/lookups/{dataset}/{key}", partition) == (
        200,
        {**ex.PARTITION, "version": live},
    )
    member = {**partition, "member": ex.MEMBER}
    assert answer("/lookups/{dataset}/{key}/{member}", member) == (
        200,
        {**ex.MEMBER_FACTS, "version": live},
    )
    # The other example key is served too (the example says to percent-encode it).
    key = ex.PARAMETERS["key"]["encoded"].value
    assert answer("/lookups/{dataset}/{key}", {**dataset, "key": key})[0] == 200
    assert answer("/lookups/{dataset}", dataset, {"limit": "1001"}) == (400, ex.ERRORS[400])
    assert answer("/lookups/{dataset}/{key}", {**dataset, "key": "Marketing"}) == (
        404,
        ex.ERRORS[404],
    )
    # The example cursor names a version that is not live: the listing-was-replaced answer.
    assert answer("/lookups/{dataset}", dataset, {"cursor": ex.CURSOR}) == (410, ex.ERRORS[410])


def test_the_busy_example_is_the_handlers_answer(monkeypatch):
    from headwater.handlers import lookup_api_examples as ex
    from headwater.lookup.store import StoreBusy

    class Busy:
        def get_partition(self, _dataset, _key):
            raise StoreBusy("replaced under every read")

    monkeypatch.setattr(lookup_api, "store", Busy)
    internal = Caller(subscriber="ops", internal=True, grants=frozenset(), key_id="k")
    monkeypatch.setattr(request_tenancy, "caller", lambda _event: internal)
    assert answer("/lookups/{dataset}/{key}", {"dataset": "employees", "key": "Sales"}) == (
        503,
        ex.ERRORS[503],
    )


def test_gateway_examples_are_the_fronts_messages():
    # The examples quote the texts the front answers with (API Gateway's own).
    source = (ROOT / "src" / "headwater" / "local" / "apigateway" / "front.py").read_text()
    for message in openapi.GATEWAY_MESSAGES.values():
        assert f'"{message}"' in source, message


def test_the_not_granted_example_is_the_handlers_answer(monkeypatch):
    from headwater.handlers import lookup_api_examples as ex

    demo = Caller(subscriber="demo", internal=False, grants=frozenset({"employees"}), key_id="k")
    monkeypatch.setattr(request_tenancy, "caller", lambda _event: demo)
    assert answer("/lookups/{dataset}", {"dataset": "finance"}) == (403, ex.NOT_GRANTED)
