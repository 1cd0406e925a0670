"""The lookup table's layout, and the reads and writes on it.

One DynamoDB table (keys ``pk`` S, ``sk`` S; TTL attribute ``expires_at``) holds every dataset:

- pointer   pk="<dataset>"                    sk="#current"       {version, loaded_at, manifest}
- data      pk="<dataset>#<version>#d#<key>"  sk="part#<nnnn>"    {members: map, parts: n}
- key index pk="<dataset>#<version>#i"        sk="<key>"          {parts: n}
- manifest  pk="<dataset>"                    sk="manifest#<iso>" {manifest}
- registry  pk="<dataset>"                    sk="version#<version>" {registered_at: epoch s}

Collision-proof for any key a CSV holds: dataset names and versions contain no ``#``, so a pk's
first two ``#``-fields are always (dataset, version) and the third tells the kind apart: ``d#``
followed by the key, or exactly ``i``. (The legacy layout, ``<dataset>#<version>#<key>`` next to
``<dataset>#<version>#keys``, let a key named ``keys`` land in the index.) Versions written in the
legacy layout (their ids match ``LEGACY_VERSION``) are still read and retired in it, so a
deployment keeps serving its current version until the next load replaces it.

Versions are immutable once the pointer names them, so a reader that resolves the pointer and
then reads that version's items never sees a mix of two files. A partition larger than one item
(DynamoDB's 400 KB) is split over parts that each carry the part count; a reader that finds
fewer parts than announced, or none, re-reads the pointer (the version may have just been
retired) and tries again on the current one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from headwater import aws
from headwater.lookup.batch import RetryPolicy, WriteStats, batch_write

POINTER_SK = "#current"
PART_PREFIX = "part#"
MANIFEST_PREFIX = "manifest#"
REGISTRY_PREFIX = "version#"
# DynamoDB's item limit is 400 KB (409,600 bytes, attribute names included). Parts are filled up
# to this estimate of the members map, leaving room for the keys and the other attributes.
PART_BUDGET_BYTES = 380_000
MAX_SORT_KEY_BYTES = 1024
_READ_ATTEMPTS = 3

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def pointer_key(dataset: str) -> dict[str, Any]:
    return {"pk": {"S": dataset}, "sk": {"S": POINTER_SK}}


# Version ids of the legacy layout: "20261123T060002123Z-a1b2c3". New ids end in "-k2".
LEGACY_VERSION = re.compile(r"\d{8}T\d{9}Z-[0-9a-f]{6}\Z")


def data_pk(dataset: str, version: str, key: str) -> str:
    if LEGACY_VERSION.match(version):
        return f"{dataset}#{version}#{key}"
    return f"{dataset}#{version}#d#{key}"


def index_pk(dataset: str, version: str) -> str:
    if LEGACY_VERSION.match(version):
        return f"{dataset}#{version}#keys"
    return f"{dataset}#{version}#i"


def part_sk(number: int) -> str:
    return f"{PART_PREFIX}{number:04d}"


class InvalidCursor(ValueError):
    """The list cursor was not produced by list_keys (a client error: HTTP 400)."""


class PointerMoved(Exception):
    """The conditional pointer switch failed: another load switched the dataset first."""


class StoreBusy(RuntimeError):
    """The dataset's version changed under every read attempt (several loads in a row)."""


class VersionGone(Exception):
    """A listing's cursor names a version that is no longer live (HTTP 410: restart it)."""


@dataclass(frozen=True)
class KeyPage:
    version: str
    keys: list[str]
    next_cursor: str | None


_BAD_CURSOR = "cursor is not valid; use the next_cursor of a previous page, or start without one"


def encode_cursor(dataset: str, version: str, after: str) -> str:
    """Opaque to clients; binds the page to its dataset and version (a listing never mixes
    two files, and a cursor cannot be replayed against another dataset)."""
    raw = json.dumps({"d": dataset, "v": version, "after": after}, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, dataset: str) -> tuple[str, str]:
    """(version, last key) of a cursor issued for ``dataset``; InvalidCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
        issued_for, version, after = document["d"], document["v"], document["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor(_BAD_CURSOR) from exc
    if not all(isinstance(v, str) and v for v in (issued_for, version, after)):
        raise InvalidCursor(_BAD_CURSOR)
    if issued_for != dataset:
        # Not named: the cursor may come from someone else's listing.
        raise InvalidCursor("cursor was issued for another dataset; start this one without one")
    return version, after


def attribute_size(value: Mapping[str, Any]) -> int:
    """An upper bound of DynamoDB's size of one serialized attribute value (in bytes)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner) + 1  # DynamoDB packs two digits per byte, plus one: this bounds it
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    raise ValueError(f"unsupported attribute type {kind}")


