"""Where the local mode keeps its pid file, log file and the running daemon's endpoint.

The state directory is ``$HEADWATER_STATE_DIR``, default ``.headwater`` under the current
directory. Files: ``local.pid`` (the daemon's pid, alone, as tools expect of a pid file),
``local.start`` (that pid and its start time), ``local.json`` (pid, endpoint, log path; written by
the daemon once it is ready) and ``local.log``.

A pid alone does not identify the daemon: after a crash or reboot the number is handed to some
other process, and ``down`` would signal it. ``local.start`` therefore records the process's start
time (``/proc/<pid>/stat`` field 22, clock ticks since boot), which, together with the pid, names
exactly one process for the life of the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
    def start_file(self) -> Path:
        return self.root / "local.start"

    @property
    def info_file(self) -> Path:
        return self.root / "local.json"

    @property
    def log_file(self) -> Path:
        return self.root / "local.log"


def state_paths(root: str | os.PathLike[str] | None = None) -> StatePaths:
    chosen = root or os.environ.get(STATE_DIR_ENV) or ".headwater"
    return StatePaths(Path(chosen).resolve())


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_time: int | None  # None: not recorded (no /proc, or an old pid file)


def read_pid_record(paths: StatePaths) -> PidRecord | None:
    pid = read_pid(paths)
    if pid is None:
        return None
    try:
        recorded_pid, start_time = (int(f) for f in paths.start_file.read_text().split())
    except (FileNotFoundError, ValueError):
        return PidRecord(pid, None)
    # Written just before the pid file: a start time for another pid belongs to an older run.
    return PidRecord(pid, start_time if recorded_pid == pid else None)


def read_pid(paths: StatePaths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def write_pid(paths: StatePaths, pid: int) -> None:
    """Record ``pid`` and its start time (read now, while the process certainly runs)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    start_time = process_start_time(pid)
    if start_time is None:
        with contextlib.suppress(FileNotFoundError):
            paths.start_file.unlink()
    else:
        write_atomically(paths.start_file, f"{pid} {start_time}\n")
    write_atomically(paths.pid_file, f"{pid}\n")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader never sees half a file. The temporary file is
    this call's own: two writers of one path (two invocations refreshing a function's IAM spec)
    must not replace each other's temporary file away."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _proc_stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat from field 3 (state) on; None without /proc or process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 is "(comm)" and comm may contain spaces or parentheses: split after the last ")".
    return stat.rsplit(")", 1)[1].split()


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (R, S, Z...), None when it is gone or there is no /proc."""
    fields = _proc_stat_fields(pid)
    return fields[0] if fields else None


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    fields = _proc_stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return int(fields[19])  # fields[0] is field 3, so field 22 is fields[19]


def read_info(paths: StatePaths) -> dict | None:
    try:
        return json.loads(paths.info_file.read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_info(paths: StatePaths, info: dict) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    write_atomically(paths.info_file, json.dumps(info, indent=2) + "\n")


def clear(paths: StatePaths, pid: int | None = None) -> None:
    """Remove pid and info files (only if they still belong to ``pid``, when given)."""
    if pid is not None and read_pid(paths) not in (None, pid):
        return
    for path in (paths.pid_file, paths.start_file, paths.info_file):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def is_daemon_alive(
    pid: int, start_time: int | None = None, paths: StatePaths | None = None
) -> bool:
    """True if ``pid`` runs and is the daemon recorded in the pid file (a recycled pid is not).

    With ``start_time`` (from the pid file) the process must have started at that instant.
    Without it (a pid file from an older version) only a process running this module for this
    state directory (``paths``) counts: a command line merely mentioning "headwater" (an editor,
    a shell, pytest) is someone else's.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: the pid was recycled
    fields = _proc_stat_fields(pid)
    if fields is None:
        return True  # no /proc (macOS): nothing better than the pid to go on
    if fields[0] in ("Z", "X"):
        return False  # exited, waiting to be reaped
    if start_time is not None:
        return process_start_time(pid) == start_time
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if DAEMON_MODULE.encode() not in argv:
        return False
    return paths is None or str(paths.root).encode() in argv


def is_recorded_daemon_alive(paths: StatePaths) -> PidRecord | None:
    """The pid file's record if that very process still runs, else None."""
    record = read_pid_record(paths)
    if record is None or not is_daemon_alive(record.pid, record.start_time, paths):
        return None
    return record
