"""``headwater collect``: the collect capability's commands.

``changes`` lists the stream sink's Parquet change files in the environment's changes bucket
(``collect_changes_bucket``/``collect_changes_prefix`` outputs): one line per object with its
partition, rows and operations, so a user sees what a collector run produced without a Parquet
reader. Schedules themselves are managed through the REST API (``/schedules``), as subscribers
do; ``headwater schedules list|fire`` shows and fires them like any Scheduler schedule.

The demo step (``./setup.sh run``) prints a ready ``curl`` creating a schedule with the demo
subscriber's key, and the commands that run it now and show what it wrote.
"""

from __future__ import annotations

import argparse
import io
from collections import Counter
from pathlib import Path
from typing import Any

from headwater.cli.errors import CommandError
from headwater.cli.outputs import read_outputs
from headwater.progress import step

# What `./setup.sh run` shows: the demo subscriber (terraform/environments/local) creates this
# schedule; tests check it is a schedule the API accepts.
DEMO_KEY_NAME = "demo"
DEMO_SUBSCRIBER = "demo"
DEMO_SCHEDULE: dict[str, Any] = {
    "name": "demo-daily",
    "source": "synthetic",
    "account": "act-demo",
    "expression": "cron(0 6 * * ? *)",
    "time_zone": "UTC",
    "params": {"campaigns": 3},
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "collect",
        help="collect: the change files the stream sink wrote",
        description="Commands of the collect capability (schedules are managed through the "
        "REST API's /schedules; `headwater schedules fire` runs one now).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    changes = actions.add_parser(
        "changes",
        help="list the Parquet change files: partition, rows, operations",
        description="List the stream sink's change files in the changes bucket, newest "
        "partition last, with their rows and operations (INSERT, MODIFY, REMOVE).",
    )
    changes.add_argument("--dataset", help="only this dataset (a connector name, e.g. synthetic)")
    changes.add_argument("--day", help="only this day (YYYY-MM-DD)")
    changes.add_argument(
        "--outputs", type=Path, help="`terraform output -json` file (default: the environment's)"
    )
    changes.set_defaults(func=run_changes)


def _partition_prefix(prefix: str, dataset: str | None, day: str | None) -> str:
    if dataset is None:
        return prefix
    return f"{prefix}dataset={dataset}/" + (f"day={day}/" if day else "")


def change_files(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every change file under ``prefix``: key, rows and a count per operation."""
    import pyarrow.parquet as pq

    files: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            key = entry["Key"]
            if not key.endswith(".parquet"):
                continue
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            # No Arrow thread pool: a CLI process that started one can abort at exit ("terminate
            # called without an active exception", seen in CI); one small column needs none.
            operations = pq.read_table(io.BytesIO(body), columns=["operation"], use_threads=False)[
                "operation"
            ]
            files.append(
                {
                    "key": key,
                    "rows": len(operations),
                    "operations": dict(sorted(Counter(operations.to_pylist()).items())),
                }
            )
    return files


def run_changes(args: argparse.Namespace) -> int:
    from headwater import aws

    if args.day and not args.dataset:
        raise CommandError("--day needs --dataset (files are partitioned by dataset, then day)")
    outputs = read_outputs(args.outputs)
    bucket = outputs.get("collect_changes_bucket")
    if not bucket:
        raise CommandError("no collect_changes_bucket output: is collect deployed here?")
    prefix = _partition_prefix(outputs.get("collect_changes_prefix", ""), args.dataset, args.day)
    files = change_files(aws.client("s3"), bucket, prefix)
    for item in files:
        operations = " ".join(f"{name}={count}" for name, count in item["operations"].items())
        print(f"{item['key']}  rows={item['rows']}  {operations}")
    print(f"{len(files)} file(s), {sum(f['rows'] for f in files)} change record(s) in "
          f"s3://{bucket}/{prefix}")  # fmt: skip
    return 0


# ---- demo (./setup.sh run) ------------------------------------------------------------------


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The collect step has no options of its own (it reads everything from the outputs)."""


def curl_command(api_url: str, key: str, schedule: dict[str, Any]) -> str:
    from headwater.cli.records import post_curl

    return post_curl(f"{api_url.rstrip('/')}/schedules", key, schedule)


def run_demo(args: argparse.Namespace) -> int:
    """Print a ready curl creating a schedule, and how to run it now and see what it wrote."""
    from headwater.cli.keys import demo_api
    from headwater.collect.schedule_store import schedule_name

    outputs = read_outputs(args.outputs)
    if not outputs.get("collect_facts_table"):
        step("no collect facts table in this environment: skipping the collect example")
        return 0
    access = demo_api(outputs, DEMO_KEY_NAME)
    if access is None:
        return 0
    api_url, value = access
    group = outputs.get("schedule_group_name")
    scheduler_name = schedule_name(DEMO_SUBSCRIBER, DEMO_SCHEDULE["name"])
    print("\nCollect, create a daily collection schedule with the demo subscriber key:")
    print(f"  {curl_command(api_url, value, DEMO_SCHEDULE)}")
    print("Run it now (the Scheduler's path), then see the facts' change files the sink wrote:")
    if group:
        print(f"  ./setup.sh cli schedules fire {scheduler_name} --group {group}")
    print("  ./setup.sh cli collect changes --dataset synthetic")
    return 0
