"""``headwater records summary``: run the weekly records summary of a deployed environment now.

Invokes the environment's summary function synchronously with ``{"week": ..., "datasets": ...}``
(the function's own input, see ``headwater.handlers.records_summary``), prints its report and
exits 1 with the function's error message when it fails. The function name comes from the
Terraform output ``records_summary_function_name`` (or ``--function``).

Against AWS: Lambda ``Invoke`` (RequestResponse). In the local mode (ENV=local with the emulator
running): a runner of this process invokes it, as ``headwater schedules fire`` does, because the
emulator's Lambda service does not run functions itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from headwater.cli import localenv, outputs
from headwater.cli.errors import CommandError

OUTPUT = "records_summary_function_name"
# A summary of a large week may run up to Lambda's 15 minutes: wait for it, do not retry it
# (the function is idempotent, but a retried 15-minute call helps nobody).
READ_TIMEOUT_SECONDS = 960

# (function, event) -> (payload, error type or None)
Invoker = Callable[[str, dict[str, Any]], tuple[Any, str | None]]


def _week(text: str) -> str:
    from headwater.records.weeks import parse_week

    try:
        return str(parse_week(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_summary_parser(actions: Any) -> argparse.ArgumentParser:
    """Add ``summary`` to the ``records`` group's subparsers ``actions``."""
    parser = actions.add_parser(
        "summary",
        help="write a week's records summary and Parquet export now (any environment)",
        description="Invoke the deployed records summary function for one ISO week and print "
        "its report: per dataset the total, the summary.json and Parquet parts written under "
        "summaries/<dataset>/week=YYYY-Www/. Rerunning a week replaces its objects.",
    )
    parser.add_argument(
        "--week",
        type=_week,
        metavar="YYYY-Www",
        help="ISO week, e.g. 2026-W48 (default: the week before the current one, in the "
        "function's SUMMARY_TIME_ZONE)",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        dest="datasets",
        metavar="NAME",
        help="a declared record dataset (repeatable; default: every one)",
    )
    parser.add_argument(
        "--function",
        metavar="NAME",
        help=f"function name or ARN (default: the {OUTPUT!r} Terraform output)",
    )
    outputs.add_arguments(parser)
    parser.set_defaults(func=run_summary)
    return parser


def summary_event(args: argparse.Namespace) -> dict[str, Any]:
    event: dict[str, Any] = {}
    if args.week:
        event["week"] = args.week
    if args.datasets:
        event["datasets"] = list(dict.fromkeys(args.datasets))
    return event


def function_name(args: argparse.Namespace) -> str:
    if args.function:
        return str(args.function)
    found = outputs.from_args(args)
    name = found.get(OUTPUT)
    if name:
        return str(name)
    if found:
        raise CommandError(
            f"the outputs name no {OUTPUT!r}: is the records capability deployed in this "
            "environment? (or give --function)"
        )
    hint = ""
    if localenv.is_local() and localenv.default_outputs() is None:
        hint = f" (no local deployment at {localenv.local_tfstate()}: run ./setup.sh deploy)"
    raise CommandError(f"give --function, or --outputs with a {OUTPUT!r} output{hint}")


def run_summary(args: argparse.Namespace, invoke: Invoker | None = None) -> int:
    function = function_name(args)
    event = summary_event(args)
    payload, error = (invoke or default_invoker())(function, event)
    if error:
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        kind = payload.get("errorType") if isinstance(payload, dict) else None
        raise CommandError(f"summary function {function} failed ({kind or error}): {message}")
    print(json.dumps(payload, indent=2, default=str))
    return 0


def default_invoker() -> Invoker:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if localenv.is_local() and endpoint:
        return lambda function, event: invoke_local(endpoint, function, event)
    return invoke_lambda


def invoke_local(endpoint: str, function: str, event: dict[str, Any]) -> tuple[Any, str | None]:
    """Through a runner of this process (the emulator does not run functions)."""
    from headwater.local.lambda_service.runner import FunctionNotFound, Runner

    region = os.environ.get("AWS_REGION") or localenv.DEFAULT_REGION
    runner = Runner(endpoint, region=region)
    try:
        result = runner.invoke(function, event)
    except FunctionNotFound as exc:
        raise CommandError(f"{exc} (at {endpoint})") from exc
    finally:
        runner.stop()
    return result.payload, result.function_error


def lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "lambda",
        config=Config(read_timeout=READ_TIMEOUT_SECONDS, retries={"max_attempts": 1}),
    )


def invoke_lambda(
    function: str, event: dict[str, Any], client: Any = None
) -> tuple[Any, str | None]:
    """Lambda Invoke, RequestResponse: the payload, and X-Amz-Function-Error when it failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or lambda_client()
    try:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot invoke {function}: {exc} ({localenv.target_hint()})") from exc
    raw = response["Payload"].read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    return payload, response.get("FunctionError")


class _RecordsGroup:
    """A ``records`` group holding only this command, for ``main`` below (cli/records.py is
    the real group's module)."""

    @staticmethod
    def register(subparsers: Any) -> None:
        records = subparsers.add_parser("records", help="records commands")
        add_summary_parser(records.add_subparsers(dest="records_command", metavar="ACTION"))


def main(argv: list[str] | None = None) -> int:
    """``python -m headwater.cli.records_summary summary ...``: this command through the
    ``headwater`` dispatcher (local environment, exit codes), before and besides the group."""
    from headwater import cli

    rest = sys.argv[1:] if argv is None else argv
    return cli.main(["records", *rest], commands=(_RecordsGroup,))


if __name__ == "__main__":
    sys.exit(main())
