"""Ingest's dataset contracts: loaded from the ``ingest`` declarations, selected by key prefix.

The packaged contracts live in ``headwater/datasets/ingest``; ``CONTRACTS_DIR`` points at another
directory (a team can ship its own contracts without rebuilding the package).

The processor loads them with ``load_contracts_isolated``: one declaration that does not parse
must not take down every other dataset, so it is set aside and only the files it might have
covered are quarantined (``invalid_declaration``). The build refuses such a file before it is
deployed (scripts/build_artifact.py); this is the guard for a ``CONTRACTS_DIR`` edited in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from headwater.contracts import declarations
from headwater.contracts.rules import (
    UNKNOWN_DATASET,
    UNSUPPORTED_FORMAT,
    ContractError,
    ContractViolation,
    define_rule,
)
from headwater.contracts.schema import FORMAT_EXTENSIONS, Contract, parse_contract
from headwater.contracts.stream import COMPRESSION_SUFFIXES

INVALID_DECLARATION = define_rule("invalid_declaration")


@dataclass(frozen=True)
class BrokenDeclaration:
    source: str
    error: str
    prefix: str | None  # when the TOML parsed far enough to tell which keys it covers


@dataclass(frozen=True)
class LoadedContracts:
    contracts: tuple[Contract, ...]
    broken: tuple[BrokenDeclaration, ...]


def load_contracts_isolated(directory: str | os.PathLike[str] | None = None) -> LoadedContracts:
    """Like ``load_contracts``, but a declaration that does not parse is set aside, not fatal."""
    directory = directory or os.environ.get("CONTRACTS_DIR") or None
    contracts: list[Contract] = []
    broken: list[BrokenDeclaration] = []
    for source, text in declarations.read_documents("ingest", directory):
        prefix = None
        try:
            [declaration] = declarations.parse_documents([(source, text)])
            if isinstance(declaration.data.get("prefix"), str) and declaration.data["prefix"]:
                prefix = declaration.data["prefix"]
            contract = parse_contract(declaration.data, source)
            _check_unique(contract, contracts)
        except ContractError as exc:
            broken.append(BrokenDeclaration(source, str(exc), prefix))
            continue
        contracts.append(contract)
    return LoadedContracts(tuple(contracts), tuple(broken))


def load_contracts(directory: str | os.PathLike[str] | None = None) -> list[Contract]:
    """Load every ``*.toml`` contract from ``directory``, ``$CONTRACTS_DIR`` or the package."""
    directory = directory or os.environ.get("CONTRACTS_DIR") or None
    return parse_documents(declarations.read_documents("ingest", directory))


def parse_documents(documents: Iterable[tuple[str, str]]) -> list[Contract]:
    contracts = [parse_contract(d.data, d.source) for d in declarations.parse_documents(documents)]
    if not contracts:
        raise ContractError("no dataset contracts found")
    for i, contract in enumerate(contracts):
        _check_unique(contract, contracts[:i])
    return contracts


def _check_unique(contract: Contract, earlier: Sequence[Contract]) -> None:
    # The prefix routes a file to its contract, so two contracts may not share one.
    for field in ("dataset", "prefix"):
        value = getattr(contract, field)
        for other in earlier:
            if getattr(other, field) == value:
                raise ContractError(
                    f"{contract.source}: field {field!r}: {value!r} already declared in "
                    f"{other.source}"
                )


def select_contract(
    contracts: Iterable[Contract],
    relative_key: str,
    broken: Sequence[BrokenDeclaration] = (),
) -> Contract:
    """The contract whose prefix is the longest match for ``relative_key`` (key after the root).

    Raises ContractViolation(unknown_dataset) when no prefix matches,
    ContractViolation(unsupported_format) when the extension does not fit the contract's format
    and ContractViolation(invalid_declaration) when the file may belong to a broken declaration:
    one whose prefix matches better than any valid contract's, or, when no valid contract
    matches, one whose prefix could not be read.
    """
    matches = [c for c in contracts if relative_key.startswith(c.prefix)]
    best = max((len(c.prefix) for c in matches), default=-1)
    owners = [b for b in broken if b.prefix and relative_key.startswith(b.prefix)]
    owners = [b for b in owners if len(b.prefix or "") > best]
    if not owners and not matches:
        owners = [b for b in broken if b.prefix is None]
    if owners:
        raise ContractViolation(
            INVALID_DECLARATION,
            "the dataset declaration that may cover this key is invalid, fix and redeploy it: "
            + "; ".join(b.error for b in owners),
        )
    if not matches:
        raise ContractViolation(
            UNKNOWN_DATASET, f"no dataset contract matches key {relative_key!r}"
        )
    contract = max(matches, key=lambda c: len(c.prefix))
    suffix = PurePosixPath(split_compression(relative_key)[0]).suffix.lower()
    allowed = FORMAT_EXTENSIONS[contract.format]
    if suffix not in allowed:
        raise ContractViolation(
            UNSUPPORTED_FORMAT,
            f"dataset {contract.dataset!r} expects {contract.format} "
            f"({', '.join(allowed)}, optionally compressed: "
            f"{', '.join(COMPRESSION_SUFFIXES)}), got {suffix or 'no extension'!r}",
        )
    return contract


def split_compression(relative_key: str) -> tuple[str, str | None]:
    """``("a/x.csv", "gzip")`` for ``"a/x.csv.gz"``; ``(key, None)`` when not compressed."""
    suffix = PurePosixPath(relative_key).suffix.lower()
    codec = COMPRESSION_SUFFIXES.get(suffix)
    return (relative_key[: -len(suffix)], codec) if codec else (relative_key, None)
