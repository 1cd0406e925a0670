"""``headwater schedules list|fire``: EventBridge Scheduler schedules of the local mode.

``list`` reads every group's schedules and shows when each fires next, in UTC and in the
schedule's own time zone, computed like the local mode's scheduler does
(``headwater.local.scheduler``). ``fire`` runs a schedule's Lambda target now with the
schedule's event, in this process like ``headwater local invoke`` (a runner of its own reading
the emulator's functions): no channel to the daemon is needed, and the result is printed here.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from headwater.cli import localenv
from headwater.cli.errors import CommandError
from headwater.local.scheduler.model import Schedule
from headwater.schedule_expressions import ScheduleExpressionError, zone

COLUMNS = ("NAME", "GROUP", "EXPRESSION", "TIME ZONE", "STATE", "NEXT (UTC)", "NEXT (ZONE)")


def register(subparsers: Any) -> None:
    schedules = subparsers.add_parser(
        "schedules",
        help="EventBridge Scheduler schedules in the local mode: next fire times, fire now",
        description="The local mode fires EventBridge Scheduler schedules whose target is a "
        "Lambda function. `list` shows when each fires next; `fire` runs one's target now.",
    )
    actions = schedules.add_subparsers(dest="schedules_command", metavar="ACTION")
    listing = actions.add_parser("list", help="every schedule with its next fire time")
    listing.set_defaults(func=_list)
    fire = actions.add_parser(
        "fire",
        help="invoke a schedule's Lambda target now with the schedule's event",
        description="Invokes the schedule's target function now, with the event it fires "
        "(Target.Input), whatever its state and fire times; the function's result is printed.",
    )
    fire.add_argument("name", help="the schedule's name")
    fire.add_argument("--group", default="default", help="its schedule group (default: default)")
    fire.set_defaults(func=_fire)
    schedules.set_defaults(func=lambda _args: _usage(schedules))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client() -> Any:
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client("scheduler")
    except NoRegionError as exc:
        raise CommandError(f"{exc} ({localenv.target_hint()})") from exc


def _read(client: Any, name: str, group: str) -> Schedule:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return Schedule.from_api(client.get_schedule(Name=name, GroupName=group))
    except client.exceptions.ResourceNotFoundException:
        raise CommandError(f"schedule {group}/{name} not found") from None
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read schedule {group}/{name}: {exc}") from exc


def rows(schedules: list[Schedule], now: datetime) -> list[tuple[str, ...]]:
    """The table ``list`` prints; the next fire is "-" when there is none."""
    table = []
    for s in schedules:
        try:
            due = s.upcoming(now) if s.lambda_target else None
            local = due.astimezone(zone(s.timezone)) if due else None
        except ScheduleExpressionError:
            due = local = None
        note = "" if s.lambda_target else " (not a Lambda target: not fired locally)"
        table.append(
            (
                s.name,
                s.group,
                s.expression,
                s.timezone,
                ("ENABLED" if s.enabled else "DISABLED") + note,
                f"{due:%Y-%m-%d %H:%M:%S}Z" if due else "-",
                f"{local:%Y-%m-%d %H:%M:%S %Z}" if local else "-",
            )
        )
    return table


def _list(_args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client()
    try:
        found = [
            _read(client, summary["Name"], summary["GroupName"])
            for page in client.get_paginator("list_schedules").paginate()
            for summary in page["Schedules"]
        ]
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot list schedules: {exc} ({localenv.target_hint()})") from exc
    if not found:
        print("no schedules")
        return 0
    table = [COLUMNS, *rows(sorted(found, key=lambda s: (s.group, s.name)), datetime.now(UTC))]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _fire(args: argparse.Namespace) -> int:
    schedule = _read(_client(), args.name, args.group)
    if not schedule.lambda_target:
        raise CommandError(
            f"schedule {args.group}/{args.name} targets {schedule.target_arn}: only Lambda "
            "targets are fired in the local mode"
        )
    try:
        event = schedule.event()
    except ValueError as exc:
        raise CommandError(f"schedule {args.group}/{args.name}: Input is not JSON: {exc}") from exc
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise CommandError(f"no emulator endpoint ({localenv.target_hint()})")
    from headwater.cli.local import invoke_here

    region = os.environ.get("AWS_REGION") or localenv.DEFAULT_REGION
    return invoke_here(endpoint, region, schedule.target_arn, event)
