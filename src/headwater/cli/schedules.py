"""``headwater schedules list|fire|replay``: EventBridge Scheduler schedules.

``list`` reads every group's schedules, and the default bus's rules with a schedule expression
(GROUP ``(rule)``), and shows when each fires next, in UTC and in the schedule's own time zone,
computed like the local mode's scheduler does (``headwater.local.scheduler``; a rate rule's
phase is the daemon's, so its time is marked ``~``, within one interval). ``fire`` runs a
schedule's Lambda target (``--rule``: a rule's Lambda targets) now with the event it fires, in
this process like ``headwater local invoke`` (a runner of its own reading the emulator's
functions): no channel to the daemon is needed, and the result is printed here.

``replay`` works against any environment (AWS, or the emulator at AWS_ENDPOINT_URL): it reads
the dead-letter events of a Scheduler DLQ (by default the platform's, Terraform output
``scheduler_dlq_url``) and re-invokes each one's target with its payload
(``headwater.schedule_dlq``). Synchronously, not asynchronously as the Scheduler does: a message
is deleted only once its function has run without error, so a replay that fails again loses
nothing (asynchronously, a 202 would delete the message and a second failure would be Lambda's
to keep or drop), and each result is printed. In the local mode the invocation runs in this
process, as ``fire`` does; on AWS through Lambda's Invoke API.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from headwater import schedule_dlq
from headwater.cli import localenv, outputs
from headwater.cli.errors import CommandError, UsageError
from headwater.local.scheduler.model import Schedule
from headwater.local.scheduler.rules import ScheduledRule
from headwater.schedule_expressions import ScheduleExpressionError, zone

COLUMNS = ("NAME", "GROUP", "EXPRESSION", "TIME ZONE", "STATE", "NEXT (UTC)", "NEXT (ZONE)")


def register(subparsers: Any) -> None:
    schedules = subparsers.add_parser(
        "schedules",
        help="EventBridge Scheduler schedules and scheduled rules: next fire times, fire now, "
        "replay a DLQ",
        description="The local mode fires EventBridge Scheduler schedules and EventBridge "
        "rules with a schedule expression whose target is a Lambda function. `list` shows when "
        "each fires next; `fire` runs one's target now; `replay` re-invokes the targets of a "
        "Scheduler DLQ's events (any environment).",
    )
    actions = schedules.add_subparsers(dest="schedules_command", metavar="ACTION")
    listing = actions.add_parser(
        "list", help="every schedule and scheduled rule with its next fire time"
    )
    listing.set_defaults(func=_list)
    fire = actions.add_parser(
        "fire",
        help="invoke a schedule's (or a rule's) Lambda target now with the event it fires",
        description="Invokes the schedule's target function now, with the event it fires "
        "(Target.Input), whatever its state and fire times; with --rule, each Lambda target of "
        "a scheduled EventBridge rule with AWS's scheduled event. Results are printed.",
    )
    fire.add_argument("name", nargs="?", help="the schedule's name")
    fire.add_argument("--group", default="default", help="its schedule group (default: default)")
    fire.add_argument("--rule", metavar="NAME", help="fire this rule of the default bus instead")
    fire.set_defaults(func=_fire)
    replay = actions.add_parser(
        "replay",
        help="re-invoke the targets of the events in a Scheduler dead-letter queue (or a "
        "function's on-failure queue)",
        description="Reads the dead-letter events of a Scheduler DLQ and invokes each one's "
        "target (TARGET_ARN) with its payload, synchronously; a message is deleted only after "
        "its function succeeded, the others stay. The records Lambda sends to an on-failure "
        "destination (e.g. collect_collector_failures_queue_url) replay the same way, to their "
        "function with the original event. Exit 1 when any failed or was skipped.",
    )
    source = replay.add_mutually_exclusive_group()
    source.add_argument("--queue", metavar="URL", help="the DLQ's URL")
    source.add_argument(
        "--group-dlq",
        action="store_true",
        help="the platform's Scheduler DLQ (Terraform output scheduler_dlq_url; the default)",
    )
    replay.add_argument(
        "--max", type=_positive, metavar="N", help="replay at most N events (default: all)"
    )
    replay.add_argument(
        "--dry-run", action="store_true", help="list what would be replayed; invoke nothing"
    )
    outputs.add_arguments(replay)
    replay.set_defaults(func=_replay)
    schedules.set_defaults(func=lambda _args: _usage(schedules))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _client(service: str = "scheduler", **options: Any) -> Any:
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client(service, **options)
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


def rule_rows(rules: list[ScheduledRule], now: datetime) -> list[tuple[str, ...]]:
    """The table rows of scheduled rules (UTC only; a rate rule's next fire is approximate)."""
    table = []
    for r in rules:
        try:
            due = r.upcoming(now, now)
        except ScheduleExpressionError:
            due = None
        approximate = "~" if r.expression.startswith("rate(") else ""
        lambdas = any(t.lambda_target for t in r.targets)
        note = "" if lambdas else " (no Lambda target: not fired locally)"
        text = f"{approximate}{due:%Y-%m-%d %H:%M:%S}Z" if due and lambdas else "-"
        table.append(
            (
                r.name,
                "(rule)",
                r.expression,
                "UTC",
                ("ENABLED" if r.enabled else "DISABLED") + note,
                text,
                text,
            )
        )
    return table


def read_rules(events: Any) -> list[ScheduledRule]:
    """The default bus's rules that have a schedule expression, with their targets."""
    found = []
    for page in events.get_paginator("list_rules").paginate():
        for conf in page["Rules"]:
            if conf.get("ScheduleExpression"):
                targets = events.list_targets_by_rule(Rule=conf["Name"])["Targets"]
                found.append(ScheduledRule.from_api(conf, targets))
    return found


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
        rules = read_rules(_client("events"))
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot list schedules: {exc} ({localenv.target_hint()})") from exc
    if not found and not rules:
        print("no schedules")
        return 0
    now = datetime.now(UTC)
    table = [
        COLUMNS,
        *rows(sorted(found, key=lambda s: (s.group, s.name)), now),
        *rule_rows(sorted(rules, key=lambda r: r.name), now),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _fire(args: argparse.Namespace) -> int:
    if (args.rule is None) == (args.name is None):
        raise UsageError("give a schedule NAME or --rule NAME (one of them)")
    if args.rule is not None:
        return _fire_rule(args.rule)
    schedule = _read(_client(), args.name, args.group)
    if not schedule.lambda_target:
        raise CommandError(
            f"schedule {args.group}/{args.name} targets {schedule.target_arn}: only Lambda "
            "targets are fired in the local mode"
        )
    from headwater.local.scheduler.delivery import new_execution_id

    try:
        event = schedule.event(datetime.now(UTC), new_execution_id(), 1)
    except ValueError as exc:
        raise CommandError(f"schedule {args.group}/{args.name}: Input is not JSON: {exc}") from exc
    endpoint, region = _emulator()
    from headwater.cli.local import invoke_here

    return invoke_here(endpoint, region, schedule.target_arn, event)


def _emulator() -> tuple[str, str]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise CommandError(f"no emulator endpoint ({localenv.target_hint()})")
    return endpoint, os.environ.get("AWS_REGION") or localenv.DEFAULT_REGION


def _fire_rule(name: str) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    events = _client("events")
    try:
        conf = events.describe_rule(Name=name)
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
    except events.exceptions.ResourceNotFoundException:
        raise CommandError(f"rule {name} not found on the default bus") from None
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read rule {name}: {exc}") from exc
    if not conf.get("ScheduleExpression"):
        raise CommandError(f"rule {name} has no schedule expression (an event pattern rule)")
    rule = ScheduledRule.from_api(conf, targets)
    lambdas = [t for t in rule.targets if t.lambda_target]
    if not lambdas:
        raise CommandError(f"rule {name} has no Lambda target: the local mode fires only those")
    endpoint, region = _emulator()
    from headwater.cli.local import invoke_here

    event = rule.event(datetime.now(UTC))
    status = 0
    for target in lambdas:
        status = max(status, invoke_here(endpoint, region, target.arn, rule.payload(target, event)))
    return status


def _replay(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    queue = outputs.setting(args.queue, outputs.from_args(args), "scheduler_dlq_url", "--queue")
    sqs = _client("sqs")
    with _invoker() as invoke:
        try:
            report = schedule_dlq.replay(
                sqs, queue, invoke, max_messages=args.max, dry_run=args.dry_run
            )
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"cannot read {queue}: {exc} ({localenv.target_hint()})") from exc
    for line in report.lines:
        print(line)
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb} {report.replayed}, failed {report.failed}, skipped {report.skipped}")
    return 0 if report.ok else 1


class _invoker:
    """The invoke port of ``schedule_dlq.replay``: a runner of our own in this process in the
    local mode (the emulator's Invoke API does not run functions), Lambda's Invoke API on AWS."""

    def __enter__(self) -> schedule_dlq.Invoke:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        self._runner: Any = None
        if endpoint and localenv.is_local():
            from headwater.local.lambda_service.runner import Runner

            region = os.environ.get("AWS_REGION") or localenv.DEFAULT_REGION
            self._runner = Runner(endpoint, region=region)
            return self._local
        from botocore.config import Config

        # A synchronous invocation may last the function's timeout, 15 minutes at most.
        return schedule_dlq.lambda_invoke(
            _client("lambda", config=Config(read_timeout=960, retries={"mode": "standard"}))
        )

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            self._runner.stop()

    def _local(self, function: str, event: Any) -> schedule_dlq.Outcome:
        from headwater.local.lambda_service.runner import FunctionNotFound

        try:
            result = self._runner.invoke(function, event)
        except FunctionNotFound as exc:
            return schedule_dlq.Outcome(False, str(exc))
        return schedule_dlq.Outcome(
            result.ok, schedule_dlq.detail(result.payload, result.function_error)
        )
