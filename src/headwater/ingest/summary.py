"""Account for every file a feed sent: curated, quarantined, in the DLQ, or still pending.

Domain logic only (no argument parsing, no printing): ``headwater ingest summary`` in
``headwater.cli.ingest`` reads the feeder's manifest and the environment's Terraform outputs,
waits with ``wait_for`` and prints ``render``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from headwater.ingest import dlq

CURATED, QUARANTINED, DLQ, PENDING = "curated", "quarantined", "dlq", "pending"


@dataclass
class FileState:
    key: str
    version: str | None  # the version id (or ETag) this feed uploaded: earlier runs do not count
    expected: str
    expected_rule: str | None
    expected_rows: int | None
    state: str = PENDING
    rule: str | None = None
    rows: int | None = None
    location: str | None = None

    @property
    def as_expected(self) -> bool:
        if self.state != self.expected:
            return False
        if self.state == QUARANTINED and self.expected_rule:
            return self.rule == self.expected_rule
        if self.state == CURATED and self.expected_rows is not None and self.rows is not None:
            return self.rows == self.expected_rows
        return True


@dataclass
class Places:
    raw_bucket: str
    curated_bucket: str
    quarantine_bucket: str
    dlq_url: str | None = None
    delivery_dlq_url: str | None = None  # events that never reached the work queue

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Places:
        """Terraform ``output -json`` (values wrapped in {"value": ...}) or a plain mapping."""

        def get(name: str) -> Any:
            value = outputs.get(name)
            return value.get("value") if isinstance(value, dict) else value

        missing = [n for n in ("raw_bucket", "curated_bucket", "quarantine_bucket") if not get(n)]
        if missing:
            raise ValueError(f"outputs lack {', '.join(missing)}: is the environment deployed?")
        return cls(
            get("raw_bucket"),
            get("curated_bucket"),
            get("quarantine_bucket"),
            get("dlq_url"),
            get("delivery_dlq_url"),
        )


@dataclass
class Ledger:
    files: list[FileState]
    places: Places
    _curated_index: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], places: Places) -> Ledger:
        files = [
            FileState(
                key=entry["key"],
                version=entry.get("version_id") or (entry.get("etag") or "").strip('"') or None,
                expected=entry["outcome"],
                expected_rule=entry.get("rule"),
                expected_rows=entry.get("rows"),
            )
            for entry in manifest["files"]
        ]
        return cls(files, places)

    @property
    def pending(self) -> list[FileState]:
        return [f for f in self.files if f.state == PENDING]

    def refresh(self, s3: Any, sqs: Any) -> None:
        """Look up every pending file once: quarantine report, curated object, DLQ message."""
        pending = self.pending
        if not pending:
            return
        self._curated_index = _curated_index(s3, self.places.curated_bucket)
        in_dlq: set[str] = set()
        for url in filter(None, (self.places.dlq_url, self.places.delivery_dlq_url)):
            in_dlq |= _dlq_keys(sqs, url)
        for item in pending:
            found = _quarantine_report(s3, self.places.quarantine_bucket, item)
            if found is not None:
                report_key, report = found
                item.state, item.rule = QUARANTINED, report.get("rule")
                item.location = f"s3://{self.places.quarantine_bucket}/{report_key}"
                continue
            curated = self._find_curated(s3, item)
            if curated is not None:
                item.state, item.location = CURATED, f"s3://{self.places.curated_bucket}/{curated}"
                item.rows = _parquet_rows(s3, self.places.curated_bucket, curated)
                continue
            if item.key in in_dlq:
                item.state = DLQ
                item.location = self.places.dlq_url

    def _find_curated(self, s3: Any, item: FileState) -> str | None:
        # Output names end in "<stem>-<version id or ETag>.parquet".
        stem = PurePosixPath(item.key).stem
        versions = (
            [item.version] if item.version else _versions(s3, self.places.raw_bucket, item.key)
        )
        for version in versions:
            found = self._curated_index.get(f"{stem}-{version}.parquet")
            if found:
                return found
        return None


def _same_version(item: FileState, source: dict[str, Any]) -> bool:
    """A report is this feed's when it names the uploaded version (or ETag)."""
    if not item.version:
        return True
    reported = source.get("version_id") or (source.get("etag") or "").strip('"')
    return reported == item.version


