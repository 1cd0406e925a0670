"""``headwater keys list|create|rotate|revoke``: API keys of the target environment's REST API.

The target is whatever boto3 points at: AWS, or the local emulator when ``AWS_ENDPOINT_URL`` is
set (``headwater.aws.client`` honours it). Key values are secrets: ``list`` shows them only with
``--show-value``, ``create`` and ``rotate`` print the new value once.

Every key belongs to one subscriber (``headwater.tenancy``): ``create`` takes ``--subscriber``
and writes the key's entry in the tenancy directory (output ``tenancy_table``) before the key is
attached to the subscriber's usage plan, so it never works unowned; ``rotate`` gives the
subscriber a new key in the same plans and retires the old one, at once or, with ``--grace``,
when the grace period ends (the API refuses it from then on; ``prune`` detaches and disables
such keys afterwards); ``revoke`` removes the entry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from headwater import tenancy
from headwater.cli import outputs
from headwater.cli.errors import CommandError

# Who made a key, as the directory records it: Terraform's keys are rotated by Terraform.
MANAGED_BY = "headwater-cli"
# The longest grace a rotated key gets: a leaked key must not stay valid for months.
MAX_GRACE = dt.timedelta(days=30)
_GRACE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def grace_period(text: str) -> dt.timedelta:
    """``--grace``: ``0`` or a whole number of minutes, hours or days (``30m``, ``24h``, ``7d``),
    at most 30 days."""
    text = text.strip()
    if text == "0":
        return dt.timedelta(0)
    match = re.fullmatch(r"(\d{1,5})([mhd])", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration like 30m, 24h or 7d (or 0: retire the old key now)"
        )
    grace = dt.timedelta(**{_GRACE_UNITS[match.group(2)]: int(match.group(1))})
    if grace > MAX_GRACE:
        raise argparse.ArgumentTypeError(f"{text} is longer than the 30 days a grace may last")
    return grace


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser(
        "keys",
        help="list, create, rotate, revoke and prune API keys of the environment's REST API",
        description="API keys and their usage plans, in the environment boto3 targets "
        "(AWS_ENDPOINT_URL for the local emulator).",
    )
    commands = keys.add_subparsers(dest="keys_command", metavar="ACTION")

    listing = commands.add_parser(
        "list", help="keys with id, enabled flag, subscriber and usage plans"
    )
    listing.add_argument(
        "--show-value", action="store_true", help="also print each key's secret value"
    )
    _directory_arguments(listing)
    listing.set_defaults(func=_list)

    create = commands.add_parser(
        "create", help="create a key of a subscriber, in the subscriber's usage plan"
    )
    create.add_argument("name", help="key name (unique)")
    create.add_argument(
        "--subscriber", required=True, help="the subscriber the key belongs to (its grants apply)"
    )
    create.add_argument("--plan", help="usage plan name or id (default: the subscriber's own plan)")
    _directory_arguments(create)
    create.set_defaults(func=_create)

    rotate = commands.add_parser(
        "rotate",
        help="replace a key: a new key of the same subscriber in the same plans; "
        "the old one is disabled and detached",
    )
    rotate.add_argument("key", metavar="NAME_OR_ID", help="key name or id")
    rotate.add_argument(
        "--grace",
        type=grace_period,
        default=dt.timedelta(0),
        metavar="DURATION",
        help="keep the old key working this long (30m, 24h, 7d; at most 30d) so the subscriber "
        "can switch without an outage; the API refuses it afterwards (default 0: retired now)",
    )
    _directory_arguments(rotate)
    rotate.set_defaults(func=_rotate)

    prune = commands.add_parser(
        "prune", help="detach and disable the rotated keys whose grace period has ended"
    )
    _directory_arguments(prune)
    prune.set_defaults(func=_prune)

    revoke = commands.add_parser("revoke", help="disable a key and detach it from its usage plans")
    revoke.add_argument("key", metavar="NAME_OR_ID", help="key name or id")
    revoke.add_argument("--delete", action="store_true", help="delete the key instead")
    _directory_arguments(revoke)
    revoke.set_defaults(func=_revoke)

    keys.set_defaults(func=lambda _args: _usage(keys))


def _directory_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table", help="tenancy directory table (default: tenancy_table of --outputs)"
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="`terraform output -json` of the environment (default: the local deployment's)",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client(service: str = "apigateway") -> Any:
    from headwater import aws
    from headwater.cli import localenv

    try:
        return aws.client(service)
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


def key_value(client: Any, name: str, key_ids: dict[str, str]) -> str:
    """The value of the API key ``name`` (its id from the outputs when known, else by name)."""
    key_id = key_ids.get(name)
    if key_id:
        return _call("reading the API key", client.get_api_key, apiKey=key_id, includeValue=True)[
            "value"
        ]
    found = []
    for page in client.get_paginator("get_api_keys").paginate(includeValues=True, nameQuery=name):
        found.extend(k for k in page.get("items", []) if k.get("name") == name)
    if len(found) != 1:
        raise CommandError(
            f"{'no' if not found else 'several'} API key(s) named {name!r} "
            "(`headwater keys list` shows them)"
        )
    return found[0]["value"]


def demo_api(outputs: dict[str, Any], key_name: str) -> tuple[str, str] | None:
    """(API base URL, value of the key ``key_name``) for a demo step's curl, or None, with the
    reason printed, when the environment has no ``api_url`` output."""
    from headwater.progress import step

    api_url = outputs.get("api_url")
    if not api_url:
        step("no api_url output: call the API's invoke URL with a key from `headwater keys list`")
        return None
    return api_url, key_value(_client(), key_name, outputs.get("api_key_ids") or {})


def _pages(client: Any, operation: str, what: str, **kwargs: Any) -> list[dict]:
    def collect() -> list[dict]:
        items: list[dict] = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get("items", page.get("Items", [])))
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


def _find_plan(plans: list[dict], name_or_id: str) -> dict:
    matches = [p for p in plans if p["id"] == name_or_id] or [
        p for p in plans if p.get("name") == name_or_id
    ]
    if not matches:
        known = ", ".join(sorted(p.get("name") or p["id"] for p in plans)) or "none"
        raise CommandError(f"no usage plan named or with id {name_or_id!r} (plans: {known})")
    if len(matches) > 1:
        raise CommandError(f"several usage plans are named {name_or_id!r}; give the id")
    return matches[0]


# ---- the tenancy directory ---------------------------------------------------------------------


class Directory:
    """The directory table as the CLI administers it (the API functions only read it)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.client = _client("dynamodb")

    def get(self, pk: str) -> dict[str, Any] | None:
        return _call(
            f"reading {pk} from the tenancy directory {self.table}",
            self.client.get_item,
            TableName=self.table,
            Key={"pk": {"S": pk}},
            ConsistentRead=True,
        ).get("Item")

    def put(self, item: dict[str, Any]) -> None:
        _call(
            f"writing {item['pk']['S']} to the tenancy directory {self.table}",
            self.client.put_item,
            TableName=self.table,
            Item=item,
        )

    def delete(self, pk: str) -> None:
        _call(
            f"removing {pk} from the tenancy directory {self.table}",
            self.client.delete_item,
            TableName=self.table,
            Key={"pk": {"S": pk}},
        )

    def items(self) -> list[dict[str, Any]]:
        # A handful of items (one per key and per subscriber): one paginated scan.
        return _pages(
            self.client, "scan", f"reading the tenancy directory {self.table}", TableName=self.table
        )

    def key_entries(self) -> dict[str, dict[str, Any]]:
        """Every key's directory entry, by key id."""
        return {
            item["pk"]["S"].removeprefix(tenancy.KEY_PREFIX): item
            for item in self.items()
            if item["pk"]["S"].startswith(tenancy.KEY_PREFIX)
        }

    def subscriber(self, name: str) -> tenancy.Subscriber:
        item = self.get(tenancy.SUBSCRIBER_PREFIX + name)
        if item is None:
            known = ", ".join(tenancy.names(self.items(), tenancy.SUBSCRIBER_PREFIX)) or "none"
            raise CommandError(
                f"no subscriber {name!r} in the tenancy directory (subscribers: {known}); "
                "subscribers are Terraform variables of the environment"
            )
        return tenancy.parse_subscriber(item)

    def owner(self, key_id: str) -> dict[str, Any] | None:
        return self.get(tenancy.KEY_PREFIX + key_id)


