"""Why a file is rejected: a broken contract rule, with the place it broke where known."""

from __future__ import annotations

# Rule ids written into quarantine reports. The exact strings are a cross-team interface.
UNKNOWN_DATASET = "unknown_dataset"
UNSUPPORTED_FORMAT = "unsupported_format"
EMPTY_FILE = "empty_file"
ENCODING = "encoding"
MALFORMED = "malformed"
MISSING_COLUMN = "missing_column"
UNEXPECTED_COLUMN = "unexpected_column"
TYPE_MISMATCH = "type_mismatch"
NULL_VALUE = "null_value"
DUPLICATE_KEY = "duplicate_key"

RULES = frozenset(
    {
        UNKNOWN_DATASET,
        UNSUPPORTED_FORMAT,
        EMPTY_FILE,
        ENCODING,
        MALFORMED,
        MISSING_COLUMN,
        UNEXPECTED_COLUMN,
        TYPE_MISMATCH,
        NULL_VALUE,
        DUPLICATE_KEY,
    }
)


class ContractViolation(Exception):
    """The file breaks its dataset contract; it belongs in quarantine, retrying cannot help.

    ``row`` is the 1-based data row (the CSV header is not counted), ``column`` the column name.
    """

    def __init__(
        self, rule: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown contract rule {rule!r}")
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.rule}: {self.message}{suffix}"


class ContractError(Exception):
    """A contract file itself is invalid (a deployment error, not a data error)."""
