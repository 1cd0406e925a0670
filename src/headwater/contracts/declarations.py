"""Read a capability's dataset declarations: TOML files, data rather than code.

The packaged ones live in ``headwater/datasets/<capability>/`` (e.g. ``datasets/ingest/``); a
capability may point at another directory instead (its ``*_DIR`` variable), so a team can ship
its own declarations without rebuilding the package. What the fields mean is the capability's
business: this module only finds the files and parses the TOML.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from headwater.contracts.rules import ContractError


@dataclass(frozen=True)
class Declaration:
    source: str  # the file name, quoted in every error about it
    data: dict[str, Any]


def read_documents(
    capability: str, directory: str | os.PathLike[str] | None = None
) -> list[tuple[str, str]]:
    """(file name, text) of every ``*.toml`` in ``directory`` or the packaged declarations of
    ``capability``, sorted by file name so the order never depends on the file system."""
    root: Any
    if directory is not None:
        root = Path(directory)
        if not root.is_dir():
            raise ContractError(f"{capability} declarations directory {str(root)!r} does not exist")
    else:
        root = resources.files("headwater") / "datasets" / capability
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in root.iterdir()
        if entry.name.endswith(".toml")
    )


def parse_documents(documents: Iterable[tuple[str, str]]) -> Iterator[Declaration]:
    """Parse (source, TOML text) pairs one at a time (a caller validating each as it comes
    reports the first bad file); invalid TOML is a ContractError naming the source."""
    for source, text in documents:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ContractError(f"{source}: invalid TOML: {exc}") from exc
        yield Declaration(source, data)


def load_declarations(
    capability: str, directory: str | os.PathLike[str] | None = None
) -> list[Declaration]:
    """Every declaration of ``capability``, from ``directory`` or the package."""
    return list(parse_documents(read_documents(capability, directory)))
