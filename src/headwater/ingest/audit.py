"""Account for every raw object version under a prefix, uploaded in a time window.

``headwater ingest summary --prefix P --since T`` (the CLI is ``headwater.cli.ingest``) needs no
feed manifest: it lists the raw bucket's object versions (``ListObjectVersions``, page by page,
never the whole bucket at once) and finds where the processor left each one:

- curated: its Parquet exists (``naming.curated_name``), found in a listing of the curated
  partitions of the version's upload day and the next (the partition is the day of the S3 event,
  which follows the upload), each partition listed once and kept for the others;
- quarantined: its per-version report ``reports/<key>/<version>.json`` exists (read for the
  rule; one GET per version not curated, which is the rare case);
- in the DLQ: a message of the work queue's DLQ or the delivery DLQ names this version (read
  without taking the messages away: see ``dlq.peek``);
- skipped: not the processor's (outside the ingest root, or a zero-byte folder marker);
- pending: none of those yet, uploaded less than ``grace`` ago (the event may still be queued);
- unaccounted: none of those, older than the grace period. Each is named.

Only the versions not yet accounted for are kept in memory (to name them and to look again
while waiting); the others are counted and dropped as the listing streams.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from headwater.ingest import dlq
from headwater.ingest.naming import curated_name, quarantine_keys, version_tag

CURATED, QUARANTINED, DLQ, SKIPPED = "curated", "quarantined", "dlq", "skipped"
PENDING, UNACCOUNTED = "pending", "unaccounted"
DEFAULT_GRACE = dt.timedelta(minutes=15)
_MISSING = frozenset({"NoSuchKey", "404"})


@dataclass(frozen=True)
class Window:
    """Raw versions under ``prefix`` whose LastModified is in [since, until)."""

    prefix: str
    since: dt.datetime
    until: dt.datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("the window's times must carry a time zone")
        if self.since >= self.until:
            raise ValueError(f"--since ({_iso(self.since)}) must be before --until")

    def contains(self, moment: dt.datetime) -> bool:
        return self.since <= moment < self.until


@dataclass
class RawVersion:
    key: str
    version_id: str | None  # None: an unversioned object ("null" in S3's listing)
    etag: str
    size: int
    last_modified: dt.datetime
    state: str = UNACCOUNTED
    rule: str | None = None
    location: str | None = None

    @property
    def tag(self) -> str:
        """What the processor names this version's outputs by (see naming.version_tag)."""
        return version_tag(self.version_id, self.etag)

    @property
    def version_label(self) -> str:
        return self.version_id or "null"


def raw_versions(s3: Any, bucket: str, window: Window) -> Iterator[RawVersion]:
    """Every object version under the window's prefix, uploaded in the window, page by page.
    Delete markers are not uploads (quarantine leaves one on top of the version it moved)."""
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=window.prefix):
        for version in page.get("Versions", []):
            if not window.contains(version["LastModified"]):
                continue
            version_id = version.get("VersionId")
            yield RawVersion(
                key=version["Key"],
                version_id=None if version_id in (None, "null") else version_id,
                etag=version.get("ETag", "").strip('"'),
                size=int(version.get("Size", 0)),
                last_modified=version["LastModified"],
            )


