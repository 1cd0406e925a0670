"""The emulator in a process of its own, so moto and the daemon do not share one interpreter.

moto serves every AWS call of the platform (Terraform's, the runner's, every function's) and the
daemon serves the API front and the runner: in one process they take turns on one GIL, and the
local API's throughput stopped at what one core gives both (``bench/api_bench.py``). Here the
daemon starts ``python -m headwater.local.emulator_process``, which runs the same ``Emulator``
(moto's ThreadedMotoServer with the patches, unchanged), and talks to it over two pipes:

- child -> parent: ``{"type": "ready", "port"}`` or ``{"type": "error", "message", "in_use"}``
  once, then ``{"type": "invoke", "function", "event"}`` for each asynchronous Lambda invocation
  the patches hand over (EventBridge Lambda targets, SNS ``lambda`` subscriptions): the runner
  lives in the parent, so they cross the pipe to ``on_invoke``;
- parent -> child: nothing but its end of the pipe. When the parent dies, even by SIGKILL, the
  child reads end-of-file and exits: no orphaned emulator holds the port.

The child stays in the daemon's process group, so ``daemon.stop``'s group kill reaches it too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from headwater.local import state
from headwater.local.emulator import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    EmulatorError,
    PortInUseError,
)

log = logging.getLogger("headwater.local.emulator_process")

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0

Invoker = Callable[[str, dict[str, Any]], None]


class EmulatorProcess:
    """``Emulator``'s interface (start, stop, endpoint_url, port), served by a child process."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        on_invoke: Invoker | None = None,
        region: str = DEFAULT_REGION,
        persist_dir: Path | None = None,
        fsync: bool = False,
        replay_file: Path | None = None,
    ) -> None:
        """``persist_dir``/``fsync``: the journal (``headwater.local.persistence``), None keeps
        state in memory; ``replay_file``: where the child reports replay progress."""
        self.host = host
        self.port = port
        self.on_invoke = on_invoke
        self.region = region
        self.persist_dir = persist_dir
        self.fsync = fsync
        self.replay_file = replay_file
        self._process: subprocess.Popen | None = None
        self._reader: Connection | None = None
        self._keepalive: int | None = None  # our end of the parent -> child pipe
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, ready_timeout: float | None = READY_TIMEOUT) -> None:
        """Start the child and wait until it serves; ``ready_timeout`` None waits as long as the
        child lives (a long journal replays first: the daemon's caller watches its progress).

        Call it from a thread that lives as long as the emulator should (the main thread): the
        kernel's parent-death signal fires when the starting thread ends, not the process."""
        from_child_r, from_child_w = os.pipe()
        to_child_r, to_child_w = os.pipe()
        command = [
            sys.executable,
            "-m",
            "headwater.local.emulator_process",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--region",
            self.region,
            "--to-parent",
            str(from_child_w),
            "--from-parent",
            str(to_child_r),
            "--parent",
            str(os.getpid()),
        ]
        if self.persist_dir is not None:
            command += ["--persist-dir", str(self.persist_dir)]
        if self.fsync:
            command.append("--fsync")
        if self.replay_file is not None:
            command += ["--replay-file", str(self.replay_file)]
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command,
                pass_fds=(from_child_w, to_child_r),
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(from_child_w)
            os.close(to_child_r)
        self._keepalive = to_child_w
        self._reader = Connection(from_child_r, writable=False)
        message = self._receive(ready_timeout)
        if message is None or message.get("type") != "ready":
            self.stop()
            if message is None:
                raise EmulatorError(
                    "emulator process exited or did not start"
                    + ("" if ready_timeout is None else f" within {ready_timeout:.0f}s")
                )
            if message.get("in_use"):
                raise PortInUseError(self.host, self.port)
            raise EmulatorError(message.get("message") or "emulator process failed to start")
        self.port = int(message["port"])
        self._thread = threading.Thread(
            target=self._serve_invocations, name="emulator-invocations", daemon=True
        )
        self._thread.start()
        log.info("emulator listening on %s (process %s)", self.endpoint_url, self.pid)

    def _receive(self, timeout: float | None) -> dict[str, Any] | None:
        assert self._reader is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            # In slices: a child that dies without a word (killed) ends the wait too.
            while not self._reader.poll(1.0):
                if self._process is None or self._process.poll() is not None:
                    return None
                if deadline is not None and time.monotonic() >= deadline:
                    return None
            return json.loads(self._reader.recv_bytes())
        except (EOFError, OSError):
            return None

    def _serve_invocations(self) -> None:
        reader = self._reader
        assert reader is not None
        while True:
            try:
                message = json.loads(reader.recv_bytes())
            except (EOFError, OSError):
                return  # the child stopped
            if message.get("type") != "invoke":
                continue
            invoker = self.on_invoke
            if invoker is None:
                log.warning(
                    "no Lambda invoker registered; dropped event for %s", message["function"]
                )
                continue
            try:
                invoker(message["function"], message["event"])
            except Exception:
                log.exception(
                    "handing an invocation of %s to the runner failed", message["function"]
                )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self._keepalive is not None:
            os.close(self._keepalive)
            self._keepalive = None
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)
            self._thread = None
        if self._reader is not None and not self._reader.closed:
            self._reader.close()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the child ----------------------------------------------------------------------------------


