"""Where the local mode keeps its pid file, log file and the running daemon's endpoint.

The state directory is ``$HEADWATER_STATE_DIR``, default ``.headwater`` under the current
directory. Files: ``local.pid`` (the daemon's pid), ``local.json`` (pid, endpoint, log path;
written by the daemon once it is ready) and ``local.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "HEADWATER_STATE_DIR"
DAEMON_MODULE = "headwater.local.daemon"


@dataclass(frozen=True)
class StatePaths:
    root: Path

    @property
    def pid_file(self) -> Path:
        return self.root / "local.pid"

    @property
    def info_file(self) -> Path:
        return self.root / "local.json"

    @property
    def log_file(self) -> Path:
        return self.root / "local.log"


def state_paths(root: str | os.PathLike[str] | None = None) -> StatePaths:
    chosen = root or os.environ.get(STATE_DIR_ENV) or ".headwater"
    return StatePaths(Path(chosen).resolve())


def read_pid(paths: StatePaths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def write_pid(paths: StatePaths, pid: int) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    tmp = paths.pid_file.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(paths.pid_file)


def read_info(paths: StatePaths) -> dict | None:
    try:
        return json.loads(paths.info_file.read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_info(paths: StatePaths, info: dict) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    tmp = paths.info_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(paths.info_file)


def clear(paths: StatePaths, pid: int | None = None) -> None:
    """Remove pid and info files (only if they still belong to ``pid``, when given)."""
    if pid is not None and read_pid(paths) not in (None, pid):
        return
    for path in (paths.pid_file, paths.info_file):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def is_daemon_alive(pid: int) -> bool:
    """True if ``pid`` runs and is a headwater local daemon (a recycled pid is not ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: the pid was recycled
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # no /proc (macOS): trust the pid
    if b"<defunct>" in cmdline or not cmdline:
        return False  # a zombie has an empty command line
    return DAEMON_MODULE.encode() in cmdline or b"headwater" in cmdline
