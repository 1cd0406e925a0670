"""The runner's view of event source mappings, published for ``headwater local status``.

The runner (in the daemon) writes ``event_sources.json`` in the state directory whenever its view
changes; the CLI, another process, reads it back, as it reads the API front's ``apis.json``.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from headwater.local.state import write_atomically

STATUS_FILE = "event_sources.json"


def write_mappings(state_dir: Path, mappings: list[dict[str, Any]]) -> None:
    write_atomically(state_dir / STATUS_FILE, json.dumps(mappings, indent=2) + "\n")


def remove_mappings(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / STATUS_FILE).unlink()


def read_mappings(state_dir: Path) -> list[dict[str, Any]]:
    """The published mappings, [] when the runner has published none."""
    try:
        mappings = json.loads((Path(state_dir) / STATUS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return []
    return mappings if isinstance(mappings, list) else []


def status_lines(mappings: list[dict[str, Any]]) -> list[str]:
    """One line per mapping for ``headwater local status``; unsupported ones say why."""
    lines = []
    for mapping in mappings:
        head = f"mapping:  {mapping['source_arn']} -> {mapping['function']} ({mapping['uuid']}): "
        status = mapping.get("status", "unknown")
        if status == "unsupported":
            lines.append(f"{head}unsupported: {mapping.get('reason', 'no reason given')}")
        elif status == "polling":
            settings = ", ".join(
                f"{name} {mapping[key]}"
                for name, key in (("batch", "batch_size"), ("concurrency", "concurrency"))
                if key in mapping
            )
            line = f"{head}polling ({settings})" if settings else f"{head}polling"
            # A setting served differently from AWS (a stream's ParallelizationFactor) says so.
            lines.append(f"{line}: {mapping['note']}" if mapping.get("note") else line)
        else:
            lines.append(f"{head}{status}")
    return lines
