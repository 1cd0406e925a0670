"""The local-mode background process: the emulator plus the runner, and its lifecycle.

The emulator runs in a child process of the daemon (``emulator_process``): moto and the API front
with the runner would otherwise share one interpreter's GIL.

``start`` spawns ``python -m headwater.local.daemon`` in its own session (no controlling terminal,
stdin from /dev/null, output to the log file), writes the pid file and waits until the daemon
reports ready. ``stop`` sends SIGTERM, waits, then SIGKILLs the daemon's process group (the
runner's workers are in it). ``run`` is the daemon's body, also used by ``up --foreground``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from headwater.local import state
from headwater.local.emulator import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    EmulatorError,
    PortInUseError,
    is_ready,
    port_is_free,
)
from headwater.local.emulator_process import EmulatorProcess

log = logging.getLogger("headwater.local.daemon")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CRASH_RELEASE_TIMEOUT = 10.0
PORT_RELEASE_GRACE = 3.0
# While the daemon replays its journal it touches this file; start() waits as long as it moves.
REPLAY_FILE = "local.replay"
CHECKPOINTS_FILE = "stream_checkpoints.json"
REPLAY_STALL = 30.0


class DaemonError(RuntimeError):
    """A lifecycle failure, worded for the user."""


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    endpoint: str | None
    log_file: str


def status(paths: state.StatePaths) -> Status:
    """What runs now; a pid file whose process is gone (or was recycled) is removed on the way."""
    record = state.read_pid_record(paths)
    pid = record.pid if record else None
    if record is not None and not state.is_daemon_alive(record.pid, record.start_time, paths):
        state.clear(paths, record.pid)
        pid = None
    info = state.read_info(paths) if pid is not None else None
    endpoint = info.get("endpoint") if info and info.get("pid") == pid else None
    return Status(pid is not None, pid, endpoint, str(paths.log_file))


def start(paths: state.StatePaths, port: int = DEFAULT_PORT, timeout: float = START_TIMEOUT):
    """Start the daemon in the background; returns (Status, already_running)."""
    current = status_after_crash(paths)
    if current.running:
        return current, True
    if not _port_frees_up(port):
        raise PortInUseError(DEFAULT_HOST, port)
    paths.root.mkdir(parents=True, exist_ok=True)
    state.clear(paths)
    replay_file = paths.root / REPLAY_FILE
    replay_file.unlink(missing_ok=True)
    with open(paths.log_file, "ab") as log_out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                state.DAEMON_MODULE,
                "--port",
                str(port),
                "--state-dir",
                str(paths.root),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: no terminal, its own process group
            close_fds=True,
            cwd=os.getcwd(),
        )
    state.write_pid(paths, process.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exit_code = process.poll()
        if exit_code is not None:
            state.clear(paths, process.pid)
            raise DaemonError(
                f"local mode exited during start-up (code {exit_code}): "
                f"{_last_error_line(paths)} (log: {paths.log_file})"
            )
        info = state.read_info(paths)
        if info and info.get("pid") == process.pid and is_ready(info["endpoint"]):
            return status(paths), False
        with contextlib.suppress(FileNotFoundError):
            # Replaying a long journal: the time it takes grows with it; wait while it moves.
            if time.time() - replay_file.stat().st_mtime < REPLAY_STALL:
                deadline = max(deadline, time.monotonic() + REPLAY_STALL)
        time.sleep(0.2)
    _terminate(paths, state.PidRecord(process.pid, state.process_start_time(process.pid)))
    state.clear(paths, process.pid)
    raise DaemonError(f"local mode did not become ready in {timeout:.0f}s; see {paths.log_file}")


def _port_frees_up(port: int, grace: float = PORT_RELEASE_GRACE) -> bool:
    """True once ``port`` is free, waiting up to ``grace`` seconds.

    Right after a ``kill -9`` the daemon's emulator child is still being torn down (the kernel
    kills it with the daemon: PR_SET_PDEATHSIG) and holds the port for a moment, also when
    nothing recorded the dead daemon any more (a ``status`` in between clears its pid file).
    """
    deadline = time.monotonic() + grace
    while not port_is_free(DEFAULT_HOST, port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def status_after_crash(paths: state.StatePaths) -> Status:
    """``status``, and if the pid file names a daemon that is dead (killed, crashed), wait until
    it has let go of its ports, so an ``up`` right after a crash can bind them."""
    recorded = state.read_pid_record(paths)
    current = status(paths)
    if recorded is not None and not current.running:
        _wait_until_gone(recorded)
        _end_process_group(recorded.pid)
    return current


def _end_process_group(pgid: int, grace: float = CRASH_RELEASE_TIMEOUT) -> None:
    """Let what is left of a dead daemon's process group exit, else kill it.

    The emulator child (which holds the emulator's port) and the function workers live in the
    daemon's group; they notice their parent is gone and exit, but an ``up`` right after a
    ``kill -9`` may come first. Linux does not hand out a pid that is still some group's id, so
    while the group exists it is the dead daemon's.
    """
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    while time.monotonic() < deadline + 5:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def _wait_until_gone(record: state.PidRecord, timeout: float = CRASH_RELEASE_TIMEOUT) -> None:
    """Wait for a killed daemon to let go of its ports.

    A ``kill -9`` ends a multi-threaded process thread by thread: its main thread shows as a
    zombie (so it no longer counts as running) while other threads still exit, and its sockets
    close only when the last one has. An ``up`` in that window found the port "in use".
    """
    pid = record.pid
    if record.start_time is None or state.process_start_time(pid) != record.start_time:
        return  # gone, or the pid already belongs to another process
    task_dir = Path(f"/proc/{pid}/task")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(list(task_dir.iterdir())) <= 1 and state.process_state(pid) in ("Z", "X", None):
                return
        except FileNotFoundError:
            return  # gone (or no /proc: nothing better to wait for)
        time.sleep(0.05)


def stop(paths: state.StatePaths, timeout: float = STOP_TIMEOUT) -> int | None:
    """Stop the daemon if it runs; returns the pid that was stopped (None: nothing ran)."""
    record = state.is_recorded_daemon_alive(paths)
    if record is None:
        state.clear(paths)  # nothing of ours runs: a stale or recycled pid is never signalled
        return None
    _terminate(paths, record, timeout)
    state.clear(paths, record.pid)
    return record.pid


def _terminate(
    paths: state.StatePaths, record: state.PidRecord, timeout: float = STOP_TIMEOUT
) -> None:
    pid = record.pid
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(paths, record):
        time.sleep(0.1)
    # The daemon leads its own process group: kill whatever is left in it (a daemon that
    # ignored SIGTERM, or worker processes orphaned by a crash). Linux does not hand out a
    # pid that is still some group's id, so while the group exists it is the daemon's.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while _alive(paths, record) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def _alive(paths: state.StatePaths, record: state.PidRecord) -> bool:
    pid = record.pid
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Our own child stays a zombie until reaped; reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return state.is_daemon_alive(pid, record.start_time, paths)


def _last_error_line(paths: state.StatePaths) -> str:
    try:
        lines = [ln for ln in paths.log_file.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "no log"
    return lines[-1] if lines else "no output"


# --- the daemon process itself -------------------------------------------------------------------


def run(paths: state.StatePaths, port: int = DEFAULT_PORT, region: str = DEFAULT_REGION) -> int:
    """Run emulator + runner until SIGTERM/SIGINT. Returns the process exit code."""
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("signal %s received, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    from headwater.local import persistence

    pid = os.getpid()
    state.write_pid(paths, pid)
    try:
        durability = persistence.durability_from_env()
    except ValueError as exc:
        log.error("%s", exc)
        state.clear(paths, pid)
        return 1
    replay_file = paths.root / REPLAY_FILE
    # moto runs in a child process (its own interpreter: see emulator_process); the journal and
    # the replay progress file are the child's to write.
    emulator = EmulatorProcess(
        port=port,
        region=region,
        persist_dir=None if durability == "memory" else persistence.state_dir(paths.root),
        fsync=durability == "fsync",
        replay_file=replay_file,
    )
    try:
        emulator.start(ready_timeout=None)  # a long journal replays first; start() watches
    except EmulatorError as exc:
        log.error("%s", exc)
        state.clear(paths, pid)
        return 1
    finally:
        replay_file.unlink(missing_ok=True)
    checkpoints = (
        None if durability == "memory" else persistence.state_dir(paths.root) / CHECKPOINTS_FILE
    )
    runner = _start_runner(emulator.endpoint_url, region, paths, checkpoints)
    if runner is not None:
        # Asynchronous invocations the emulator's patches hand over (EventBridge, SNS).
        emulator.on_invoke = runner.invoke_async
    usage = None
    if runner is not None and durability != "memory":
        usage = _usage_store(paths)
    api_front = _start_api_front(emulator.endpoint_url, runner, region, paths, usage)
    state.write_info(
        paths,
        {
            "pid": pid,
            "endpoint": emulator.endpoint_url,
            "region": region,
            "log": str(paths.log_file),
            "runner": runner is not None,
            "durability": durability,
        },
    )
    log.info("local mode ready at %s (pid %d)", emulator.endpoint_url, pid)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        emulator.on_invoke = None
        if api_front is not None:
            try:
                api_front.stop()
            except Exception:
                log.exception("API front did not stop cleanly")
        if usage is not None:
            try:
                usage.stop()
            except Exception:
                log.exception("usage counts were not saved")
        if runner is not None:
            try:
                runner.stop()
            except Exception:
                log.exception("runner did not stop cleanly")
        emulator.stop()
        state.clear(paths, pid)
        log.info("local mode stopped")
    return 0


def _start_runner(
    endpoint_url: str, region: str, paths: state.StatePaths, checkpoints: Path | None = None
):
    try:
        from headwater.local.lambda_service.runner import Runner
    except ImportError as exc:
        # The emulator alone is still useful (Terraform, awslocal); say what is missing.
        log.error("runner unavailable (%s): functions will not run", exc)
        return None
    # The state directory receives the runner's view of event source mappings (local status).
    # ... and fires EventBridge Scheduler schedules (headwater.local.scheduler).
    # Stream mappings' checkpoints sit next to the journal: `local reset` drops both.
    runner = Runner(
        endpoint_url,
        region=region,
        state_dir=paths.root,
        schedules=True,
        stream_checkpoints=checkpoints,
    )
    runner.start()
    return runner


def _usage_store(paths: state.StatePaths):
    """Quota counts kept next to the emulator's journal, so `local reset` drops them too."""
    from headwater.local import persistence
    from headwater.local.apigateway.usage_plans import UsageMeter
    from headwater.local.apigateway.usage_store import UsageStore

    store = UsageStore(UsageMeter(), persistence.state_dir(paths.root) / "usage.json")
    store.start()
    return store


def _start_api_front(endpoint_url: str, runner, region: str, paths: state.StatePaths, usage=None):
    """Serve the emulator's REST APIs on loopback ports (needs the runner for Lambda proxies)."""
    if runner is None:
        return None
    from headwater.local.apigateway.front import ApiFront

    front = ApiFront(
        endpoint_url,
        runner,
        region,
        state_dir=paths.root,
        meter=usage.meter if usage is not None else None,
    )
    front.start()
    return front


def configure_logging(to_stderr: bool, log_file: str | None = None) -> None:
    handlers: list[logging.Handler] = []
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=os.environ.get("HEADWATER_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.local.daemon")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    # stdout/stderr already go to the log file (set up by ``start``).
    configure_logging(to_stderr=True)
    return run(state.state_paths(args.state_dir), port=args.port)


if __name__ == "__main__":
    sys.exit(main())
