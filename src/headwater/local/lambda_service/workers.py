"""Worker processes: each Lambda function runs in its own processes, as in its own sandbox.

A worker is a fresh Python interpreter (``worker_main``) started with exactly the
function's environment: a minimal base (PATH, HOME, LANG, PYTHONPATH built from this interpreter's
``sys.path`` so the handler imports), the function's own variables, and the variables the Lambda
runtime sets. Nothing else from the parent leaks in: the environment is handed to the new process
by ``subprocess`` (not copied from ``os.environ`` as ``multiprocessing`` spawn would), so even
``/proc/<pid>/environ`` holds no unrelated secrets.

The handler is imported once per worker (cold start) and reused (warm). The parent enforces the
timeout: it kills a worker that overruns and reports Lambda's timeout error; a worker that dies is
reported as Lambda reports a runtime exit, and either way the next invocation starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("headwater.local.lambda_service.workers")

# Lambda's init phase has its own 10 s budget, separate from the function timeout.
INIT_TIMEOUT_SECONDS = 10.0
_STOP_GRACE_SECONDS = 1.0
# The emulator accepts any credentials; "test" is the LocalStack convention the CLI also uses.
EMULATOR_CREDENTIAL = "test"


@dataclass(frozen=True)
class FunctionConfig:
    """What the runner needs to know about one function (from the emulator's Lambda API)."""

    name: str
    arn: str
    handler: str
    timeout: int = 3
    memory_size: int = 128
    runtime: str = "python3.12"
    environment: tuple[tuple[str, str], ...] = ()
    role: str = ""
    # Part of the identity so that a redeploy (update_function_code) retires warm workers: new
    # workers import the code afresh, as a new sandbox does on AWS.
    code_sha256: str = ""
    last_modified: str = ""

    @classmethod
    def from_api(cls, conf: dict[str, Any]) -> FunctionConfig:
        variables = (conf.get("Environment") or {}).get("Variables") or {}
        return cls(
            name=conf["FunctionName"],
            arn=conf["FunctionArn"],
            handler=conf.get("Handler") or "",
            timeout=int(conf.get("Timeout") or 3),
            memory_size=int(conf.get("MemorySize") or 128),
            runtime=conf.get("Runtime") or "python3.12",
            environment=tuple(sorted(variables.items())),
            role=conf.get("Role") or "",
            code_sha256=conf.get("CodeSha256") or "",
            last_modified=str(conf.get("LastModified") or ""),
        )


@dataclass(frozen=True)
class InvokeResult:
    """Outcome of one invocation, like Lambda's Invoke response.

    ``payload`` is the handler's return value (decoded from JSON), or Lambda's error object
    ``{"errorMessage", "errorType", "stackTrace", ...}`` when ``function_error`` is set
    ("Unhandled", as in the ``X-Amz-Function-Error`` header).
    """

    function_name: str
    request_id: str
    payload: Any
    function_error: str | None = None
    duration_ms: float = 0.0
    cold_start: bool = False

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def error_type(self) -> str | None:
        if self.ok or not isinstance(self.payload, dict):
            return None
        return self.payload.get("errorType")


def python_path() -> str:
    """This interpreter's import path, so workers import the same packages (venv, src, tests)."""
    entries = [os.path.abspath(p) for p in sys.path if p and os.path.exists(p)]
    return os.pathsep.join(dict.fromkeys(entries))


def worker_environment(
    config: FunctionConfig, endpoint_url: str, region: str, log_stream_name: str
) -> dict[str, str]:
    """The complete environment of a worker: base, the function's variables, then the runtime's."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONPATH"] = python_path()
    env["PYTHONUNBUFFERED"] = "1"  # handler logs reach the daemon's log as they happen
    env.update(dict(config.environment))
    # Set last: on AWS these are reserved, a function's own variables cannot override them.
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIAL,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "_HANDLER": config.handler,
            # The packages whose handlers may run (worker_main.load_handler): the daemon's
            # setting, never the function's.
            "_HEADWATER_HANDLER_PACKAGES": os.environ.get("HEADWATER_HANDLER_PACKAGES", ""),
        }
    )
    return env


def _new_log_stream_name() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"


def _error(request_id: str, error_type: str, message: str) -> dict:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id}


class PoolClosed(RuntimeError):
    """The function's pool was retired (configuration changed, runner stopping)."""


class WorkerDied(Exception):
    """The worker process ended while it owed an answer."""


class Worker:
    """One live worker process for one function."""

    def __init__(
        self, config: FunctionConfig, endpoint_url: str, region: str, iam_spec: str | None = None
    ) -> None:
        self.config = config
        self.log_stream_name = _new_log_stream_name()
        env = worker_environment(config, endpoint_url, region, self.log_stream_name)
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "headwater.local.lambda_service.worker_main",
                    str(to_worker_r),
                    str(from_worker_w),
                    *([iam_spec] if iam_spec else []),
                ],
                env=env,
                pass_fds=(to_worker_r, from_worker_w),
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._writer = Connection(to_worker_w, readable=False)
        self._reader = Connection(from_worker_r, writable=False)
        self.initialised = False
        self.init_error: dict | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def _receive(self, timeout: float) -> dict | None:
        """Next message, None on timeout; WorkerDied if the process ended instead of answering."""
        if not self._reader.poll(max(0.0, timeout)):
            return None
        try:
            return json.loads(self._reader.recv_bytes())
        except (EOFError, OSError) as exc:
            raise WorkerDied from exc

    def wait_ready(self) -> None:
        """Block through the cold start; sets ``init_error`` if the handler cannot be loaded."""
        try:
            message = self._receive(INIT_TIMEOUT_SECONDS)
        except WorkerDied:
            message = {
                "type": "init_error",
                "error": _error("", "Runtime.ExitError", self._exit_description()),
            }
        if message is None:
            message = {
                "type": "init_error",
                "error": _error(
                    "",
                    "Sandbox.Timedout",
                    f"Init timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds",
                ),
            }
        if message["type"] != "ready":
            self.init_error = message["error"]
            self.kill()
        self.initialised = True

    def _exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.returncode
        if code is not None and code < 0:
            return f"Runtime exited with error: signal {-code}"
        return f"Runtime exited with error: exit status {code}"

    def invoke(
        self, event: Any, request_id: str, invoked_arn: str, timeout: float
    ) -> tuple[Any, str | None]:
        """Run one event; returns (payload, function_error). Never raises for handler failures."""
        deadline = time.monotonic() + timeout
        request = {
            "request_id": request_id,
            "event": event,
            "deadline_epoch_ms": int((time.time() + timeout) * 1000),
            "invoked_function_arn": invoked_arn,
        }
        try:
            self._writer.send_bytes(json.dumps(request).encode())
            message = self._receive(deadline - time.monotonic())
        except (WorkerDied, BrokenPipeError, OSError):
            detail = self._exit_description()
            log.warning("%s: worker %s died: %s", self.config.name, self.pid, detail)
            return _error(
                request_id, "Runtime.ExitError", f"RequestId: {request_id} Error: {detail}"
            ), "Unhandled"
        if message is None:
            log.warning(
                "%s: request %s timed out, killing worker %s",
                self.config.name,
                request_id,
                self.pid,
            )
            self.kill()
            text = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            return _error(request_id, "Sandbox.Timedout", text), "Unhandled"
        if message["type"] == "result":
            return json.loads(message["payload"]), None
        return message["error"], "Unhandled"

    def stop(self) -> None:
        """Ask the worker to exit; kill it if it does not within a short grace period."""
        if self.alive():
            with contextlib.suppress(OSError):  # already gone: wait() below notices
                self._writer.send_bytes(b"null")
            try:
                self.process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            log.error("worker %s did not die after SIGKILL", self.pid)
        # Pipes stay open: another thread may be reading them; stop() closes them afterwards.

    def _close_pipes(self) -> None:
        for conn in (self._writer, self._reader):
            if not conn.closed:
                conn.close()


