"""Load one lookup CSV as a new version of its dataset, then make it the current one.

Steps: stream and validate the CSV, grouping rows by partition key; write the new version's
items (BatchWriteItem, retried); switch the dataset's pointer with a condition on the version it
replaced (two concurrent loads cannot both win) and only forward in upload order (S3's event time,
then the sequencer for the same key: a replayed or late event of an older upload is SKIPPED, and a
newer upload that loses a race re-reads the pointer and tries again); retire the old version
(explicit deletes, a TTL stamp as the backstop if they fail). Readers resolve the pointer first,
so they see the old file or the new one, never a mix. A failed load leaves the pointer untouched
and deletes what it wrote.

Memory: rows are grouped per partition key before anything is written, because a CSV need not be
sorted by it; the bound is therefore the parsed file (about 1 KB of Python objects per row of the
sample dataset: 100,000 rows fit easily in a 1 GB function). Files far larger than the function's
memory would need an external sort first; lookup files are meant to be reference data.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from headwater.contracts.rows import RowValidator
from headwater.contracts.rules import (
    DUPLICATE_KEY,
    EMPTY_FILE,
    ENCODING,
    MALFORMED,
    MISSING_COLUMN,
    TYPE_MISMATCH,
    UNKNOWN_DATASET,
    UNSUPPORTED_FORMAT,
    ContractViolation,
)
from headwater.contracts.stream import CheckedStream
from headwater.lookup.batch import RetryPolicy, WriteStats
from headwater.lookup.contracts import DATASET_NAME, LookupContract
from headwater.lookup.rules import KEY_TOO_LONG, MEMBER_TOO_LARGE, SLASH_IN_KEY
from headwater.lookup.store import (
    MAX_SORT_KEY_BYTES,
    PART_BUDGET_BYTES,
    LookupStore,
    PointerMoved,
    split_members,
)

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"
# How long a retiring version's items may survive if its explicit delete is interrupted.
TTL_BACKSTOP_SECONDS = 24 * 3600
# A registered version older than this, and not live, belongs to a load that died: no load runs
# longer than Lambda's 15-minute maximum, so after an hour nobody is still writing it.
SWEEP_AFTER_SECONDS = 3600
_epoch = time.time  # module-level so tests can move the clock


@dataclass(frozen=True)
class Source:
    bucket: str
    key: str
    version_id: str | None = None
    event_time: str | None = None  # the EventBridge event's time (when S3 created the object)
    sequencer: str | None = None  # detail.object.sequencer: orders events of this key only


@dataclass
class Parsed:
    rows: int = 0
    partitions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOutcome:
    status: str  # SUCCEEDED, FAILED or SKIPPED (an older upload than the live one)
    manifest: dict[str, Any]
    failure: ContractViolation | None = None


def dataset_of(key: str, lookup_prefix: str) -> str:
    """``lookup/<dataset>/<anything>.csv`` -> dataset; a violation for keys outside the layout."""
    relative = key[len(lookup_prefix) :] if key.startswith(lookup_prefix) else None
    if not relative or "/" not in relative:
        raise ContractViolation(
            UNKNOWN_DATASET, f"key {key!r} is not under {lookup_prefix}<dataset>/ (the layout)"
        )
    return relative.split("/", 1)[0]


def new_version(now: dt.datetime) -> str:
    # Sortable by load time; the random suffix keeps two loads in the same millisecond apart;
    # "-k2" marks the collision-proof key layout (store.LEGACY_VERSION is the old one). No "#":
    # the store's keys rely on it.
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}-k2"


def iso(now: dt.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- parsing and validation ----------------------------------------------------------------


def parse_csv(body: Any, lookup: LookupContract) -> Parsed:
    """Validate the whole file and group it: {partition key: {member key: facts}}."""
    stream = CheckedStream(body, header_lines=1)
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", newline="")
    try:
        return _parse(csv.reader(text, strict=True), lookup, stream)
    except UnicodeDecodeError as exc:
        raise ContractViolation(ENCODING, f"not valid UTF-8: {exc.reason}") from None
    finally:
        stream.close()


def _parse(reader: Iterator[list[str]], lookup: LookupContract, stream: CheckedStream) -> Parsed:
    validator = RowValidator(lookup.contract, text_values=True)
    row = 0
    try:
        header = next(reader, None)
        if header is None:
            raise ContractViolation(
                EMPTY_FILE,
                "the file is zero bytes" if not stream.bytes_read else "the file has no header",
            )
        _check_header(header, lookup, validator)
        parsed = Parsed()
        facts_columns = lookup.fact_columns
        for fields in reader:
            row += 1
            if not fields:
                continue  # blank line (e.g. a trailing newline written twice)
            if len(fields) != len(header):
                raise ContractViolation(
                    MALFORMED, f"expected {len(header)} fields, found {len(fields)}", row=row
                )
            record = validator.convert(dict(zip(header, fields, strict=True)), row)
            key, member = record[lookup.partition_key], record[lookup.member_key]
            if len(key.encode()) > MAX_SORT_KEY_BYTES:
                raise ContractViolation(
                    KEY_TOO_LONG,
                    f"partition key longer than {MAX_SORT_KEY_BYTES} bytes",
                    row=row,
                    column=lookup.partition_key,
                )
            for column, value in ((lookup.partition_key, key), (lookup.member_key, member)):
                if "/" in value:
                    raise ContractViolation(
                        SLASH_IN_KEY,
                        f"{value!r} contains '/', which no API request can address",
                        row=row,
                        column=column,
                    )
            members = parsed.partitions.setdefault(key, {})
            if member in members:
                raise ContractViolation(
                    DUPLICATE_KEY,
                    f"member {member!r} appears twice in partition {key!r}",
                    row=row,
                    column=lookup.member_key,
                )
            members[member] = {name: _stored(record[name], row, name) for name in facts_columns}
            parsed.rows += 1
    except csv.Error as exc:
        raise ContractViolation(MALFORMED, f"CSV syntax: {exc}", row=row + 1) from None
    if parsed.rows == 0:
        raise ContractViolation(EMPTY_FILE, "the file has no data rows")
    return parsed


def _check_header(header: list[str], lookup: LookupContract, validator: RowValidator) -> None:
    for key_column in (lookup.partition_key, lookup.member_key):
        if key_column not in header:
            raise ContractViolation(
                MISSING_COLUMN, f"key column {key_column!r} is missing", column=key_column
            )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ContractViolation(
                MALFORMED, f"column {name!r} appears twice in the header", column=name
            )
        seen.add(name)
    validator.check_names(header, row=None)
    missing = [c.name for c in lookup.contract.required() if c.name not in header]
    if missing:
        raise ContractViolation(
            MISSING_COLUMN, f"required column {missing[0]!r} is missing", column=missing[0]
        )


def _stored(value: Any, row: int, column: str) -> Any:
    """A typed CSV value as DynamoDB stores it (JSON-friendly on the way out)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ContractViolation(TYPE_MISMATCH, f"{value} is not a finite number", row, column)
        return Decimal(repr(value))
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# ---- the load ------------------------------------------------------------------------------


