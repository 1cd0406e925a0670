"""Put feed files into the raw bucket (or a local directory) and record what was sent.

The manifest lists every file with its raw key and the outcome the processor should reach, so
``setup.sh run`` and the end-to-end tests can account for each input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from headwater.feed.model import FeedFile

CONTENT_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",
}


class UploadError(Exception):
    """An upload failed; the message is one line meant for the user."""


@dataclass(frozen=True)
class ManifestEntry:
    key: str  # the full raw key, ingest root included
    dataset: str | None
    size: int
    outcome: str  # "curated" or "quarantined"
    rows: int | None  # expected curated rows
    rule: str | None  # expected quarantine rule id
    uploaded_at: str
    etag: str | None = None
    version_id: str | None = None


class Sink(Protocol):
    target: str  # where files go, for messages and the manifest

    def check(self) -> None: ...

    def put(self, key: str, body: bytes, content_type: str) -> dict[str, str | None]: ...


def describe_error(exc: BaseException, bucket: str | None = None) -> str:
    """One readable line for the usual S3 failures instead of a botocore traceback."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in {"NoSuchBucket", "404", "NotFound"}:
            return f"bucket {bucket!r} does not exist"
        if code in {"AccessDenied", "403", "Forbidden"}:
            return f"access denied to bucket {bucket!r}"
        return f"{code}: {error.get('Message') or exc}"
    if isinstance(exc, bx.EndpointConnectionError):
        return f"cannot reach S3 at {exc.kwargs.get('endpoint_url')}"
    if isinstance(exc, bx.NoCredentialsError):
        return (
            "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        )
    return f"{type(exc).__name__}: {exc}"


class S3Sink:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.target = f"s3://{bucket}/"

    def check(self) -> None:
        """Fail before the first upload when the bucket is missing or unreachable."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise UploadError(describe_error(exc, self.bucket)) from exc

    def put(self, key: str, body: bytes, content_type: str) -> dict[str, str | None]:
        reply = self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
        )
        return {
            "etag": str(reply.get("ETag", "")).strip('"') or None,
            "version_id": reply.get("VersionId"),
        }


class DirectorySink:
    """The dry run: the same layout under a local directory, nothing sent anywhere."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.target = f"{root}{os.sep}"

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UploadError(f"cannot create {self.root}: {exc.strerror}") from exc

    def put(self, key: str, body: bytes, content_type: str) -> dict[str, str | None]:
        path = self.root.joinpath(*PurePosixPath(key).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        # S3's ETag of a single-part upload is the MD5 of the body; mirror it for comparability.
        return {"etag": hashlib.md5(body, usedforsecurity=False).hexdigest(), "version_id": None}


def raw_key(prefix: str, key: str) -> str:
    if ".." in PurePosixPath(key).parts:
        raise UploadError(f"refusing a key that climbs out of the prefix: {key!r}")
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def upload_all(
    files: Iterable[FeedFile],
    sink: Sink,
    prefix: str,
    workers: int = 8,
    on_done: Callable[[ManifestEntry], None] | None = None,
) -> list[ManifestEntry]:
    """Upload with at most ``workers`` puts in flight; returns entries in source order.

    Files are pulled from ``files`` only as slots free up, so a large or slow (HTTP) source is
    never held in memory whole. The first failure stops new uploads and raises UploadError.
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    sink.check()
    entries: dict[int, ManifestEntry] = {}

    def send(feed_file: FeedFile) -> ManifestEntry:
        key = raw_key(prefix, feed_file.key)
        reply = sink.put(key, feed_file.body, content_type(key))
        expected = feed_file.expected
        return ManifestEntry(
            key=key,
            dataset=feed_file.dataset,
            size=len(feed_file.body),
            outcome=expected.outcome,
            rows=expected.rows,
            rule=expected.rule,
            uploaded_at=_now(),
            etag=reply.get("etag"),
            version_id=reply.get("version_id"),
        )

    pending: dict[Future[ManifestEntry], tuple[int, str]] = {}
    failure: tuple[str, BaseException] | None = None

    def collect(done: set[Future[ManifestEntry]]) -> None:
        nonlocal failure
        for future in done:
            index, key = pending.pop(future)
            error = future.exception()
            if error is not None:
                failure = failure or (key, error)
                continue
            entries[index] = future.result()
            if on_done:
                on_done(entries[index])

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feed-upload") as pool:
        for index, feed_file in enumerate(files):
            if failure:
                break
            if len(pending) >= workers:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
                if failure:
                    break
            pending[pool.submit(send, feed_file)] = (index, feed_file.key)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            collect(done)
    if failure:
        key, error = failure
        reason = (
            str(error)
            if isinstance(error, UploadError)
            else describe_error(error, getattr(sink, "bucket", None))
        )
        raise UploadError(f"upload of {key!r} failed: {reason}") from error
    return [entries[i] for i in sorted(entries)]


def manifest_document(
    entries: list[ManifestEntry], source: str, target: str, prefix: str, **extra: Any
) -> dict[str, Any]:
    curated = [e for e in entries if e.outcome == "curated"]
    return {
        "version": 1,
        "source": source,
        "target": target,
        "prefix": prefix,
        "created_at": _now(),
        **extra,
        "totals": {
            "files": len(entries),
            "curated": len(curated),
            "quarantined": len(entries) - len(curated),
            "rows": sum(e.rows or 0 for e in curated),
            "bytes": sum(e.size for e in entries),
        },
        "files": [asdict(e) for e in entries],
    }


def write_manifest(path: Path, document: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.replace(handle.name, path)