@dataclass
class FunctionPool:
    """Up to ``max_workers`` warm workers of one function, started lazily.

    A worker serves one invocation at a time, so the pool size is the function's concurrency.
    """

    config: FunctionConfig
    endpoint_url: str
    region: str
    max_workers: int = 2
    # The role's policies for the local IAM checks (``headwater.local.iam``); None: unchecked.
    iam_spec: str | None = None
    _idle: list[Worker] = field(default_factory=list)
    _busy: int = 0
    _live: set[Worker] = field(default_factory=set)
    _closed: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def invoke(
        self,
        event: Any,
        timeout: float | None = None,
        invoked_arn: str | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        # An asynchronous invocation keeps its request id through its retries, as on AWS.
        request_id = request_id or str(uuid.uuid4())
        limit = float(timeout if timeout is not None else self.config.timeout)
        started = time.monotonic()
        worker, cold = self._acquire()
        try:
            if worker.init_error is not None:
                payload: Any = dict(worker.init_error, requestId=request_id)
                error: str | None = "Unhandled"
            else:
                payload, error = worker.invoke(
                    event, request_id, invoked_arn or self.config.arn, limit
                )
        finally:
            self._release(worker)
        result = InvokeResult(
            function_name=self.config.name,
            request_id=request_id,
            payload=payload,
            function_error=error,
            duration_ms=(time.monotonic() - started) * 1000,
            cold_start=cold,
        )
        # The line Lambda writes after each invocation, so the daemon log reads like CloudWatch.
        log.info(
            "%s REPORT RequestId: %s Duration: %.2f ms%s%s",
            self.config.name,
            request_id,
            result.duration_ms,
            " (cold start)" if cold else "",
            f" Error: {result.error_type}" if error else "",
        )
        return result

    def _acquire(self) -> tuple[Worker, bool]:
        dead: list[Worker] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise PoolClosed(f"function {self.config.name} is no longer served")
                    while self._idle:
                        worker = self._idle.pop()
                        if worker.alive():
                            self._busy += 1
                            return worker, False
                        self._live.discard(worker)
                        dead.append(worker)
                    if self._busy < self.max_workers:
                        self._busy += 1
                        break
                    self._cond.wait(timeout=1.0)
        finally:
            # Cleaning up after dead workers waits on processes: never under the pool's lock.
            for worker in dead:
                worker.stop()
        # Start outside the lock: a cold start must not hold up warm invocations.
        try:
            worker = Worker(self.config, self.endpoint_url, self.region, self.iam_spec)
            with self._cond:
                self._live.add(worker)
            worker.wait_ready()
        except BaseException:
            with self._cond:
                self._busy -= 1
                self._cond.notify()
            raise
        log.info("%s: cold start of worker %s", self.config.name, worker.pid)
        return worker, True

    def _release(self, worker: Worker) -> None:
        with self._cond:
            self._busy -= 1
            keep = not self._closed and worker.alive() and worker.init_error is None
            if keep:
                self._idle.append(worker)
            else:
                self._live.discard(worker)
            self._cond.notify()
        if not keep:
            worker.stop()

    def worker_pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in self._idle if w.alive()]

    def close(self, kill_busy: bool = False) -> None:
        """Stop idle workers now; busy ones stop when their invocation returns, or are killed.

        A changed function lets running invocations finish; shutting the runner down does not
        wait for them (their messages simply become visible again, as after a crash on AWS).
        """
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [w for w in self._live if w not in idle]
            self._live.difference_update(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()
        if kill_busy:
            for worker in busy:
                worker.kill()