def load_lookup(
    *,
    s3: Any,
    store: LookupStore,
    source: Source,
    lookups: Mapping[str, LookupContract],
    lookup_prefix: str = "lookup/",
    policy: RetryPolicy | None = None,
    ttl_backstop: bool = True,
    part_budget: int = PART_BUDGET_BYTES,
) -> LoadOutcome:
    """Load ``source``; a contract failure returns a FAILED outcome, an upload older than the
    live one a SKIPPED outcome, AWS errors (and a race lost too often) propagate."""
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    policy = policy or RetryPolicy()
    manifest: dict[str, Any] = {
        "dataset": None,
        "version": None,
        "source": {"bucket": source.bucket, "key": source.key, "version_id": source.version_id},
        "rows": 0,
        "keys_written": 0,
        "keys_deleted": 0,
        "duration_ms": 0,
        "status": FAILED,
    }
    stats = WriteStats()
    try:
        dataset = dataset_of(source.key, lookup_prefix)
        manifest["dataset"] = dataset
        lookup = lookups.get(dataset)
        if lookup is None:
            raise ContractViolation(
                UNKNOWN_DATASET, f"no lookup contract declares dataset {dataset!r}"
            )
        if PurePosixPath(source.key).suffix.lower() != ".csv":
            raise ContractViolation(UNSUPPORTED_FORMAT, "lookup files must be CSV (.csv)")
        body = _open(s3, source)
        order = upload_order(source, body.get("LastModified"), now)
        manifest["upload_order"] = order
        pointer = store.pointer(dataset, consistent=True)
        if not _is_newer(order, pointer):  # a replay or a late retry: nothing to write
            return _skipped(store, manifest, pointer, started)
        parsed = parse_csv(body["Body"], lookup)
        manifest["rows"] = parsed.rows
        version = new_version(now)
        manifest["version"] = version
        store.register_version(dataset, version, int(_epoch()))
        _write_version(store, dataset, version, parsed, policy, stats, part_budget)
        manifest["keys_written"] = len(parsed.partitions)
        for attempt in range(SWITCH_ATTEMPTS):
            if attempt:  # another load switched between our read and our switch: look again
                policy.sleep(policy.delay(attempt))
                pointer = store.pointer(dataset, consistent=True)
                if not _is_newer(order, pointer):
                    _discard(store, dataset, version, policy)
                    return _skipped(store, manifest, pointer, started)
            previous = pointer["version"] if pointer else None
            old_keys = list(store.version_keys(dataset, previous)) if previous else []
            manifest["previous_version"] = previous
            manifest["keys_deleted"] = sum(1 for k, _ in old_keys if k not in parsed.partitions)
            manifest.update(status=SUCCEEDED, duration_ms=_elapsed(started))
            manifest["batch_write_calls"] = stats.calls
            try:
                store.switch_pointer(dataset, version, previous, iso(now), manifest, order)
                break
            except PointerMoved:
                manifest["status"] = FAILED
                continue
        else:
            # Still newer than what is live, yet every switch lost a race: raise, so the
            # EventBridge target's retry policy runs the whole load again later.
            _discard(store, dataset, version, policy)
            raise LoadRaced(
                f"dataset {dataset!r}: {SWITCH_ATTEMPTS} pointer switches lost to other loads"
            )
        stale = (pointer or {}).get("manifest", {}).get("previous_version")
        # The new version is live: a retirement that fails does not fail the load. It is
        # reported in the manifest (the handler logs and counts it) and finished later.
        leftovers = [_retire(store, dataset, previous, old_keys, policy, stats, ttl_backstop)]
        if stale:  # a version whose retire was interrupted last time
            leftovers.append(_retire(store, dataset, stale, None, policy, stats, ttl_backstop))
        retired = {v for v, r in zip((previous, stale), leftovers, strict=False) if v and not r}
        leftovers.extend(_sweep(store, dataset, version, retired, policy, stats, ttl_backstop))
        incomplete = [report for report in leftovers if report is not None]
        if incomplete:
            manifest["retirement_incomplete"] = incomplete
        manifest.update(duration_ms=_elapsed(started), batch_write_calls=stats.calls)
        store.put_manifest(dataset, iso(dt.datetime.now(dt.UTC)), manifest)
        return LoadOutcome(SUCCEEDED, manifest)
    except ContractViolation as failure:
        manifest.update(
            status=FAILED,
            duration_ms=_elapsed(started),
            keys_written=0,
            keys_deleted=0,
            error=failure.report(),
        )
        # Undeclared datasets too: `lookup publish --wait` then ends with the reason. Only a
        # valid dataset name becomes a pk (names carry no "#", the store's keys rely on it).
        if manifest["dataset"] and DATASET_NAME.match(manifest["dataset"]):
            store.put_manifest(manifest["dataset"], iso(dt.datetime.now(dt.UTC)), manifest)
        return LoadOutcome(FAILED, manifest, failure)


