"""Lookup dataset contracts: TOML files naming a partition key, a member key and typed columns.

Packaged in ``headwater/datasets/lookup``; ``LOOKUPS_DIR`` points at another directory. Column
parsing is the shared core's (same types, same errors): a lookup contract is a CSV contract whose
primary key is (partition key, member key), plus the two key roles.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from headwater.contracts import declarations
from headwater.contracts.rules import ContractError
from headwater.contracts.schema import Contract, parse_contract

# Dataset names appear inside DynamoDB keys ("<dataset>#<version>#...") and URLs.
DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")


@dataclass(frozen=True)
class LookupContract:
    dataset: str
    partition_key: str
    member_key: str
    contract: Contract  # the core's view: columns, types, CSV format, key columns not nullable

    @property
    def names(self) -> list[str]:
        return self.contract.names

    @property
    def fact_columns(self) -> list[str]:
        """The member's facts: every column except the two keys (they are the JSON's keys)."""
        keys = {self.partition_key, self.member_key}
        return [n for n in self.contract.names if n not in keys]

    def prefix(self, lookup_prefix: str = "lookup/") -> str:
        return f"{lookup_prefix}{self.dataset}/"


def parse_lookup(data: Mapping[str, Any], source: str) -> LookupContract:
    def fail(field: str, problem: str) -> ContractError:
        return ContractError(f"{source}: field {field!r}: {problem}")

    allowed = {"dataset", "partition_key", "member_key", "columns", "null_values"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise fail(extra[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")
    for field in ("dataset", "partition_key", "member_key"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise fail(field, "required, a non-empty string")
    if not DATASET_NAME.match(data["dataset"]):
        raise fail("dataset", "lower-case letters, digits, '-' and '_' (it is part of URLs)")
    if data["partition_key"] == data["member_key"]:
        raise fail("member_key", "must differ from partition_key")
    contract = parse_contract(
        {
            "dataset": data["dataset"],
            "prefix": f"{data['dataset']}/",
            "format": "csv",
            "primary_key": [data["partition_key"], data["member_key"]],
            "columns": data.get("columns"),
            "null_values": data.get("null_values"),
        },
        source,
    )
    for field in ("partition_key", "member_key"):
        if contract.column(data[field]).type != "string":
            raise fail(field, 'key columns must have type = "string"')
    return LookupContract(data["dataset"], data["partition_key"], data["member_key"], contract)


def load_lookups(directory: str | os.PathLike[str] | None = None) -> dict[str, LookupContract]:
    """Every ``*.toml`` lookup contract from ``directory``, ``$LOOKUPS_DIR`` or the package."""
    directory = directory or os.environ.get("LOOKUPS_DIR") or None
    return parse_lookup_documents(declarations.read_documents("lookup", directory))


def parse_lookup_documents(documents: Iterable[tuple[str, str]]) -> dict[str, LookupContract]:
    lookups: dict[str, LookupContract] = {}
    for declaration in declarations.parse_documents(documents):
        lookup = parse_lookup(declaration.data, declaration.source)
        if lookup.dataset in lookups:
            raise ContractError(
                f"{declaration.source}: field 'dataset': {lookup.dataset!r} declared twice"
            )
        lookups[lookup.dataset] = lookup
    return lookups
