"""``headwater records summary`` against AWS: Lambda Invoke RequestResponse and its error header.

AWS Lambda cannot run here and moto's Invoke needs Docker, so this path's one AWS call is checked
with botocore's Stubber against the service model (parameters and response shape validated);
the local path runs for real in tests/integration/records/test_summary_cli.py.
"""

from __future__ import annotations

import argparse
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from headwater.cli import records_summary
from headwater.cli.errors import CommandError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    records_summary.add_summary_parser(parser.add_subparsers())
    return parser.parse_args(["summary", *argv])


def stubbed(payload: dict, event: dict, function_error: str | None = None):
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    raw = json.dumps(payload).encode()
    response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}
    if function_error:
        response["FunctionError"] = function_error
    stubber.add_response(
        "invoke",
        response,
        {
            "FunctionName": "hw-dev-records-summary",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(event).encode(),
        },
    )
    stubber.activate()
    return client, stubber


def invoker(client):
    return lambda function, event: records_summary.invoke_lambda(function, event, client)


def test_arguments_become_the_functions_input() -> None:
    args = parse(
        "--week", "2026-W53", "--dataset", "orders", "--dataset", "b", "--dataset", "orders"
    )
    assert records_summary.summary_event(args) == {"week": "2026-W53", "datasets": ["orders", "b"]}
    assert records_summary.summary_event(parse()) == {}
    with pytest.raises(SystemExit):
        parse("--week", "2027-W53")


def test_report_printed(capsys, tmp_path) -> None:
    report = {"week": "2026-W48", "datasets": {"orders": {"total": 3}}}
    client, stubber = stubbed(report, {"week": "2026-W48"})
    outputs = tmp_path / "out.json"
    outputs.write_text(
        json.dumps({"records_summary_function_name": {"value": "hw-dev-records-summary"}})
    )

    code = records_summary.run_summary(
        parse("--week", "2026-W48", "--outputs", str(outputs)), invoke=invoker(client)
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == report
    stubber.assert_no_pending_responses()


def test_function_error_raises_with_its_message() -> None:
    error = {"errorMessage": "week: 2026 has ISO weeks 1 to 53", "errorType": "InvalidInput"}
    client, _ = stubbed(error, {}, function_error="Unhandled")

    with pytest.raises(CommandError, match=r"failed \(InvalidInput\): week: 2026 has ISO"):
        records_summary.run_summary(
            parse("--function", "hw-dev-records-summary"), invoke=invoker(client)
        )


def test_no_function_anywhere_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("ENV", "dev")
    with pytest.raises(CommandError, match="give --function, or --outputs"):
        records_summary.function_name(parse())
