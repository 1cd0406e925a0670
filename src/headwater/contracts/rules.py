"""Why data is rejected: a broken rule, with the place it broke where known.

Every capability reports with the one ContractViolation type, so a report reads the same whether
ingest quarantined a file or lookup refused a load. The rule ids are a cross-team interface
(they appear in quarantine reports and load manifests): shared ones are defined here, a
capability defines its own with ``define_rule`` next to the code that raises them.
"""

from __future__ import annotations

from typing import Any

_RULES: set[str] = set()


def define_rule(rule: str) -> str:
    """Register ``rule`` as a known rule id and return it (a typo then fails at construction)."""
    _RULES.add(rule)
    return rule


UNKNOWN_DATASET = define_rule("unknown_dataset")
UNSUPPORTED_FORMAT = define_rule("unsupported_format")
EMPTY_FILE = define_rule("empty_file")
ENCODING = define_rule("encoding")
MALFORMED = define_rule("malformed")
MISSING_COLUMN = define_rule("missing_column")
UNEXPECTED_COLUMN = define_rule("unexpected_column")
TYPE_MISMATCH = define_rule("type_mismatch")
NULL_VALUE = define_rule("null_value")
DUPLICATE_KEY = define_rule("duplicate_key")


class ContractViolation(Exception):
    """The data breaks its dataset's declaration; retrying the same data cannot help.

    ``row`` is the 1-based data row (a CSV header is not counted), ``column`` the column name.
    """

    def __init__(
        self, rule: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        if rule not in _RULES:
            raise ValueError(f"unknown contract rule {rule!r}")
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.row = row
        self.column = column

    def report(self) -> dict[str, Any]:
        """The machine-readable part of a report: rule, message and place."""
        return {"rule": self.rule, "message": self.message, "row": self.row, "column": self.column}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.rule}: {self.message}{suffix}"


class ContractError(Exception):
    """A declaration itself is invalid (a deployment error, not a data error)."""