class LoadRaced(RuntimeError):
    """A newer upload's switch kept losing to concurrent loads: retried by the target."""


SWITCH_ATTEMPTS = 5


def upload_order(source: Source, last_modified: Any, now: dt.datetime) -> str:
    """A string that sorts uploads as S3 made them: event time, then (same key only) sequencer.

    ``<time>|<sha256 of key>|<sequencer left-padded to 64>``: the time comes first; the key's
    hash only makes ties between different keys deterministic (their sequencers cannot be
    compared, and any order is as good); for the same key and second the sequencer decides, left
    padded with zeros as S3's documentation prescribes. Without an event time (a direct call)
    the object's LastModified stands in; without a sequencer, ties go to the later load (the
    processing time), as before this order existed.
    """
    when = _utc(source.event_time) if source.event_time else _utc(last_modified or now)
    digest = hashlib.sha256(source.key.encode()).hexdigest()
    # "~" sorts after any hex digit: a load without a sequencer wins a tie.
    padded = source.sequencer.upper().rjust(64, "0") if source.sequencer else None
    tie = padded or "0" * 64 + "~" + iso(now)
    return f"{iso(when)}|{digest}|{tie}"


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ContractViolation(
                MALFORMED, f"the event time {value!r} is not an ISO 8601 time"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _is_newer(order: str, pointer: Mapping[str, Any] | None) -> bool:
    """Whether this upload may replace what is live (a pointer of before upload orders: yes)."""
    live = (pointer or {}).get("upload_order")
    return live is None or order > live


def _skipped(
    store: LookupStore, manifest: dict[str, Any], pointer: Mapping[str, Any] | None, started: float
) -> LoadOutcome:
    live = (pointer or {}).get("manifest", {}).get("source", {})
    manifest.update(
        status=SKIPPED,
        version=None,
        keys_written=0,
        keys_deleted=0,
        duration_ms=_elapsed(started),
        live_version=(pointer or {}).get("version"),
        reason=(
            f"a newer upload ({live.get('key')}, order {(pointer or {}).get('upload_order')}) "
            "is already live; this older one is not loaded"
        ),
    )
    store.put_manifest(manifest["dataset"], iso(dt.datetime.now(dt.UTC)), manifest)
    return LoadOutcome(SKIPPED, manifest)


def _open(s3: Any, source: Source) -> Any:
    extra = {"VersionId": source.version_id} if source.version_id else {}
    return s3.get_object(Bucket=source.bucket, Key=source.key, **extra)


def _write_version(
    store: LookupStore,
    dataset: str,
    version: str,
    parsed: Parsed,
    policy: RetryPolicy | None,
    stats: WriteStats,
    part_budget: int,
) -> None:
    written: list[tuple[str, int]] = []

    def partitions() -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for key, members in parsed.partitions.items():
            try:
                yield key, split_members(members, part_budget)
            except ValueError as exc:
                raise ContractViolation(
                    MEMBER_TOO_LARGE,
                    f"member {exc} of partition {key!r} alone exceeds one item "
                    f"({part_budget} bytes)",
                ) from None

    try:
        store.put_version(dataset, version, partitions(), written, policy, stats)
    except BaseException:
        # Never leave a partial version behind; the pointer was not touched. Should this delete
        # fail too, the registry entry stays and a later load's sweep finishes the job.
        store.delete_version(dataset, version, written, policy)
        store.unregister_version(dataset, version)
        raise


def _discard(store: LookupStore, dataset: str, version: str, policy: RetryPolicy | None) -> None:
    store.delete_version(dataset, version, list(store.version_keys(dataset, version)), policy)
    store.unregister_version(dataset, version)


def _sweep(
    store: LookupStore,
    dataset: str,
    live: str,
    retired: set[str],
    policy: RetryPolicy | None,
    stats: WriteStats,
    ttl_backstop: bool,
) -> list[dict[str, Any] | None]:
    """Unregister the versions this load ``retired``; retire registered versions that are not
    live and old enough to be abandoned (a load that crashed or timed out mid-write, a retirement
    that failed). One query per load and no cost per item unless something was abandoned: items
    stamped with expires_at at write time would cost an UpdateItem per live item at each switch.
    A recent version may belong to a load still running: the next load's sweep decides."""
    reports: list[dict[str, Any] | None] = []
    cutoff = int(_epoch()) - SWEEP_AFTER_SECONDS
    for version, registered_at in store.registered_versions(dataset):
        if version == live or (version not in retired and registered_at > cutoff):
            continue
        if version not in retired:
            report = _retire(store, dataset, version, None, policy, stats, ttl_backstop)
            reports.append(report)
            if report is not None:
                continue  # left registered: swept again by the next load
        store.unregister_version(dataset, version)
    return reports


def _retire(
    store: LookupStore,
    dataset: str,
    version: str | None,
    keys: list[tuple[str, int]] | None,
    policy: RetryPolicy | None,
    stats: WriteStats,
    ttl_backstop: bool,
) -> dict[str, Any] | None:
    """Delete an old version's items; None when done, else a report of what was left and why.

    Never raises for a failed delete or stamp: the caller's version is already live, so the load
    succeeded; the report goes into its manifest (and the handler's log line and metrics).
    """
    if version is None:
        return None
    try:
        if keys is None:
            keys = list(store.version_keys(dataset, version))
        if not keys:
            return None
        store.delete_version(dataset, version, keys, policy, stats)
        return None
    except Exception as exc:
        report: dict[str, Any] = {
            "version": version,
            "keys": len(keys or []),
            "error": _describe(exc),
            "ttl_backstop": "off",
        }
    # The next load retires leftovers too (the pointer keeps the previous version); TTL is
    # the backstop should no load follow. Stamping only on failure: stamping every retiring
    # item up front cost one UpdateItem per item, 5x the load itself (bench/lookup_bench.py).
    if ttl_backstop and keys:
        try:
            expires = int(time.time()) + TTL_BACKSTOP_SECONDS
            store.stamp_expiry(dataset, version, keys, expires)
            report["ttl_backstop"] = "stamped"
        except Exception as exc:
            # E.g. AccessDenied when the role lacks dynamodb:UpdateItem: must be seen, not hidden.
            report["ttl_backstop"] = f"failed: {_describe(exc)}"
    return report


def _describe(exc: BaseException) -> str:
    """One line for a manifest: the AWS error code when there is one, never a traceback."""
    error = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
    code = error.get("Code") if isinstance(error, dict) else None
    return f"{code or type(exc).__name__}: {error.get('Message') if code else exc}"


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
