"""Ingest's dataset contracts: loaded from the ``ingest`` declarations, selected by key prefix.

The packaged contracts live in ``headwater/datasets/ingest``; ``CONTRACTS_DIR`` points at another
directory (a team can ship its own contracts without rebuilding the package).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import PurePosixPath

from headwater.contracts import declarations
from headwater.contracts.rules import (
    UNKNOWN_DATASET,
    UNSUPPORTED_FORMAT,
    ContractError,
    ContractViolation,
)
from headwater.contracts.schema import FORMAT_EXTENSIONS, Contract, parse_contract


def load_contracts(directory: str | os.PathLike[str] | None = None) -> list[Contract]:
    """Load every ``*.toml`` contract from ``directory``, ``$CONTRACTS_DIR`` or the package."""
    directory = directory or os.environ.get("CONTRACTS_DIR") or None
    return parse_documents(declarations.read_documents("ingest", directory))


def parse_documents(documents: Iterable[tuple[str, str]]) -> list[Contract]:
    contracts = [parse_contract(d.data, d.source) for d in declarations.parse_documents(documents)]
    if not contracts:
        raise ContractError("no dataset contracts found")
    # The prefix routes a file to its contract, so two contracts may not share one.
    for field in ("dataset", "prefix"):
        seen: dict[str, str] = {}
        for c in contracts:
            value = getattr(c, field)
            if value in seen:
                raise ContractError(
                    f"{c.source}: field {field!r}: {value!r} already declared in {seen[value]}"
                )
            seen[value] = c.source
    return contracts


def select_contract(contracts: Iterable[Contract], relative_key: str) -> Contract:
    """The contract whose prefix is the longest match for ``relative_key`` (key after the root).

    Raises ContractViolation(unknown_dataset) when no prefix matches and
    ContractViolation(unsupported_format) when the extension does not fit the contract's format.
    """
    matches = [c for c in contracts if relative_key.startswith(c.prefix)]
    if not matches:
        raise ContractViolation(
            UNKNOWN_DATASET, f"no dataset contract matches key {relative_key!r}"
        )
    contract = max(matches, key=lambda c: len(c.prefix))
    suffix = PurePosixPath(relative_key).suffix.lower()
    allowed = FORMAT_EXTENSIONS[contract.format]
    if suffix not in allowed:
        raise ContractViolation(
            UNSUPPORTED_FORMAT,
            f"dataset {contract.dataset!r} expects {contract.format} "
            f"({', '.join(allowed)}), got {suffix or 'no extension'!r}",
        )
    return contract
