"""Process one raw object: validate, convert to Parquet in curated, or quarantine with a report.

Plain arguments in, an Outcome out, so it runs the same under the Lambda handler, in tests with
moto and in the local runner. Contract violations end in quarantine; every other error (network,
throttling, permissions) propagates so the queue retries the message and finally parks it in the
DLQ: nothing is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from headwater.contracts.rules import ContractViolation, define_rule
from headwater.contracts.schema import Contract
from headwater.contracts.stream import Decompressed
from headwater.ingest.contracts import BrokenDeclaration, select_contract, split_compression
from headwater.ingest.convert import Tuning, convert_to_parquet
from headwater.ingest.naming import (  # noqa: F401 - re-exported: tests and tools name them here
    curated_key,
    ingest_date,
    quarantine_keys,
    version_tag,
)

CURATED = "curated"
QUARANTINED = "quarantined"
SKIPPED = "skipped"

FOLDER_KEY_WITH_DATA = define_rule("folder_key_with_data")
TOO_LARGE_FOR_TIMEOUT = define_rule("too_large_for_timeout")

# Conservative conversion throughput on Lambda, for planning only: bench/ingest_bench.py measured
# 124 MB/s on 2 local cores; a 1024 MB function has about 0.6 vCPU and reads from S3, so plan
# with a sixth of it. Compressed inputs are planned at their usual text expansion.
ESTIMATED_BYTES_PER_SECOND = 20_000_000
COMPRESSION_EXPANSION = 6


def estimate_ms(key: str, size: int | None) -> int | None:
    """How long converting ``key`` of ``size`` bytes should take (None when the size is unknown)."""
    if size is None:
        return None
    expanded = size * (COMPRESSION_EXPANSION if split_compression(key)[1] else 1)
    return int(expanded * 1000 / ESTIMATED_BYTES_PER_SECOND)


_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
# GetObject/CopyObject with If-Match answer 412; HEAD requests carry no body, hence the bare code.
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "412"})
_SUPERSEDED = (
    "superseded: the object was overwritten after this event (its ETag no longer matches); "
    "the newer upload's own event processes it"
)


@dataclass(frozen=True)
class Outcome:
    status: str  # curated | quarantined | skipped
    key: str
    dataset: str | None = None
    rows: int = 0
    output_key: str | None = None  # curated
    rule: str | None = None  # quarantined
    report_key: str | None = None  # quarantined
    message: str | None = None


def process_object(
    *,
    s3: Any,
    bucket: str,
    key: str,
    version_id: str | None,
    etag: str | None,
    size: int | None,
    event_time: str | None,
    contracts: Sequence[Contract],
    curated_bucket: str,
    quarantine_bucket: str,
    ingest_prefix: str,
    tuning: Tuning | None = None,
    work_dir: str | None = None,
    broken: Sequence[BrokenDeclaration] = (),
    max_duration_ms: int | None = None,
) -> Outcome:
    if not key.startswith(ingest_prefix):
        # Another capability's root (e.g. "lookup/"): not ours to curate or quarantine.
        return Outcome(SKIPPED, key, message=f"key is outside the ingest root {ingest_prefix!r}")
    relative = key[len(ingest_prefix) :]
    source = {"bucket": bucket, "key": key, "version_id": version_id, "etag": etag, "size": size}
    if relative.endswith("/"):
        # Consoles create zero-byte "folder" markers; they are not data. A key ending in "/" that
        # holds bytes is a producer's mistake: quarantine it, nothing may vanish silently.
        length = size if size is not None else _object_size(s3, source)
        if not length:
            return Outcome(SKIPPED, key, message="a folder marker is not a data file")
        violation = ContractViolation(
            FOLDER_KEY_WITH_DATA,
            f"the key ends in '/' like a folder marker but holds {length} bytes; "
            "upload it under a file name with its format's extension",
        )
        return quarantine(s3, source, None, violation, quarantine_bucket)
    contract: Contract | None = None
    try:
        contract = select_contract(contracts, relative, broken)
        codec = split_compression(relative)[1]
        expected = estimate_ms(key, size)
        if max_duration_ms is not None and expected is not None and expected > max_duration_ms:
            # Deferring it would only repeat the timeout on every delivery, then park it in the DLQ.
            raise ContractViolation(
                TOO_LARGE_FOR_TIMEOUT,
                f"{size} bytes need about {expected // 1000} s to convert, more than the "
                f"{max_duration_ms // 1000} s an invocation has: split the file or raise the "
                "function's timeout",
            )

        def open_source() -> Any:
            body = open_raw()
            # Decompressed as it streams: the converter sees plain text, memory stays bounded.
            return Decompressed(body, codec) if codec else body

        def open_raw() -> Any:
            args = {"Bucket": bucket, "Key": key}
            if version_id:
                args["VersionId"] = version_id
            elif etag:
                # Unversioned bucket: the key may hold newer content than this event describes.
                # Reading it would write that content under the old ETag's output name.
                args["IfMatch"] = _quoted(etag)
            return s3.get_object(**args)["Body"]

        out_key = curated_key(contract.dataset, relative, version_id, etag, event_time)
        fd, path = tempfile.mkstemp(suffix=".parquet", dir=work_dir)
        os.close(fd)
        try:
            try:
                result = convert_to_parquet(open_source, contract, path, tuning, work_dir)
            except ClientError as exc:
                if _error_code(exc) in _PRECONDITION_CODES:
                    return Outcome(SKIPPED, key, contract.dataset, message=_SUPERSEDED)
                earlier = _earlier_quarantine(s3, exc, quarantine_bucket, key, version_id, etag)
                if earlier is not None:
                    return earlier
                raise
            _upload(s3, path, curated_bucket, out_key, source, result.rows)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return Outcome(CURATED, key, contract.dataset, result.rows, output_key=out_key)
    except ContractViolation as violation:
        return quarantine(
            s3, source, contract.dataset if contract else None, violation, quarantine_bucket
        )


def quarantine(
    s3: Any,
    source: dict[str, Any],
    dataset: str | None,
    violation: ContractViolation,
    quarantine_bucket: str,
) -> Outcome:
    """Copy the file to quarantine, write the reason report, then delete the raw object.

    In that order, so a crash in between leaves the raw object for the retry. On a versioned raw
    bucket the delete only adds a delete marker: the version stays and GetObject by version id
    still works on redelivery. The raw object is deleted only while it is still the quarantined
    version, so a newer upload of the same key is not hidden (see the race note below).
    """
    file_key, report_key = quarantine_keys(
        source["key"], source.get("version_id"), source.get("etag")
    )
    copy_source = {"Bucket": source["bucket"], "Key": source["key"]}
    copy_args: dict[str, str] = {}
    if source.get("version_id"):
        copy_source["VersionId"] = source["version_id"]
    elif source.get("etag"):
        # Unversioned: copy only the content that was judged, not a newer upload.
        copy_args["CopySourceIfMatch"] = _quoted(source["etag"])
    try:
        s3.copy(copy_source, quarantine_bucket, file_key, ExtraArgs=copy_args or None)
    except ClientError as exc:
        if _error_code(exc) in _PRECONDITION_CODES:
            return Outcome(SKIPPED, source["key"], dataset, message=_SUPERSEDED)
        raise
    report = {
        "source": source,
        "dataset": dataset,
        "rule": violation.rule,
        "message": violation.message,
        "row": violation.row,
        "column": violation.column,
        "quarantined_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    s3.put_object(
        Bucket=quarantine_bucket,
        Key=report_key,
        Body=json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"),
        ContentType="application/json",
    )
    if _is_current(s3, source):
        # A newer upload can still land between this check and the delete: the check shrinks
        # that window from the whole conversion to one round trip, it does not close it.
        s3.delete_object(Bucket=source["bucket"], Key=source["key"])
    return Outcome(
        QUARANTINED,
        source["key"],
        dataset,
        rule=violation.rule,
        report_key=report_key,
        message=violation.message,
    )


def _is_current(s3: Any, source: dict[str, Any]) -> bool:
    """Whether the key still serves the version (or, unversioned, the ETag) that was judged."""
    try:
        head = s3.head_object(Bucket=source["bucket"], Key=source["key"])
    except ClientError as exc:
        if _error_code(exc) in _MISSING_OBJECT_CODES:
            return False  # already gone (e.g. deleted by a redelivered event): nothing to delete
        raise
    if source.get("version_id"):
        return head.get("VersionId") == source["version_id"]
    if source.get("etag"):
        return _quoted(head.get("ETag") or "") == _quoted(source["etag"])
    return True  # nothing to compare with: the event carried neither version nor ETag


def _object_size(s3: Any, source: dict[str, Any]) -> int:
    """The object's size when the event did not carry it (0 when it is already gone)."""
    args = {"Bucket": source["bucket"], "Key": source["key"]}
    if source.get("version_id"):
        args["VersionId"] = source["version_id"]
    try:
        return int(s3.head_object(**args)["ContentLength"])
    except ClientError as exc:
        if _error_code(exc) in _MISSING_OBJECT_CODES:
            return 0
        raise