def _curated_index(s3: Any, bucket: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            index[PurePosixPath(obj["Key"]).name] = obj["Key"]
    return index


def _versions(s3: Any, bucket: str, key: str) -> Iterable[str]:
    response = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for version in response.get("Versions", []):
        if version["Key"] == key:
            yield version["VersionId"]
            yield version["ETag"].strip('"')  # unversioned buckets name outputs by ETag


def _quarantine_report(s3: Any, bucket: str, item: FileState) -> tuple[str, dict[str, Any]] | None:
    """The report of this version (reports are per version: ``reports/<key>/<tag>.json``); with
    no version known, any report of the key."""
    if item.version:
        candidates = [f"reports/{item.key}/{item.version}.json"]
    else:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"reports/{item.key}/")
        candidates = sorted(o["Key"] for o in listed.get("Contents", []))
    for report_key in candidates:
        try:
            body = s3.get_object(Bucket=bucket, Key=report_key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                continue
            raise
        report = json.loads(body)
        if _same_version(item, report.get("source", {})):
            return report_key, report
    return None


def _parquet_rows(s3: Any, bucket: str, key: str) -> int | None:
    head = s3.head_object(Bucket=bucket, Key=key)
    rows = head.get("Metadata", {}).get("rows")
    return int(rows) if rows and rows.isdigit() else None


def _dlq_keys(sqs: Any, queue_url: str) -> set[str]:
    """Raw keys named by the messages parked in the DLQ (left in place: see ``dlq.peek``)."""
    return {m.key for m in dlq.peek(sqs, queue_url).messages if m.key}


def render(ledger: Ledger) -> str:
    """The summary table, plus where the outputs are and any file that surprised us."""
    counts = Counter(f.state for f in ledger.files)
    rules = Counter(f.rule for f in ledger.files if f.state == QUARANTINED)
    rows = sum(f.rows or 0 for f in ledger.files if f.state == CURATED)
    places = ledger.places
    lines = [
        "",
        f"{'files sent':<24}{len(ledger.files):>8}",
        f"{'curated':<24}{counts[CURATED]:>8}   ({rows} rows)",
        f"{'quarantined':<24}{counts[QUARANTINED]:>8}",
        *(f"{'  ' + str(rule):<24}{n:>8}" for rule, n in sorted(rules.items())),
        f"{'in the DLQ':<24}{counts[DLQ]:>8}",
        f"{'not accounted for':<24}{counts[PENDING]:>8}",
        "",
        f"raw          s3://{places.raw_bucket}/",
        f"curated      s3://{places.curated_bucket}/",
        f"quarantine   s3://{places.quarantine_bucket}/reports/",
    ]
    if places.dlq_url:
        lines.append(f"dlq          {places.dlq_url}")
    if places.delivery_dlq_url:
        lines.append(f"delivery dlq {places.delivery_dlq_url}")
    surprises = [f for f in ledger.files if f.state != PENDING and not f.as_expected]
    if surprises:
        lines += ["", "not as the feed expected:"]
        for f in surprises:
            wanted = f.expected + (f" ({f.expected_rule})" if f.expected_rule else "")
            got = f.state + (f" ({f.rule})" if f.rule else "")
            lines.append(f"  {f.key}: expected {wanted}, got {got}")
    return "\n".join(lines)


def wait_for(
    ledger: Ledger,
    s3: Any,
    sqs: Any,
    timeout: float,
    interval: float = 2.0,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Refresh until every file is accounted for or ``timeout`` seconds pass; ``on_progress``
    gets the number of files accounted for after each refresh (the CLI draws a bar with it)."""
    deadline = time.monotonic() + timeout
    while True:
        ledger.refresh(s3, sqs)
        if on_progress is not None:
            on_progress(len(ledger.files) - len(ledger.pending))
        if not ledger.pending or time.monotonic() >= deadline:
            return
        time.sleep(interval)
