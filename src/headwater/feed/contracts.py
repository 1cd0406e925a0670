"""The dataset contracts the feeder writes files for: the processor's own, keyed by dataset."""

from __future__ import annotations

import os

from headwater.contracts.schema import Column, Contract
from headwater.ingest.contracts import load_contracts as _load_contracts

__all__ = ["Column", "Contract", "load_contracts"]


def load_contracts(directory: str | os.PathLike[str] | None = None) -> dict[str, Contract]:
    """All contracts (``directory``, ``$CONTRACTS_DIR`` or the packaged ones) by dataset name."""
    return {contract.dataset: contract for contract in _load_contracts(directory)}
