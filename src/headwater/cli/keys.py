"""``headwater keys list|create|revoke``: API keys of the target environment's REST API.

The target is whatever boto3 points at: AWS, or the local emulator when ``AWS_ENDPOINT_URL`` is
set (``headwater.aws.client`` honours it). Key values are secrets: ``list`` shows them only with
``--show-value``, ``create`` prints the new value once.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from headwater.cli.errors import CommandError


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser(
        "keys",
        help="list, create and revoke API keys of the environment's REST API",
        description="API keys and their usage plans, in the environment boto3 targets "
        "(AWS_ENDPOINT_URL for the local emulator).",
    )
    commands = keys.add_subparsers(dest="keys_command", metavar="ACTION")

    listing = commands.add_parser("list", help="keys with id, enabled flag and usage plans")
    listing.add_argument(
        "--show-value", action="store_true", help="also print each key's secret value"
    )
    listing.set_defaults(func=_list)

    create = commands.add_parser("create", help="create a key and attach it to a usage plan")
    create.add_argument("name", help="key name (unique)")
    create.add_argument("--plan", required=True, help="usage plan name or id")
    create.set_defaults(func=_create)

    revoke = commands.add_parser("revoke", help="disable a key and detach it from its usage plans")
    revoke.add_argument("key", metavar="NAME_OR_ID", help="key name or id")
    revoke.add_argument("--delete", action="store_true", help="delete the key instead")
    revoke.set_defaults(func=_revoke)

    keys.set_defaults(func=lambda _args: _usage(keys))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client() -> Any:
    from headwater import aws
    from headwater.cli import localenv

    try:
        return aws.client("apigateway")
    except BotoCoreError as exc:  # NoRegionError in a fresh shell without the local mode
        raise CommandError(f"no AWS target: {exc}; {localenv.target_hint()}") from exc


def _call(what: str, operation: Any, **kwargs: Any) -> Any:
    """Run one API call; AWS and connection errors become one clear line."""
    try:
        return operation(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CommandError(
            f"{what}: {error.get('Code', 'error')}: {error.get('Message', exc)}"
        ) from exc
    except BotoCoreError as exc:
        raise CommandError(f"{what}: {exc}") from exc


def _pages(client: Any, operation: str, what: str, **kwargs: Any) -> list[dict]:
    def collect() -> list[dict]:
        items: list[dict] = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get("items", []))
        return items

    return _call(what, collect)


def _plans_by_key(client: Any) -> tuple[list[dict], dict[str, list[dict]]]:
    plans = _pages(client, "get_usage_plans", "listing usage plans")
    by_key: dict[str, list[dict]] = {}
    for plan in plans:
        for key in _pages(
            client, "get_usage_plan_keys", "listing usage plan keys", usagePlanId=plan["id"]
        ):
            by_key.setdefault(key["id"], []).append(plan)
    return plans, by_key


def _find_key(keys: list[dict], name_or_id: str) -> dict:
    by_id = [k for k in keys if k["id"] == name_or_id]
    if by_id:
        return by_id[0]
    by_name = [k for k in keys if k.get("name") == name_or_id]
    if not by_name:
        raise CommandError(f"no API key named or with id {name_or_id!r}")
    if len(by_name) > 1:
        ids = ", ".join(k["id"] for k in by_name)
        raise CommandError(f"several API keys are named {name_or_id!r} ({ids}); give the id")
    return by_name[0]


def _list(args: argparse.Namespace) -> int:
    client = _client()
    keys = _pages(client, "get_api_keys", "listing API keys", includeValues=args.show_value)
    _, plans = _plans_by_key(client)
    rows = []
    for key in sorted(keys, key=lambda k: (k.get("name", ""), k["id"])):
        row = [
            key.get("name", ""),
            key["id"],
            "yes" if key.get("enabled") else "no",
            ",".join(sorted(p.get("name") or p["id"] for p in plans.get(key["id"], []))) or "-",
        ]
        if args.show_value:
            row.append(key.get("value", ""))
        rows.append(row)
    header = ["NAME", "ID", "ENABLED", "PLANS"] + (["VALUE"] if args.show_value else [])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _create(args: argparse.Namespace) -> int:
    client = _client()
    plans, _ = _plans_by_key(client)
    matches = [p for p in plans if p["id"] == args.plan] or [
        p for p in plans if p.get("name") == args.plan
    ]
    if not matches:
        known = ", ".join(sorted(p.get("name") or p["id"] for p in plans)) or "none"
        raise CommandError(f"no usage plan named or with id {args.plan!r} (plans: {known})")
    if len(matches) > 1:
        raise CommandError(f"several usage plans are named {args.plan!r}; give the id")
    plan = matches[0]
    keys = _pages(client, "get_api_keys", "listing API keys")
    if any(k.get("name") == args.name for k in keys):
        raise CommandError(f"an API key named {args.name!r} already exists")
    key = _call("creating the API key", client.create_api_key, name=args.name, enabled=True)
    try:
        _call(
            "attaching the key to its plan",
            client.create_usage_plan_key,
            usagePlanId=plan["id"],
            keyId=key["id"],
            keyType="API_KEY",
        )
    except Exception:
        # A key outside any plan opens nothing; do not leave it behind half made.
        _call("removing the unattached key", client.delete_api_key, apiKey=key["id"])
        raise
    # Only the value goes to stdout, so `KEY=$(headwater keys create ...)` captures just it.
    plan_name = plan.get("name", plan["id"])
    print(f"created API key {args.name} ({key['id']}) in usage plan {plan_name}", file=sys.stderr)
    print("its value, shown only this once:", file=sys.stderr)
    print(key["value"])
    return 0


def _revoke(args: argparse.Namespace) -> int:
    client = _client()
    key = _find_key(_pages(client, "get_api_keys", "listing API keys"), args.key)
    _, plans = _plans_by_key(client)
    label = f"{key.get('name', '')} ({key['id']})"
    if args.delete:
        _call("deleting the API key", client.delete_api_key, apiKey=key["id"])
        print(f"deleted API key {label}")
        return 0
    for plan in plans.get(key["id"], []):
        _call(
            f"detaching the key from plan {plan.get('name', plan['id'])}",
            client.delete_usage_plan_key,
            usagePlanId=plan["id"],
            keyId=key["id"],
        )
    _call(
        "disabling the API key",
        client.update_api_key,
        apiKey=key["id"],
        patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}],
    )
    detached = ", ".join(p.get("name", p["id"]) for p in plans.get(key["id"], [])) or "no plan"
    print(f"revoked API key {label}: disabled, detached from {detached}")
    return 0