def _directory(args: argparse.Namespace) -> Directory:
    table = getattr(args, "table", None)
    if table is None:
        table = outputs.setting(
            None, outputs.read_outputs(args.outputs), "tenancy_table", "--table"
        )
    return Directory(table)


# ---- commands --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    client = _client()  # first: "no AWS target" is the error a fresh shell needs to read
    directory = _directory(args)
    keys = _pages(client, "get_api_keys", "listing API keys", includeValues=args.show_value)
    _, plans = _plans_by_key(client)
    entries = directory.key_entries()
    owners = {key_id: tenancy.subscriber_of(item) for key_id, item in entries.items()}
    rows = []
    for key in sorted(keys, key=lambda k: (k.get("name", ""), k["id"])):
        row = [
            key.get("name", ""),
            key["id"],
            "yes" if key.get("enabled") else "no",
            owners.get(key["id"]) or "-",  # "-": no subscriber, the API denies it
            ",".join(sorted(p.get("name") or p["id"] for p in plans.get(key["id"], []))) or "-",
            _expiry_cell(entries.get(key["id"])),
        ]
        if args.show_value:
            row.append(key.get("value", ""))
        rows.append(row)
    header = ["NAME", "ID", "ENABLED", "SUBSCRIBER", "PLANS", "EXPIRES"] + (
        ["VALUE"] if args.show_value else []
    )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _expiry_cell(entry: dict[str, Any] | None) -> str:
    expires = tenancy.expiry_of(entry)
    if expires is None:
        return "-"
    past = " (expired: run keys prune)" if expires < dt.datetime.now(dt.UTC) else ""
    return tenancy.format_instant(expires) + past


