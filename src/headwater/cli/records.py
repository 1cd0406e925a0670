"""``headwater records``: the records capability's commands.

``schemas`` writes ``terraform/environments/record_datasets.auto.tfvars.json``: one JSON Schema
per record dataset declaration, which every environment (the file is linked into each) passes to
the stack as ``record_datasets``, the API Gateway model of the dataset's POST route. The handler
derives the same schema from the same declaration at runtime, so the gateway and the code never
disagree. ``--check`` fails when the committed file is stale; ``scripts/build_artifact.py``
rewrites it on every build, so editing a declaration and deploying just works.

Actions are subcommands of one group: add one with ``actions.add_parser(...)`` in ``register``.
"""

from __future__ import annotations

import argparse
import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.cli.errors import CommandError
from headwater.cli.outputs import read_outputs
from headwater.cli.records_summary import add_summary_parser
from headwater.progress import step

# What `./setup.sh run` shows: a ready curl posting this order to the demo dataset with the demo
# subscriber's key (tests check it against the dataset's declaration).
DEMO_DATASET = "orders"
DEMO_KEY_NAME = "demo"
DEMO_ORDER: dict[str, Any] = {
    "order_id": "A-1001",
    "customer_id": "C-42",
    "amount": 59.9,
    "currency": "EUR",
    "quantity": 2,
    "placed_at": "2026-12-01T09:30:00Z",
}

# The repository's environments directory, from this file (src/headwater/cli/records.py).
ENVIRONMENTS_DIR = Path(__file__).resolve().parents[3] / "terraform" / "environments"
SCHEMAS_FILE = ENVIRONMENTS_DIR / "record_datasets.auto.tfvars.json"


def render_schemas(directory: str | Path | None = None) -> str:
    """The tfvars document of every declared record dataset, as written to SCHEMAS_FILE."""
    from headwater.records.declarations import load_record_datasets
    from headwater.records.json_schema import terraform_datasets

    try:
        datasets = load_record_datasets(directory)
    except Exception as exc:  # a declaration error names its file; show it as one line
        raise CommandError(f"invalid record dataset declaration: {exc}") from None
    return json.dumps(terraform_datasets(datasets), indent=2, sort_keys=True) + "\n"


def write_schemas(out: Path = SCHEMAS_FILE, directory: str | Path | None = None) -> bool:
    """Write the file if its content changed; True when it was (re)written."""
    text = render_schemas(directory)
    try:
        if out.is_file() and out.read_text(encoding="utf-8") == text:
            return False
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    return True


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "records",
        help="records: the weekly summary now, gateway schemas of the record datasets",
        description="Commands of the records capability (JSON records POSTed to the REST API).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    schemas = actions.add_parser(
        "schemas",
        help="write the record datasets' JSON Schemas for Terraform (record_datasets)",
        description="Derive one JSON Schema per record dataset declaration and write them as "
        "the Terraform variable record_datasets, loaded by every environment.",
    )
    schemas.add_argument(
        "--out",
        type=Path,
        default=SCHEMAS_FILE,
        help="output file (default: terraform/environments/record_datasets.auto.tfvars.json)",
    )
    schemas.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if the file is missing or differs from the declarations",
    )
    schemas.set_defaults(func=run_schemas)
    add_summary_parser(actions)


def run_schemas(args: argparse.Namespace) -> int:
    out: Path = args.out
    if args.check:
        expected = render_schemas()
        try:
            current = out.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != expected:
            raise CommandError(
                f"{out} is stale or missing: run `headwater records schemas` and commit it"
            )
        print(f"{out} is up to date")
        return 0
    changed = write_schemas(out)
    print(f"{'wrote' if changed else 'unchanged'} {out}")
    return 0


# ---- demo (./setup.sh run) ------------------------------------------------------------------


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The records step has no options of its own (it reads everything from the outputs)."""


def curl_command(api_url: str, key: str, record: dict[str, Any], dataset: str) -> str:
    return post_curl(f"{api_url.rstrip('/')}/records/{dataset}", key, record)


def post_curl(url: str, key: str, body: Any) -> str:
    """A shell-safe curl POSTing ``body`` as compact JSON with an API key (the demos print it)."""
    text = json.dumps(body, separators=(",", ":"))
    return (
        f"curl -sS -H {shlex.quote(f'x-api-key: {key}')} "
        f"-H 'content-type: application/json' -d {shlex.quote(text)} {shlex.quote(url)}"
    )


def run_demo(args: argparse.Namespace) -> int:
    """Print a ready curl posting an order, and how to run the weekly summary now."""
    from headwater.cli.keys import demo_api

    outputs = read_outputs(args.outputs)
    if not outputs.get("records_table"):
        step("no records table in this environment: skipping the records example")
        return 0
    access = demo_api(outputs, DEMO_KEY_NAME)
    if access is None:
        return 0
    api_url, value = access
    week = datetime.now(UTC).strftime("%G-W%V")
    schedule = outputs.get("records_summary_schedule_name")
    group = outputs.get("records_summary_schedule_group")
    print("\nRecords API, post an order with the demo subscriber key:")
    print(f"  {curl_command(api_url, value, DEMO_ORDER, DEMO_DATASET)}")
    print("Weekly records summary (Parquet + summary.json in the export bucket):")
    if schedule and group:
        print(f"  ./setup.sh cli schedules fire {schedule} --group {group}   # the previous week")
    print(f"  ./setup.sh cli records summary --week {week}   # this week, with the order above")
    return 0
