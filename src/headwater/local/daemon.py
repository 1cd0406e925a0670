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
    current = status(paths)
    if current.running:
        return current, True
    if not port_is_free(DEFAULT_HOST, port):
        raise PortInUseError(DEFAULT_HOST, port)
    paths.root.mkdir(parents=True, exist_ok=True)
    state.clear(paths)
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
        time.sleep(0.2)
    _terminate(paths, state.PidRecord(process.pid, state.process_start_time(process.pid)))
    state.clear(paths, process.pid)
    raise DaemonError(f"local mode did not become ready in {timeout:.0f}s; see {paths.log_file}")


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

    pid = os.getpid()
    state.write_pid(paths, pid)
    emulator = EmulatorProcess(port=port)
    try:
        emulator.start()
    except EmulatorError as exc:
        log.error("%s", exc)
        state.clear(paths, pid)
        return 1
    runner = _start_runner(emulator.endpoint_url, region, paths)
    if runner is not None:
        # Asynchronous invocations the emulator's patches hand over (EventBridge, SNS).
        emulator.on_invoke = runner.invoke_async
    api_front = _start_api_front(emulator.endpoint_url, runner, region, paths)
    state.write_info(
        paths,
        {
            "pid": pid,
            "endpoint": emulator.endpoint_url,
            "region": region,
            "log": str(paths.log_file),
            "runner": runner is not None,
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
        if runner is not None:
            try:
                runner.stop()
            except Exception:
                log.exception("runner did not stop cleanly")
        emulator.stop()
        state.clear(paths, pid)
        log.info("local mode stopped")
    return 0


def _start_runner(endpoint_url: str, region: str, paths: state.StatePaths):
    try:
        from headwater.local.lambda_service.runner import Runner
    except ImportError as exc:
        # The emulator alone is still useful (Terraform, awslocal); say what is missing.
        log.error("runner unavailable (%s): functions will not run", exc)
        return None
    # The state directory receives the runner's view of event source mappings (local status).
    runner = Runner(endpoint_url, region=region, state_dir=paths.root)
    runner.start()
    return runner


def _start_api_front(endpoint_url: str, runner, region: str, paths: state.StatePaths):
    """Serve the emulator's REST APIs on loopback ports (needs the runner for Lambda proxies)."""
    if runner is None:
        return None
    from headwater.local.apigateway.front import ApiFront

    front = ApiFront(endpoint_url, runner, region, state_dir=paths.root)
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