def _new_key(
    client: Any, directory: Directory, name: str, subscriber: str, plans: list[dict]
) -> dict:
    """Create key ``name`` of ``subscriber`` in ``plans``: directory entry first, plans last, so
    the key opens nothing before it has an owner; undone on any failure."""
    key = _call(
        "creating the API key",
        client.create_api_key,
        name=name,
        enabled=True,
        description=f"subscriber {subscriber} (headwater keys)",
        tags={"Subscriber": subscriber},
    )
    attached: list[dict] = []
    try:
        directory.put(tenancy.key_item(key["id"], subscriber, MANAGED_BY))
        for plan in plans:
            _call(
                f"attaching the key to plan {plan.get('name', plan['id'])}",
                client.create_usage_plan_key,
                usagePlanId=plan["id"],
                keyId=key["id"],
                keyType="API_KEY",
            )
            attached.append(plan)
    except Exception:
        # A half-made key must not stay behind: it would be an unowned or unplanned key.
        for plan in attached:
            _call(
                "detaching the new key",
                client.delete_usage_plan_key,
                usagePlanId=plan["id"],
                keyId=key["id"],
            )
        directory.delete(tenancy.KEY_PREFIX + key["id"])
        _call("removing the unattached key", client.delete_api_key, apiKey=key["id"])
        raise
    return key


def _create(args: argparse.Namespace) -> int:
    client = _client()
    directory = _directory(args)
    subscriber = directory.subscriber(args.subscriber)
    plans, _ = _plans_by_key(client)
    if args.plan is not None:
        plan = _find_plan(plans, args.plan)
    elif subscriber.usage_plan_id is None:
        raise CommandError(
            f"subscriber {subscriber.name!r} has no usage plan of its own: give --plan"
        )
    else:
        plan = _find_plan(plans, subscriber.usage_plan_id)
    keys = _pages(client, "get_api_keys", "listing API keys")
    if any(k.get("name") == args.name for k in keys):
        raise CommandError(f"an API key named {args.name!r} already exists")
    key = _new_key(client, directory, args.name, subscriber.name, [plan])
    plan_name = plan.get("name", plan["id"])
    return _show_new_key(
        f"created API key {args.name} ({key['id']}) of subscriber {subscriber.name} "
        f"(reads {tenancy.describe_grants(subscriber)}) in usage plan {plan_name}",
        key["value"],
    )


def _retire(client: Any, directory: Directory, key: dict, plans: list[dict]) -> str:
    """Detach ``key`` from ``plans``, disable it and forget its owner; returns the plan names."""
    for plan in plans:
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
    directory.delete(tenancy.KEY_PREFIX + key["id"])
    return ", ".join(p.get("name", p["id"]) for p in plans) or "no plan"


