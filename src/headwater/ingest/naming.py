"""Where the processor puts what it makes of one raw object version: one place for the names.

The processor writes with these names and ``headwater ingest summary`` reads with them, so the
two cannot drift apart. Pure functions, no AWS, no pyarrow: the CLI imports this cheaply.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import PurePosixPath

from headwater.ingest.contracts import split_compression


def version_tag(version_id: str | None, etag: str | None) -> str:
    """What tells two uploads of one key apart: the version id, else (unversioned) the ETag."""
    return version_id or (etag or "").strip('"') or "unversioned"


def ingest_date(event_time: str | None) -> str:
    """The curated partition of an upload: the day of its S3 event (UTC), else today."""
    if event_time:
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(event_time).date().isoformat()
    return dt.datetime.now(dt.UTC).date().isoformat()


def curated_name(key: str, version_id: str | None, etag: str | None) -> str:
    """``<stem>-<version or etag>.parquet``: the file name of a version's curated output (the
    stem drops the format and compression extensions)."""
    stem = PurePosixPath(split_compression(key)[0]).stem
    return f"{stem}-{version_tag(version_id, etag)}.parquet"


def curated_key(
    dataset: str,
    relative_key: str,
    version_id: str | None,
    etag: str | None,
    event_time: str | None,
) -> str:
    """``<dataset>/ingest_date=YYYY-MM-DD/<stem>-<version or etag>.parquet``: stable per version,
    so a redelivered event overwrites the same object instead of adding a duplicate."""
    name = curated_name(relative_key, version_id, etag)
    return f"{dataset}/ingest_date={ingest_date(event_time)}/{name}"


def quarantine_keys(key: str, version_id: str | None, etag: str | None) -> tuple[str, str]:
    """``files/<key>/<tag>/<name>`` and ``reports/<key>/<tag>.json``: one pair per version, so
    two bad uploads of one key keep both copies and both reports (tag: see version_tag)."""
    tag = version_tag(version_id, etag)
    base = key.rstrip("/")  # a key ending in "/" (quarantined too) must not give "//"
    name = PurePosixPath(base).name or "object"
    return f"files/{base}/{tag}/{name}", f"reports/{base}/{tag}.json"
