"""Tenancy: who is calling the REST API and what they may read, shared by every API capability.

A *subscriber* is the unit of grants and ownership. Every API key belongs to exactly one
subscriber (Terraform's keys and ``headwater keys create|rotate`` alike); a subscriber is either
``internal`` (the platform's own tools: reads every collection) or ``subscriber`` (reads the
collections it is granted, e.g. lookup datasets).

One denial rule across the API:

* ``require_grant``: a named collection (a dataset) the caller is not granted -> 403, whether
  the collection exists or not (a 404 there would tell which names exist);
* ``require_owner``: an individual item owned by another subscriber -> 404, the same answer as
  an item that does not exist, so existence does not leak.

A key rotated with a grace period (``headwater keys rotate --grace``) keeps working until the
instant its directory entry names (``expires``), then is answered 403 whatever its cache says:
the subscriber has until then to switch to the new key, and no clean-up job has to run on time
for the old one to stop working (``headwater keys prune`` detaches and disables it later).

The directory maps API key ids to subscribers and subscribers to their grants. It is a DynamoDB
table (``modules/platform``), written by Terraform and the ``keys`` CLI, read by the API
functions with ``GetItem`` only. ``Directory`` caches each answer in-process for ``ttl`` seconds
so the hot path costs no AWS call; a revoked grant therefore applies within ``ttl``.

Why a table and not API key tags or a Lambda authorizer: tags would cost every function a call
to API Gateway's control plane (low account-wide rate limits) and hold grants in 256-character
values; an authorizer is one more function invocation per uncached request and one more thing
the local front would have to emulate. A table is one GetItem per key per TTL, written by the
same Terraform that makes the keys, and readable with a grant scoped to it.

This module is pure domain: it imports no AWS SDK; the directory reads through the client it is
given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

INTERNAL = "internal"
SUBSCRIBER = "subscriber"
KINDS = (INTERNAL, SUBSCRIBER)

# Seconds a directory answer is reused by a warm API function (README: "Tenancy").
DEFAULT_TTL = 60.0

# Item layout of the directory table: one string hash key, "pk".
KEY_PREFIX = "key#"
SUBSCRIBER_PREFIX = "subscriber#"
# A key item's end of validity, RFC 3339 UTC (only keys rotated with a grace period have one).
EXPIRES = "expires"


class Denied(Exception):
    """A request the caller may not make: ``status`` 403 or 404, ``message`` for the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's subscriber, whether it is internal, its grants, the key id."""

    subscriber: str
    internal: bool
    grants: frozenset[str]
    key_id: str
    expires: datetime | None = None  # a rotated key's last instant of validity

    def may_read(self, collection: str) -> bool:
        return self.internal or collection in self.grants


def require_grant(caller: Caller, collection: str, kind: str = "dataset") -> None:
    """403 unless ``caller`` may read the named ``collection`` (internal callers read all)."""
    if not caller.may_read(collection):
        raise Denied(403, f"subscriber {caller.subscriber!r} is not granted {kind} {collection!r}")


def require_owner(caller: Caller, owner: str | None, what: str) -> None:
    """404 unless ``caller`` owns the item (``owner`` None: there is no such item).

    Internal callers see every item. The message is the one an absent item gets, word for word,
    so a caller cannot tell someone else's item from a missing one.
    """
    if owner is None or not (caller.internal or owner == caller.subscriber):
        raise Denied(404, f"unknown {what}")


# ---- directory items (one layout for Terraform, the CLI and the API) ---------------------------


def key_item(
    key_id: str, subscriber: str, managed_by: str, expires: datetime | None = None
) -> dict[str, Any]:
    """The DynamoDB item that says API key ``key_id`` belongs to ``subscriber`` (until
    ``expires``, when given)."""
    item = {
        "pk": {"S": KEY_PREFIX + key_id},
        "subscriber": {"S": subscriber},
        "managed_by": {"S": managed_by},
    }
    if expires is not None:
        item[EXPIRES] = {"S": format_instant(expires)}
    return item


