"""Entry point of one function's worker process (the local stand-in for a Lambda sandbox).

Started by ``workers`` as ``python -m headwater.local.lambda_service.worker_main <read_fd>
<write_fd> [<iam spec path>]`` with the function's environment already in place. With a spec
path, every AWS call the handler makes is checked against the role's policies first
(``headwater.local.iam.enforce``; that imports botocore before the handler, which the handler
imports anyway). The path comes on the command line, not in the environment, so the handler sees
exactly the environment AWS would give it. It imports the handler once (the
cold start), reports ready or an init error, then serves invocations until told to stop or until
its pipe closes (the parent died). Only the standard library is imported before the handler so
the cold start measures the handler's own imports.

Messages are JSON over a ``multiprocessing.connection.Connection``:
  parent -> worker: {"request_id", "event", "deadline_epoch_ms", "invoked_function_arn"} or null
  worker -> parent: {"type": "ready"} | {"type": "init_error", "error"}
                    | {"type": "result", "payload": <JSON text>} | {"type": "error", "error"}
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from headwater.local.lambda_service.context import LambdaContext


def error_object(exc: BaseException, error_type: str | None = None, request_id: str = "") -> dict:
    """Lambda's error shape for an exception raised by user code."""
    # Like the AWS runtime, show only the user's frames, not the runtime loop that called them.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


class InitError(Exception):
    """The handler could not be loaded; carries Lambda's error object."""

    def __init__(self, error: dict) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


HANDLER_PACKAGES_ENV = "HEADWATER_HANDLER_PACKAGES"
# Passed to each worker by the runner (workers.worker_environment), after the function's own
# variables, so a function cannot widen it.
WORKER_PACKAGES_ENV = "_HEADWATER_HANDLER_PACKAGES"
DEFAULT_HANDLER_PACKAGES = ("headwater",)


def allowed_packages(value: str | None = None) -> frozenset[str]:
    """Top-level packages whose handlers run: ``headwater`` plus a comma-separated list (tests
    name their fixture packages), from ``value`` or the worker's environment."""
    raw = value if value is not None else os.environ.get(WORKER_PACKAGES_ENV, "")
    extra = {name.strip() for name in raw.split(",") if name.strip()}
    return frozenset(DEFAULT_HANDLER_PACKAGES) | extra


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import ``pkg.module.func`` (or ``dir/module.func``) the way the Python runtime does."""
    try:
        module_name, func_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise InitError(
            {
                "errorMessage": f"Bad handler '{handler}': {exc}",
                "errorType": "Runtime.MalformedHandlerName",
                "requestId": "",
                "stackTrace": [],
            }
        ) from None
    module_name = module_name.replace("/", ".")
    allowed = allowed_packages()
    if module_name.split(".", 1)[0] not in allowed:
        # The local mode runs the project's handlers, not whatever module a function names
        # (Terraform variables or an emulator API call could name any importable module).
        raise InitError(
            {
                "errorMessage": f"Unable to import module '{module_name}': outside the allowed "
                f"packages ({', '.join(sorted(allowed))}; {HANDLER_PACKAGES_ENV} adds more)",
                "errorType": "Runtime.ImportModuleError",
                "requestId": "",
                "stackTrace": [],
            }
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError(
            {
                "errorMessage": f"Unable to import module '{module_name}': {exc}",
                "errorType": "Runtime.ImportModuleError",
                "requestId": "",
                "stackTrace": [],
            }
        ) from None
    except SyntaxError as exc:
        raise InitError(error_object(exc, "Runtime.UserCodeSyntaxError")) from None
    except Exception as exc:  # user code failing at import time is an init error on AWS too
        raise InitError(error_object(exc)) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InitError(
            {
                "errorMessage": f"Handler '{func_name}' missing on module '{module_name}'",
                "errorType": "Runtime.HandlerNotFound",
                "requestId": "",
                "stackTrace": [],
            }
        )
    return func


def invoke_once(func: Callable[[Any, Any], Any], request: dict) -> dict:
    """Run the handler for one request and return the reply message."""
    env = os.environ
    name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
    context = LambdaContext(
        function_name=name,
        function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        invoked_function_arn=request["invoked_function_arn"],
        memory_limit_in_mb=env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        aws_request_id=request["request_id"],
        log_group_name=env.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}"),
        log_stream_name=env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        deadline_epoch_ms=request["deadline_epoch_ms"],
    )
    try:
        result = func(request["event"], context)
    except Exception as exc:
        return {"type": "error", "error": error_object(exc, request_id=request["request_id"])}
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {
            "type": "error",
            "error": {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
                "requestId": request["request_id"],
                "stackTrace": [],
            },
        }
    return {"type": "result", "payload": payload}


def serve(reader: Connection, writer: Connection, handler: str) -> int:
    def send(message: dict) -> None:
        writer.send_bytes(json.dumps(message).encode())

    try:
        func = load_handler(handler)
    except InitError as exc:
        send({"type": "init_error", "error": exc.error})
        return 1
    send({"type": "ready"})
    while True:
        try:
            raw = reader.recv_bytes()
        except (EOFError, OSError):
            return 0  # the parent went away: nothing left to serve
        request = json.loads(raw)
        if request is None:
            return 0
        reply = invoke_once(func, request)
        sys.stdout.flush()
        sys.stderr.flush()
        send(reply)


def main() -> int:
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3]:
        from headwater.local.iam import enforce

        enforce.install(sys.argv[3])  # before the handler creates its first client
    reader = Connection(read_fd, writable=False)
    writer = Connection(write_fd, readable=False)
    return serve(reader, writer, os.environ["_HANDLER"])


if __name__ == "__main__":
    sys.exit(main())