def _rotate(args: argparse.Namespace) -> int:
    client = _client()  # first: "no AWS target" is the error a fresh shell needs to read
    directory = _directory(args)
    old = _find_key(_pages(client, "get_api_keys", "listing API keys"), args.key)
    label = f"{old.get('name', '')} ({old['id']})"
    entry = directory.owner(old["id"])
    subscriber = tenancy.subscriber_of(entry)
    if subscriber is None:
        raise CommandError(
            f"API key {label} belongs to no subscriber; create a key of the right subscriber "
            "with `headwater keys create NAME --subscriber NAME` and revoke this one"
        )
    if entry.get("managed_by", {}).get("S") == "terraform":
        # A key Terraform made would come back at the next apply (it is in the state):
        # Terraform replaces it, and the new id gets its directory entry in the same apply.
        raise CommandError(
            f"API key {label} of subscriber {subscriber} is managed by Terraform: rotate it with "
            f"terraform apply -replace='module.stack.module.api_stage."
            f'aws_api_gateway_api_key.this["{subscriber}"]\' (which retires it at once: to give '
            f"the subscriber time to switch, hand over a second key first with `headwater keys "
            f"create NAME --subscriber {subscriber}`)"
        )
    _, plans_by_key = _plans_by_key(client)
    plans = plans_by_key.get(old["id"], [])
    if not plans:
        raise CommandError(f"API key {label} is in no usage plan (revoked?): nothing to rotate")
    name = old.get("name") or old["id"]
    # The new key takes the name; the old one keeps a dated name until it is deleted.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    retired = f"{name}-rotated-{stamp}"
    rename = "renaming the old key"
    _call(
        rename,
        client.update_api_key,
        apiKey=old["id"],
        patchOperations=[{"op": "replace", "path": "/name", "value": retired}],
    )
    try:
        new = _new_key(client, directory, name, subscriber, plans)
    except Exception:
        _call(
            rename + " back",
            client.update_api_key,
            apiKey=old["id"],
            patchOperations=[{"op": "replace", "path": "/name", "value": name}],
        )
        raise
    if args.grace:
        # The old key stays in its plans; its directory entry says until when the API takes it.
        expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + args.grace
        managed_by = entry.get("managed_by", {}).get("S", MANAGED_BY)
        directory.put(tenancy.key_item(old["id"], subscriber, managed_by, expires))
        until = tenancy.format_instant(expires)
        plan_names = ", ".join(p.get("name", p["id"]) for p in plans)
        return _show_new_key(
            f"rotated API key {name}: new key {new['id']} of subscriber {subscriber} in "
            f"{plan_names}; old key {old['id']} ({retired}) keeps working until {until}, then "
            "the API refuses it (`headwater keys prune` then detaches and disables it)",
            new["value"],
        )
    detached = _retire(client, directory, old, plans)
    return _show_new_key(
        f"rotated API key {name}: new key {new['id']} of subscriber {subscriber} in {detached}; "
        f"old key {old['id']} disabled as {retired}",
        new["value"],
    )


def _prune(args: argparse.Namespace) -> int:
    client = _client()  # first: "no AWS target" is the error a fresh shell needs to read
    directory = _directory(args)
    now = dt.datetime.now(dt.UTC)
    expired = {
        key_id: item
        for key_id, item in directory.key_entries().items()
        if (tenancy.expiry_of(item) or now) < now
    }
    if not expired:
        print("no rotated key has expired")
        return 0
    keys = {k["id"]: k for k in _pages(client, "get_api_keys", "listing API keys")}
    _, plans = _plans_by_key(client)
    for key_id, item in sorted(expired.items()):
        key = keys.get(key_id)
        if key is None:  # deleted by hand: only its entry is left
            directory.delete(item["pk"]["S"])
            print(f"removed the entry of deleted API key {key_id}")
            continue
        detached = _retire(client, directory, key, plans.get(key_id, []))
        until = tenancy.format_instant(tenancy.expiry_of(item))
        print(
            f"pruned API key {key.get('name', '')} ({key_id}), expired {until}: disabled, "
            f"detached from {detached}"
        )
    return 0


def _show_new_key(summary: str, value: str) -> int:
    """The summary to stderr, only the value to stdout (``KEY=$(headwater keys ...)`` captures
    just it), shown this once."""
    print(summary, file=sys.stderr)
    print("its value, shown only this once:", file=sys.stderr)
    print(value)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    client = _client()  # first: "no AWS target" is the error a fresh shell needs to read
    directory = _directory(args)
    key = _find_key(_pages(client, "get_api_keys", "listing API keys"), args.key)
    _, plans = _plans_by_key(client)
    label = f"{key.get('name', '')} ({key['id']})"
    if args.delete:
        _call("deleting the API key", client.delete_api_key, apiKey=key["id"])
        directory.delete(tenancy.KEY_PREFIX + key["id"])
        print(f"deleted API key {label}")
        return 0
    detached = _retire(client, directory, key, plans.get(key["id"], []))
    print(f"revoked API key {label}: disabled, detached from {detached}")
    return 0
