"""Why a lookup load failed: a rule, a message, and where in the file it broke when known."""

from __future__ import annotations

from typing import Any

from headwater.ingest import errors as ingest_errors

# Rules shared with ingest (same spelling in reports) plus the lookup-specific ones.
EMPTY_FILE = ingest_errors.EMPTY_FILE
ENCODING = ingest_errors.ENCODING
MALFORMED = ingest_errors.MALFORMED
MISSING_COLUMN = ingest_errors.MISSING_COLUMN
UNEXPECTED_COLUMN = ingest_errors.UNEXPECTED_COLUMN
TYPE_MISMATCH = ingest_errors.TYPE_MISMATCH
NULL_VALUE = ingest_errors.NULL_VALUE
DUPLICATE_KEY = ingest_errors.DUPLICATE_KEY
UNKNOWN_DATASET = ingest_errors.UNKNOWN_DATASET
UNSUPPORTED_FORMAT = ingest_errors.UNSUPPORTED_FORMAT
KEY_TOO_LONG = "key_too_long"  # DynamoDB caps sort keys at 1024 bytes
# A "/" in a key cannot be requested: API Gateway decodes %2F before it matches the route.
SLASH_IN_KEY = "slash_in_key"
MEMBER_TOO_LARGE = "member_too_large"  # one member alone exceeds an item part
CONCURRENT_LOAD = "concurrent_load"  # another load switched the pointer first


class LoadFailed(Exception):
    """The file cannot become the dataset's current version; retrying the same file cannot help.

    ``row`` is the 1-based data row (the header is not counted), ``column`` a column name.
    """

    def __init__(
        self, rule: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.row = row
        self.column = column

    @classmethod
    def from_violation(cls, violation: ingest_errors.ContractViolation) -> LoadFailed:
        return cls(violation.rule, violation.message, violation.row, violation.column)

    def report(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "row": self.row, "column": self.column}

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.rule}: {self.message}{suffix}"