def split_members(
    members: Mapping[str, Mapping[str, Any]], budget: int = PART_BUDGET_BYTES
) -> list[dict[str, Any]]:
    """Serialized members maps, each within ``budget`` bytes; ValueError names a member too big."""
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    size = 3
    for member, facts in members.items():
        value = _serializer.serialize(dict(facts))
        cost = len(member.encode()) + attribute_size(value) + 1
        if cost + 3 > budget:
            raise ValueError(member)
        if current and size + cost > budget:
            parts.append(current)
            current, size = {}, 3
        current[member] = value
        size += cost
    parts.append(current)
    return parts


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to JSON numbers: integral text stays int, the rest float."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else float(value)  # type: ignore[operator]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: plain(_deserializer.deserialize(v)) for k, v in item.items()}


# How long a reader trusts the pointer it resolved (LookupStore.pointer_ttl). A version is
# immutable and retiring it deletes its items, so a stale pointer only costs the fallback below
# (parts missing -> consistent pointer read); within the window a reader may still answer from
# the version that was live when it last looked, as one that resolved the pointer just before a
# switch would. It halves the requests per lookup (bench/api_bench.py).
POINTER_TTL_SECONDS = 1.0


class LookupStore:
    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        pointer_ttl: float = POINTER_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table_name
        self.client = client or aws.client("dynamodb")
        self.pointer_ttl = pointer_ttl
        self._clock = clock
        self._live: dict[str, tuple[str, float]] = {}  # dataset -> (version, read at)

    # ---- reads ---------------------------------------------------------------------------

    def pointer(self, dataset: str, consistent: bool = False) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key=pointer_key(dataset), ConsistentRead=consistent
        ).get("Item")
        return deserialize(item) if item else None

    def current_version(self, dataset: str, consistent: bool = False) -> str | None:
        pointer = self.pointer(dataset, consistent)
        return pointer["version"] if pointer else None

    def live_version(self, dataset: str) -> str | None:
        """The current version as read at most ``pointer_ttl`` seconds ago (an unknown dataset
        is never remembered: it may be loaded any moment)."""
        now = self._clock()
        cached = self._live.get(dataset)
        if cached is not None and now - cached[1] < self.pointer_ttl:
            return cached[0]
        version = self.current_version(dataset)
        self._remember(dataset, version, now)
        return version

    def _remember(self, dataset: str, version: str | None, read_at: float) -> None:
        if version is None or self.pointer_ttl <= 0:
            self._live.pop(dataset, None)
        else:
            self._live[dataset] = (version, read_at)

    def get_partition(self, dataset: str, key: str) -> dict[str, Any] | None:
        version = self.live_version(dataset)
        for attempt in range(_READ_ATTEMPTS):
            if version is None:
                return None
            members = self._read_parts(dataset, version, key, consistent=attempt > 0)
            if members is not None:
                return {"dataset": dataset, "key": key, "version": version, "members": members}
            # Absent or incomplete: either the key is not in this version, or the version was
            # retired after we resolved the pointer. A consistent pointer read tells them apart.
            read_at = self._clock()
            latest = self.current_version(dataset, consistent=True)
            self._remember(dataset, latest, read_at)
            if latest == version and not self._retiring(dataset, version, key):
                return None
            version = latest
        raise StoreBusy(f"dataset {dataset!r} changed version during {_READ_ATTEMPTS} reads")

    def get_member(self, dataset: str, key: str, member: str) -> dict[str, Any] | None:
        partition = self.get_partition(dataset, key)
        if partition is None or member not in partition["members"]:
            return None
        return {
            "dataset": dataset,
            "key": key,
            "member": member,
            "version": partition["version"],
            "facts": partition["members"][member],
        }

    def list_keys(
        self, dataset: str, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[str], str | None]:
        """(keys, next cursor) of one page; see ``list_page``."""
        page = self.list_page(dataset, limit, cursor)
        return (page.keys, page.next_cursor) if page else ([], None)

    def list_page(
        self, dataset: str, limit: int = 100, cursor: str | None = None
    ) -> KeyPage | None:
        """One page of keys in order, None for an unknown dataset.

        A listing stays on the version its first page read: its cursor names that version, and
        a page is served only while the version is still live (a consistent pointer read after
        the query: retirement starts after the switch, so an index still live was whole when
        queried). Once a newer version is live, VersionGone: the client restarts the listing.
        """
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        if cursor:
            version, after = decode_cursor(cursor, dataset)
            keys, more = self._index_page(dataset, version, after, limit)
            if self.current_version(dataset, consistent=True) != version:
                raise VersionGone(
                    f"dataset {dataset!r} was replaced since this listing started; "
                    "restart it without a cursor"
                )
            return KeyPage(
                version, keys, encode_cursor(dataset, version, keys[-1]) if more else None
            )
        current = self.current_version(dataset)
        for _ in range(_READ_ATTEMPTS):
            if current is None:
                return None
            keys, more = self._index_page(dataset, current, None, limit)
            latest = self.current_version(dataset, consistent=True)
            if latest == current:
                next_cursor = encode_cursor(dataset, current, keys[-1]) if more else None
                return KeyPage(current, keys, next_cursor)
            current = latest  # replaced meanwhile: its index may be half deleted, read the new
        raise StoreBusy(f"dataset {dataset!r} changed version during {_READ_ATTEMPTS} reads")

    def _index_page(
        self, dataset: str, version: str, after: str | None, limit: int
    ) -> tuple[list[str], bool]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": index_pk(dataset, version)}},
            "ProjectionExpression": "sk",
            "Limit": limit + 1,  # one more than asked: tells whether another page exists
        }
        if after is not None:
            request["ExclusiveStartKey"] = {
                "pk": {"S": index_pk(dataset, version)},
                "sk": {"S": after},
            }
        items = self.client.query(**request).get("Items", [])
        return [item["sk"]["S"] for item in items[:limit]], len(items) > limit

    def datasets(self) -> list[str]:
        """Datasets with a current version. A filtered scan: for operators, not the hot path."""
        names: list[str] = []
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table,
            FilterExpression="sk = :current",
            ExpressionAttributeValues={":current": {"S": POINTER_SK}},
            ProjectionExpression="pk",
        ):
            names.extend(item["pk"]["S"] for item in page.get("Items", []))
        return sorted(names)

    def manifests(self, dataset: str, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent load manifests, newest first."""
        items = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": dataset}, ":prefix": {"S": MANIFEST_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
        ).get("Items", [])
        return [deserialize(item)["manifest"] for item in items]

    def version_keys(self, dataset: str, version: str) -> Iterator[tuple[str, int]]:
        """(key, parts) of every partition in ``version``, from its key index."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": index_pk(dataset, version)}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                yield item["sk"]["S"], int(item["parts"]["N"])

    def _read_parts(
        self, dataset: str, version: str, key: str, consistent: bool
    ) -> dict[str, Any] | None:
        # Nearly every partition fits one item: a GetItem of the first part answers with one
        # request (and the cheapest read); only a split partition queries for the others.
        pk = data_pk(dataset, version, key)
        first = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": pk}, "sk": {"S": part_sk(0)}},
            ConsistentRead=consistent,
        ).get("Item")
        if first is None:
            return None
        expected = int(first["parts"]["N"])
        members: dict[str, Any] = deserialize(first["members"]["M"])
        if expected == 1:
            return members
        found = 1
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :after AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": pk},
                ":after": {"S": part_sk(1)},
                ":last": {"S": PART_PREFIX + "\uffff"},
            },
            ConsistentRead=consistent,
        ):
            for item in page.get("Items", []):
                found += 1
                expected = int(item["parts"]["N"])
                members.update(deserialize(item["members"]["M"]))
        if found != expected:
            return None
        return members

    def _retiring(self, dataset: str, version: str, key: str) -> bool:
        """Whether some but not all parts exist (a delete in progress): worth another read."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": data_pk(dataset, version, key)}},
            Select="COUNT",
            ConsistentRead=True,
        )
        return response.get("Count", 0) > 0

    # ---- writes (the loader's) -------------------------------------------------------------

    def put_version(
        self,
        dataset: str,
        version: str,
        partitions: Iterable[tuple[str, list[dict[str, Any]]]],
        written: list[tuple[str, int]],
        policy: RetryPolicy | None = None,
        stats: WriteStats | None = None,
    ) -> WriteStats:
        """Write each (key, serialized member parts) and its index entry.

        ``written`` receives (key, parts) as requests are generated, so a caller cleaning up
        after a failure knows every item that may exist.
        """

        def requests() -> Iterator[dict[str, Any]]:
            for key, parts in partitions:
                written.append((key, len(parts)))
                count = {"N": str(len(parts))}
                for number, members in enumerate(parts):
                    item = {
                        "pk": {"S": data_pk(dataset, version, key)},
                        "sk": {"S": part_sk(number)},
                        "members": {"M": members},
                        "parts": count,
                    }
                    yield {"PutRequest": {"Item": item}}
                index = {"pk": {"S": index_pk(dataset, version)}, "sk": {"S": key}, "parts": count}
                yield {"PutRequest": {"Item": index}}

        return batch_write(self.client, self.table, requests(), policy, stats)

    def delete_version(
        self,
        dataset: str,
        version: str,
        keys: Iterable[tuple[str, int]],
        policy: RetryPolicy | None = None,
        stats: WriteStats | None = None,
    ) -> WriteStats:
        """Delete the data items and index entries of ``keys`` ((key, parts)) in ``version``.

        Data first, index entry last: an interrupted delete leaves every remaining item
        reachable from the index, so a later retire can finish it.
        """

        def requests() -> Iterator[dict[str, Any]]:
            for key, parts in keys:
                for number in range(parts):
                    yield {
                        "DeleteRequest": {
                            "Key": {
                                "pk": {"S": data_pk(dataset, version, key)},
                                "sk": {"S": part_sk(number)},
                            }
                        }
                    }
                yield {
                    "DeleteRequest": {
                        "Key": {"pk": {"S": index_pk(dataset, version)}, "sk": {"S": key}}
                    }
                }

        return batch_write(self.client, self.table, requests(), policy, stats)

    def stamp_expiry(
        self, dataset: str, version: str, keys: Iterable[tuple[str, int]], expires_at: int
    ) -> int:
        """Set the TTL backstop on a retiring version's items; returns the UpdateItem count."""
        calls = 0
        for key, parts in keys:
            targets = [(data_pk(dataset, version, key), part_sk(n)) for n in range(parts)]
            targets.append((index_pk(dataset, version), key))
            for pk, sk in targets:
                self._stamp(pk, sk, expires_at)
                calls += 1
        return calls

    def _stamp(self, pk: str, sk: str, expires_at: int) -> None:
        # A key already gone needs no stamp; without the condition the update would create it.
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="SET expires_at = :t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":t": {"N": str(expires_at)}},
            )

    def switch_pointer(
        self,
        dataset: str,
        version: str,
        previous: str | None,
        loaded_at: str,
        manifest: Mapping[str, Any],
        upload_order: str | None = None,
    ) -> None:
        """Make ``version`` current if the pointer still names ``previous`` (None: no pointer)
        and, given ``upload_order``, only if it is later than the live one's (a pointer written
        before upload orders existed has none: any order replaces it)."""
        item = {
            **pointer_key(dataset),
            "version": {"S": version},
            "loaded_at": {"S": loaded_at},
            "manifest": _serializer.serialize(_dynamo_value(manifest)),
        }
        values: dict[str, Any] = {}
        if previous is None:
            expression = "attribute_not_exists(pk)"
        else:
            expression = "version = :previous"
            values[":previous"] = {"S": previous}
        if upload_order is not None:
            item["upload_order"] = {"S": upload_order}
            # Redundant with the loader's check of the pointer it read, and meant to be: the
            # pointer never moves backwards, whatever a caller read.
            expression += " AND (attribute_not_exists(upload_order) OR upload_order < :order)"
            values[":order"] = {"S": upload_order}
        condition: dict[str, Any] = {"ConditionExpression": expression}
        if values:
            condition["ExpressionAttributeValues"] = values
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise PointerMoved(f"dataset {dataset!r} was switched by another load") from exc

    def register_version(self, dataset: str, version: str, registered_at: int) -> None:
        """Record a version before its first item is written: a load that dies mid-write leaves
        this entry, and a later load's sweep finds and deletes the version from it."""
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": dataset},
                "sk": {"S": f"{REGISTRY_PREFIX}{version}"},
                "registered_at": {"N": str(registered_at)},
            },
        )

    def unregister_version(self, dataset: str, version: str) -> None:
        """Forget a version whose items are all deleted (delete the entry last, never first)."""
        self.client.delete_item(
            TableName=self.table,
            Key={"pk": {"S": dataset}, "sk": {"S": f"{REGISTRY_PREFIX}{version}"}},
        )

    def registered_versions(self, dataset: str) -> list[tuple[str, int]]:
        """(version, registered_at) of every version not yet retired, live one included."""
        paginator = self.client.get_paginator("query")
        found: list[tuple[str, int]] = []
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": dataset}, ":prefix": {"S": REGISTRY_PREFIX}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                version = item["sk"]["S"][len(REGISTRY_PREFIX) :]
                found.append((version, int(item["registered_at"]["N"])))
        return found

    def put_manifest(self, dataset: str, recorded_at: str, manifest: Mapping[str, Any]) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": dataset},
                "sk": {"S": f"{MANIFEST_PREFIX}{recorded_at}"},
                "manifest": _serializer.serialize(_dynamo_value(manifest)),
            },
        )


def _dynamo_value(value: Any) -> Any:
    """JSON-like values into what TypeSerializer accepts (floats are not: Decimal instead)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_dynamo_value(v) for v in value]
    return value