def subscriber_of(item: dict[str, Any] | None) -> str | None:
    return item["subscriber"]["S"] if item and "subscriber" in item else None


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_of(item: dict[str, Any] | None) -> datetime | None:
    """A key item's ``expires`` instant; None when it has none. An unreadable value fails
    closed: the key is treated as expired long ago, not as valid for ever."""
    if not item or EXPIRES not in item:
        return None
    try:
        return datetime.strptime(item[EXPIRES]["S"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Subscriber:
    name: str
    kind: str
    grants: frozenset[str]
    usage_plan_id: str | None


def parse_subscriber(item: dict[str, Any]) -> Subscriber:
    """A subscriber item as Terraform writes it (``datasets`` a list, possibly empty)."""
    kind = item.get("kind", {}).get("S")
    if kind not in KINDS:
        # A corrupt or hand-made item must not widen access: fail closed, loudly.
        raise ValueError(
            f"directory item {item['pk']['S']!r} has kind {kind!r}, not one of {KINDS}"
        )
    grants = frozenset(value["S"] for value in item.get("datasets", {}).get("L", []))
    return Subscriber(
        name=item["pk"]["S"].removeprefix(SUBSCRIBER_PREFIX),
        kind=kind,
        grants=grants,
        usage_plan_id=item.get("usage_plan_id", {}).get("S"),
    )


# ---- the directory as the API reads it -------------------------------------------------------


class Directory:
    """Resolve an API key id to its ``Caller`` through the directory table, with a TTL cache.

    ``client`` is a DynamoDB client (only ``get_item`` is called: the API role has nothing
    else on the table). Unknown keys and keys of unknown subscribers are denied (403), never let
    through: the gateway admits any key in a usage plan, the directory decides what it reads.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl
        self._clock = clock
        self._now = now  # wall time, for keys' expiry (the cache runs on the monotonic clock)
        self._cache: dict[str, tuple[float, Caller | Denied]] = {}
        self._lock = threading.Lock()

    def caller(self, key_id: str | None) -> Caller:
        if not key_id:
            # Only reachable when a keyed route is deployed without api_key_required.
            raise Denied(403, "the request carries no API key")
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is None or cached[0] <= now:
            cached = (now + self._ttl, self._resolve(key_id))
            with self._lock:
                self._cache[key_id] = cached
        answer = cached[1]
        if isinstance(answer, Denied):
            raise answer
        if answer.expires is not None and self._now() > answer.expires:
            # Checked on every request, cached or not: the grace ends on time.
            raise Denied(
                403,
                f"API key {key_id} expired at {format_instant(answer.expires)} (it was "
                "rotated); use its replacement",
            )
        return answer

    def _get(self, pk: str) -> dict[str, Any] | None:
        # Consistent read: a key just made by `headwater keys create` is there on first use.
        response = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True
        )
        return response.get("Item")

    def _resolve(self, key_id: str) -> Caller | Denied:
        key = self._get(KEY_PREFIX + key_id)
        name = subscriber_of(key)
        if name is None:
            return Denied(403, f"API key {key_id} belongs to no subscriber; ask for a new key")
        item = self._get(SUBSCRIBER_PREFIX + name)
        if item is None:
            return Denied(403, f"API key {key_id} belongs to unknown subscriber {name!r}")
        subscriber = parse_subscriber(item)
        return Caller(
            subscriber=name,
            internal=subscriber.kind == INTERNAL,
            grants=subscriber.grants,
            key_id=key_id,
            expires=expiry_of(key),
        )


def describe_grants(subscriber: Subscriber) -> str:
    """``all`` for internal subscribers, else the granted datasets (or ``none``)."""
    if subscriber.kind == INTERNAL:
        return "all"
    return ",".join(sorted(subscriber.grants)) or "none"


def names(items: Iterable[dict[str, Any]], prefix: str) -> list[str]:
    return sorted(
        item["pk"]["S"].removeprefix(prefix) for item in items if item["pk"]["S"].startswith(prefix)
    )