def _quoted(etag: str) -> str:
    """S3 returns ETags quoted, EventBridge events carry them bare; If-Match wants them quoted."""
    return f'"{etag.strip(chr(34))}"'


def _error_code(exc: Exception) -> str | None:
    return getattr(exc, "response", {}).get("Error", {}).get("Code")


def _earlier_quarantine(
    s3: Any,
    exc: Exception,
    quarantine_bucket: str,
    key: str,
    version_id: str | None,
    etag: str | None,
) -> Outcome | None:
    """A redelivered event for an object we already quarantined (unversioned bucket: gone)."""
    if _error_code(exc) not in _MISSING_OBJECT_CODES:
        return None
    _, report_key = quarantine_keys(key, version_id, etag)
    try:
        body = s3.get_object(Bucket=quarantine_bucket, Key=report_key)["Body"].read()
    except ClientError:
        return None
    report = json.loads(body)
    return Outcome(
        QUARANTINED,
        key,
        report.get("dataset"),
        rule=report.get("rule"),
        report_key=report_key,
        message=report.get("message"),
    )


def _upload(s3: Any, path: str, bucket: str, key: str, source: dict[str, Any], rows: int) -> None:
    from boto3.s3.transfer import TransferConfig

    # Multipart with bounded buffers: chunk size x concurrency stays well inside Lambda memory.
    config = TransferConfig(
        multipart_threshold=64 << 20, multipart_chunksize=16 << 20, max_concurrency=4
    )
    metadata = {
        # User metadata must be ASCII: keys with spaces or unicode are percent-encoded.
        "source-bucket": source["bucket"],
        "source-key": quote(source["key"], safe="/"),
        "source-version-id": source.get("version_id") or "",
        "rows": str(rows),
    }
    s3.upload_file(
        path,
        bucket,
        key,
        ExtraArgs={"Metadata": metadata, "ContentType": "application/vnd.apache.parquet"},
        Config=config,
    )
