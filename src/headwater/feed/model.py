"""What a source produces: a file to upload plus the outcome the processor should reach."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Outcome = Literal["curated", "quarantined"]

# The quarantine rule ids agreed with the processor (exact strings).
RULES = frozenset(
    {
        "unknown_dataset",
        "unsupported_format",
        "empty_file",
        "encoding",
        "malformed",
        "missing_column",
        "unexpected_column",
        "type_mismatch",
        "null_value",
        "duplicate_key",
    }
)


@dataclass(frozen=True)
class Expected:
    """The processor's expected verdict: curated with ``rows`` rows, or quarantined by ``rule``."""

    outcome: Outcome
    rows: int | None = None
    rule: str | None = None

    def __post_init__(self) -> None:
        if self.outcome == "curated":
            if self.rows is None or self.rows < 0 or self.rule is not None:
                raise ValueError("a curated expectation needs a row count and no rule")
        elif self.outcome == "quarantined":
            if self.rule not in RULES or self.rows is not None:
                raise ValueError(f"a quarantined expectation needs a known rule, got {self.rule!r}")
        else:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    @classmethod
    def curated(cls, rows: int) -> Expected:
        return cls("curated", rows=rows)

    @classmethod
    def quarantined(cls, rule: str) -> Expected:
        return cls("quarantined", rule=rule)


@dataclass(frozen=True)
class FeedFile:
    """One file to upload. ``key`` is relative to the ingest root, e.g. "sales/2026-11-23/x.csv"."""

    key: str
    body: bytes
    expected: Expected
    dataset: str | None = None  # None when the key matches no contract (unknown_dataset)

    def __post_init__(self) -> None:
        if not self.key or self.key.startswith("/"):
            raise ValueError(f"a feed key must be relative and non-empty, got {self.key!r}")


@runtime_checkable
class Source(Protocol):
    """Anything that yields feed files. ``total`` is the file count if known up front (progress)."""

    name: str

    @property
    def total(self) -> int | None: ...

    def files(self) -> Iterator[FeedFile]: ...