def replay_reporter(replay_file: Path) -> Callable[[int, int], None]:
    """A progress callback that writes "done total" to ``replay_file`` about once a second
    (``daemon.start`` waits as long as the file moves)."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or done == total:
            last[0] = now
            state.write_atomically(replay_file, f"{done} {total}\n")
            if done % 10000 == 0 or done == total:
                log.info("restoring emulator state: %d/%d requests", done, total)

    return report


def serve(
    host: str,
    port: int,
    to_parent: Connection,
    from_parent: int,
    region: str = DEFAULT_REGION,
    persist_dir: Path | None = None,
    fsync: bool = False,
    replay_file: Path | None = None,
) -> int:
    from headwater.local.emulator import Emulator
    from headwater.local.moto_patches.lambda_invoker import set_lambda_invoker

    send_lock = threading.Lock()  # moto serves requests on many threads; one writer at a time

    def send(message: dict[str, Any]) -> None:
        # default=str: moto's own notification events may hold datetimes.
        data = json.dumps(message, default=str).encode()
        with send_lock:
            to_parent.send_bytes(data)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    emulator = Emulator(
        host=host,
        port=port,
        region=region,
        persist_dir=persist_dir,
        fsync=fsync,
        replay_progress=None if replay_file is None else replay_reporter(replay_file),
    )
    try:
        emulator.start()
    except EmulatorError as exc:
        send({"type": "error", "message": str(exc), "in_use": isinstance(exc, PortInUseError)})
        return 1
    set_lambda_invoker(lambda function, event: send({"type": "invoke", "function": function,
                                                      "event": event}))  # fmt: skip

    def watch_parent() -> None:
        with contextlib.suppress(OSError):
            while os.read(from_parent, 1):
                pass
        stopping.set()  # end of file: the parent is gone

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    send({"type": "ready", "port": emulator.port})
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        set_lambda_invoker(None)
        emulator.stop()
    return 0


def die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux PR_SET_PDEATHSIG).

    The pipe watch below also ends the child, but only once no process holds the pipe's other
    end and after a clean shutdown; a ``kill -9`` of the daemon must free the port at once for an
    ``up`` right after it. Every write the emulator acknowledged is in the journal already.
    """
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.local.emulator_process")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--to-parent", type=int, required=True)
    parser.add_argument("--from-parent", type=int, required=True)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--persist-dir", type=Path, help="journal directory (default: memory)")
    parser.add_argument("--fsync", action="store_true", help="fsync each journal record")
    parser.add_argument("--replay-file", type=Path, help="where replay progress is reported")
    parser.add_argument("--parent", type=int, help="die with this parent process (Linux)")
    args = parser.parse_args(argv)
    if args.parent is not None:
        die_with_parent(args.parent)
    logging.basicConfig(
        level=os.environ.get("HEADWATER_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return serve(
        args.host,
        args.port,
        Connection(args.to_parent, readable=False),
        args.from_parent,
        region=args.region,
        persist_dir=args.persist_dir,
        fsync=args.fsync,
        replay_file=args.replay_file,
    )


if __name__ == "__main__":
    sys.exit(main())