class CuratedIndex:
    """Curated output names (``<stem>-<tag>.parquet`` -> key) by partition day, each partition
    of each dataset listed once, when a version first needs it."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self._bucket = s3, bucket
        self._datasets: list[str] | None = None
        self._days: dict[str, dict[str, str]] = {}
        self._all_days: list[str] | None = None

    def find(self, version: RawVersion) -> str | None:
        name = curated_name(version.key, version.version_id, version.etag)
        day = version.last_modified.astimezone(dt.UTC).date()
        # The partition is the event's day: the upload's, or the next one just after midnight.
        for candidate in (day, day + dt.timedelta(days=1)):
            found = self._day(candidate.isoformat()).get(name)
            if found:
                return found
        # A multipart upload is dated when it started and partitioned when it completed: look in
        # the later partitions too (rare: only for versions not found above).
        for later in self._later_days(day + dt.timedelta(days=1)):
            found = self._day(later).get(name)
            if found:
                return found
        return None

    def forget(self) -> None:
        """Drop what was listed (before looking again for versions still pending): new
        partitions, and new datasets, may have appeared since."""
        self._datasets = None
        self._days.clear()
        self._all_days = None

    def _dataset_prefixes(self) -> list[str]:
        if self._datasets is None:
            self._datasets = [
                p["Prefix"]
                for page in self._pages(Prefix="", Delimiter="/")
                for p in page.get("CommonPrefixes", [])
            ]
        return self._datasets

    def _day(self, day: str) -> dict[str, str]:
        if day not in self._days:
            names: dict[str, str] = {}
            for dataset in self._dataset_prefixes():
                for page in self._pages(Prefix=f"{dataset}ingest_date={day}/"):
                    for obj in page.get("Contents", []):
                        names[obj["Key"].rsplit("/", 1)[-1]] = obj["Key"]
            self._days[day] = names
        return self._days[day]

    def _later_days(self, after: dt.date) -> list[str]:
        if self._all_days is None:
            days = set()
            for dataset in self._dataset_prefixes():
                for page in self._pages(Prefix=dataset, Delimiter="/"):
                    for p in page.get("CommonPrefixes", []):
                        part = p["Prefix"][len(dataset) :].rstrip("/")
                        if part.startswith("ingest_date="):
                            days.add(part.removeprefix("ingest_date="))
            self._all_days = sorted(days)
        return [d for d in self._all_days if d > after.isoformat()]

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._s3.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self._bucket, **kwargs)


@dataclass
class Audit:
    """The accounting of one window: counts of what is settled, the versions that are not."""

    raw_bucket: str
    curated_bucket: str
    quarantine_bucket: str
    dlq_urls: tuple[str, ...]
    window: Window
    ingest_prefix: str = "ingest/"
    grace: dt.timedelta = DEFAULT_GRACE
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    counts: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    open: list[RawVersion] = field(default_factory=list)  # in the DLQ, pending, unaccounted
    dlq_complete: bool = True
    _index: CuratedIndex | None = None

    @property
    def listed(self) -> int:
        return sum(self.counts.values())

    def by_state(self, state: str) -> list[RawVersion]:
        return [v for v in self.open if v.state == state]

    def run(self, s3: Any, sqs: Any) -> None:
        """One pass over the window: every version classified, the settled ones dropped."""
        self._index = CuratedIndex(s3, self.curated_bucket)
        parked = self._parked(sqs)
        for version in raw_versions(s3, self.raw_bucket, self.window):
            self._classify(version, s3, parked)
            self._count(version)
            if version.state in (DLQ, PENDING, UNACCOUNTED):
                self.open.append(version)

    def refresh(self, s3: Any, sqs: Any) -> None:
        """Look again at the versions not settled yet (while waiting for in-flight files)."""
        if self._index is None:
            raise RuntimeError("run() first")
        self._index.forget()
        parked = self._parked(sqs)
        for version in self.open:
            self.counts[version.state] -= 1
            self._classify(version, s3, parked)
            self._count(version)
        self.open = [v for v in self.open if v.state in (DLQ, PENDING, UNACCOUNTED)]

    def wait(self, s3: Any, sqs: Any, timeout: float, interval: float = 2.0) -> None:
        """Refresh until nothing is pending or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while self.by_state(PENDING) and time.monotonic() < deadline:
            time.sleep(interval)
            self.refresh(s3, sqs)

    def _count(self, version: RawVersion) -> None:
        self.counts[version.state] += 1
        if version.state == QUARANTINED:
            self.rules[version.rule or "unknown"] += 1

    def _classify(self, version: RawVersion, s3: Any, parked: set[tuple[str, str]]) -> None:
        version.rule = version.location = None
        if not version.key.startswith(self.ingest_prefix):
            version.state, version.rule = SKIPPED, "outside the ingest root"
            return
        if version.key.endswith("/") and version.size == 0:
            version.state, version.rule = SKIPPED, "folder marker"
            return
        assert self._index is not None
        found = self._index.find(version)
        if found:
            version.state, version.location = CURATED, f"s3://{self.curated_bucket}/{found}"
            return
        report_key, rule = self._report(s3, version)
        if report_key:
            version.state, version.rule = QUARANTINED, rule or "unknown"
            version.location = f"s3://{self.quarantine_bucket}/{report_key}"
            return
        if (version.key, version.tag) in parked:
            version.state = DLQ
            return
        age = self.clock() - version.last_modified
        version.state = PENDING if age < self.grace else UNACCOUNTED

    def _report(self, s3: Any, version: RawVersion) -> tuple[str | None, str | None]:
        _, report_key = quarantine_keys(version.key, version.version_id, version.etag)
        try:
            body = s3.get_object(Bucket=self.quarantine_bucket, Key=report_key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None, None
            raise
        try:
            return report_key, json.loads(body).get("rule")
        except (ValueError, AttributeError):
            return report_key, None  # a report is there, unreadable: still quarantined

    def _parked(self, sqs: Any) -> set[tuple[str, str]]:
        parked: set[tuple[str, str]] = set()
        self.dlq_complete = True
        for url in self.dlq_urls:
            peeked = dlq.peek(sqs, url)
            self.dlq_complete &= peeked.complete
            for message in peeked.messages:
                if message.key:
                    parked.add((message.key, version_tag(message.version_id, message.etag)))
        return parked


def render(audit: Audit) -> str:
    """The table, then every version not settled, one per line: key, version id, upload time."""
    counts, window = audit.counts, audit.window
    lines = [
        "",
        f"{'raw versions':<24}{audit.listed:>8}   "
        f"(s3://{audit.raw_bucket}/{window.prefix}, {_iso(window.since)} to {_iso(window.until)})",
        f"{'curated':<24}{counts[CURATED]:>8}",
        f"{'quarantined':<24}{counts[QUARANTINED]:>8}",
        *(f"{'  ' + rule:<24}{n:>8}" for rule, n in sorted(audit.rules.items())),
        f"{'in the DLQ':<24}{counts[DLQ]:>8}",
        f"{'in flight':<24}{counts[PENDING]:>8}   (uploaded less than {_minutes(audit.grace)} ago)",
        f"{'skipped':<24}{counts[SKIPPED]:>8}   (outside the ingest root, folder markers)",
        f"{'not accounted for':<24}{counts[UNACCOUNTED]:>8}",
    ]
    if not audit.dlq_complete:
        lines.append("(the DLQs hold more messages than were read: some may be counted as missing)")
    for state, title in (
        (DLQ, "in the DLQ"),
        (PENDING, "in flight"),
        (UNACCOUNTED, "not accounted for"),
    ):
        versions = audit.by_state(state)
        if versions:
            lines += ["", f"{title} (key, version id, uploaded):"]
            lines += [
                f"  {v.key}\t{v.version_label}\t{_iso(v.last_modified)}"
                for v in sorted(versions, key=lambda v: (v.key, v.last_modified))
            ]
    return "\n".join(lines)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
