"""The onboard ``ObjectStore`` port on S3 (``headwater.onboard.parts.ObjectStore``).

``put_file`` goes through boto3's managed transfer (multipart above 8 MB, parts retried), so a
128 MB part is never read into memory. Every call raises on failure (botocore's ClientError).
"""

from __future__ import annotations

from typing import Any

from headwater.onboard.parts import PARQUET_CONTENT_TYPE

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


class S3Store:
    def __init__(self, client: Any, bucket: str) -> None:
        if not bucket:
            raise ValueError("bucket must be non-empty")
        self.client, self.bucket = client, bucket

    def put_file(self, key: str, path: str) -> None:
        content_type = (
            PARQUET_CONTENT_TYPE if key.endswith(".parquet") else "application/octet-stream"
        )
        self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"could not delete {len(errors)} object(s), e.g. {first.get('Key')!r}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
