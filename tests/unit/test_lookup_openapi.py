"""The OpenAPI document is generated from the API's routes and docs/openapi.json is current."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from headwater.cli import openapi as openapi_cli
from headwater.cli.openapi import render
from headwater.handlers import lookup_api

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_document_lists_exactly_the_resolver_routes():
    document = lookup_api.openapi_document()
    documented = sorted(
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    )
    registered = sorted(
        (r.method, r.openapi_path)
        for r in lookup_api.app._static_routes + lookup_api.app._dynamic_routes
    )
    assert documented == registered
    assert ("GET", "/lookups/{dataset}/{key}/{member}") in documented


def test_every_route_but_health_requires_the_api_key():
    document = lookup_api.openapi_document()
    scheme = document["components"]["securitySchemes"]["api_key"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    for path, ops in document["paths"].items():
        for operation in ops.values():
            expected = [] if path == "/health" else [{"api_key": []}]
            assert operation["security"] == expected, path


def test_committed_document_is_up_to_date():
    assert COMMITTED.read_text(encoding="utf-8") == render(), "run `headwater openapi`"


def test_openapi_command_writes_the_document(tmp_path, capsys):
    out = tmp_path / "nested" / "api.json"
    parser = argparse.ArgumentParser()
    openapi_cli.register(parser.add_subparsers())
    args = parser.parse_args(["openapi", "--out", str(out)])
    assert args.func(args) == 0
    assert (
        json.loads(out.read_text())["paths"].keys() == lookup_api.openapi_document()["paths"].keys()
    )
    args = parser.parse_args(["openapi", "--out", "-"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}\n")
    assert json.loads(printed.split("\n", 1)[1]) == json.loads(render())
