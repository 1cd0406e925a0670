"""The sink's ``ObjectStore`` on S3: one PutObject per object, DeleteObject for a trim.

Both raise on failure (botocore's ClientError), which ``sink.sink_batch`` turns into a partial
batch failure (a put) or a whole-batch retry (a trim). The client's own retries (standard mode
in ``headwater.aws``) absorb throttling first.
"""

from __future__ import annotations

from typing import Any

# The media type registered for Parquet (IANA, 2024), so readers and consoles recognise it.
CONTENT_TYPE = "application/vnd.apache.parquet"


class S3Store:
    def __init__(self, s3: Any, bucket: str) -> None:
        if not bucket:
            raise ValueError("bucket must be non-empty")
        self.s3, self.bucket = s3, bucket

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)
