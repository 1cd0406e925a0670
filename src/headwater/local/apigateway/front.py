"""The local API Gateway front (REST v1): serves each REST API of the emulator on a loopback port.

moto stores API Gateway's configuration but does not serve it. This front reads it
(``model.discover``, every ``refresh_interval`` seconds, because Terraform creates the
APIs after the daemon starts) and answers HTTP requests as API Gateway would: route matching with
path parameters, ``x-api-key`` checks, usage-plan throttle and quota, request parameter
validation, then a synchronous Lambda proxy invocation through the runner.

Each API gets its own ``ThreadingHTTPServer`` on 127.0.0.1, ports from ``HEADWATER_API_PORT``
(default 4580) upward in order of API name, busy ports skipped; a port stays with its API name
while the daemon runs, so a re-created API keeps its URL. URLs have API Gateway's shape after the
host: ``http://127.0.0.1:<port>/<stage>/<path>``. The mapping is written to ``apis.json`` in the
state directory for ``headwater local status``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
from botocore.config import Config

from headwater.local.apigateway.events import (
    Caller,
    IncomingRequest,
    MalformedProxyResponse,
    ProxyResponse,
    build_event,
    map_response,
    message,
)
from headwater.local.apigateway.model import Method, RestApi, Snapshot, discover, discover_keys
from headwater.local.apigateway.request_validation import body_error
from headwater.local.apigateway.usage_plans import Decision, UsageMeter
from headwater.local.state import write_atomically

__all__ = ["API_PORT_ENV", "DEFAULT_API_PORT", "ApiFront", "read_apis"]

log = logging.getLogger("headwater.local.apigateway.front")

API_PORT_ENV = "HEADWATER_API_PORT"
DEFAULT_API_PORT = 4580
APIS_FILE = "apis.json"
HOST = "127.0.0.1"
# How far above the base port to look for free ports before giving up on an API.
PORT_SEARCH_SPAN = 100
# API Gateway answers an unknown resource or method with 403 "Missing Authentication Token"
# (it cannot tell a missing route from a request that lacks SigV4 credentials).
UNKNOWN_ROUTE_STATUS = 403
EMULATOR_CREDENTIAL = "test"  # the emulator accepts any credentials

# API Gateway's documented quotas for REST APIs (what a client meets on AWS, answered in JSON):
# payload 10 MB (413), URL length 8192 characters (414), request line and headers 10240 bytes
# in total (431). Methods outside this set reach no resource (403, as for an unknown route).
MAX_BODY_BYTES = 10 * 1024 * 1024
DRAIN_BYTES = 4 * MAX_BODY_BYTES  # bodies up to this size are read and dropped before a 413
DRAIN_PAUSE = 1.0  # seconds without a byte that end the draining
MAX_URL_LENGTH = 8192
MAX_HEADER_BYTES = 10240
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
# Connections served at once per API (more wait in the listen backlog) and how long a connection
# may sit idle or send a request slowly before it is closed: a few stuck clients cannot exhaust
# the daemon's threads.
MAX_CONNECTIONS = 64
CONNECTION_TIMEOUT = 30.0


class Invoker(Protocol):
    """The runner's synchronous invocation (``lambda_service.runner.Runner``)."""

    def invoke(self, function: str, event: dict, timeout: float | None = None) -> Any: ...

    def functions(self) -> dict[str, Any]: ...


def api_base_port() -> int:
    raw = os.environ.get(API_PORT_ENV, "")
    try:
        return int(raw) if raw else DEFAULT_API_PORT
    except ValueError:
        log.warning("%s=%r is not a port number; using %d", API_PORT_ENV, raw, DEFAULT_API_PORT)
        return DEFAULT_API_PORT


def read_apis(state_dir: Path) -> dict[str, dict]:
    """The front's published mapping ({api name: {"id", "url", "stages"}}), {} if none."""
    try:
        return json.loads((Path(state_dir) / APIS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _error_type(status: int, text: str) -> str:
    if text == "Missing Authentication Token":
        return "MissingAuthenticationTokenException"
    return {
        400: "BadRequestException",
        403: "ForbiddenException",
        429: "LimitExceededException" if text == "Limit Exceeded" else "TooManyRequestsException",
        502: "InternalServerErrorException",
        504: "IntegrationTimeoutException",
    }.get(status, "InternalServerErrorException")


def _gateway_error(status: int, text: str) -> ProxyResponse:
    return message(status, text, **{"x-amzn-ErrorType": _error_type(status, text)})


class ApiFront:
    """Discover REST APIs in the emulator and serve each on its own loopback port."""

    def __init__(
        self,
        endpoint_url: str,
        invoker: Invoker,
        region: str = "us-east-1",
        *,
        base_port: int | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        refresh_interval: float = 2.0,
        meter: UsageMeter | None = None,
        client_factory: Callable[[], Any] | None = None,
        max_connections: int = MAX_CONNECTIONS,
        connection_timeout: float = CONNECTION_TIMEOUT,
    ) -> None:
        self.max_connections = max_connections
        self.connection_timeout = connection_timeout
        self.endpoint_url = endpoint_url
        self.invoker = invoker
        self.region = region
        self.base_port = api_base_port() if base_port is None else base_port
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.refresh_interval = refresh_interval
        self.meter = meter or UsageMeter()
        self._client_factory = client_factory or self._default_client
        self._client = self._client_factory()
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self._snapshot = Snapshot()
        self._apis: dict[str, RestApi] = {}  # server name -> API
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._published: dict[str, dict] | None = None
        self._keys_read_at = 0.0  # monotonic start of the latest read of keys and plans
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _default_client(self) -> Any:
        return boto3.session.Session(
            aws_access_key_id=EMULATOR_CREDENTIAL,
            aws_secret_access_key=EMULATOR_CREDENTIAL,
            region_name=self.region,
        ).client(
            "apigateway",
            endpoint_url=self.endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=30),
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # the background refresh keeps trying
            log.warning("initial API discovery at %s failed: %s", self.endpoint_url, exc)
        thread = threading.Thread(target=self._refresh_loop, name="api-front-refresh", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            self._apis.clear()
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self.state_dir is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / APIS_FILE).unlink()

    def __enter__(self) -> ApiFront:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _refresh_loop(self) -> None:
        while not self._stopping.wait(self.refresh_interval):
            try:
                self.refresh()
            except Exception as exc:  # emulator restarting: keep serving what we have
                log.warning("API refresh from %s failed: %s", self.endpoint_url, exc)

    # -- discovery -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read APIs, keys and plans; open servers for new APIs, close those of removed ones."""
        with self._refresh_lock:
            started = time.monotonic()
            snapshot = discover(self._client)
            self._keys_read_at = started
            self._apply(snapshot)

    def _refresh_keys_since(self, arrived: float) -> None:
        """Make sure keys and plans were read after ``arrived`` (a request's arrival time).

        An unknown key may have been created a moment ago (``headwater keys create``). Requests
        waiting here share one read: whoever gets the lock after a read that started after their
        arrival reads nothing more, so a burst of bad keys costs one read per read in flight.
        """
        with self._refresh_lock:
            if self._keys_read_at >= arrived:
                return
            started = time.monotonic()
            try:
                keys, plans = discover_keys(self._client)
            except Exception as exc:
                log.warning("reading API keys failed: %s", exc)
                return
            self._keys_read_at = started
            with self._lock:
                self._snapshot = replace(self._snapshot, keys_by_value=keys, plans=plans)

    def _apply(self, snapshot: Snapshot) -> None:
        named: dict[str, RestApi] = {}
        for api in sorted(snapshot.apis, key=lambda a: (a.name, a.id)):
            # Two APIs may share a name; the later one (by id) is told apart by its id.
            named[api.name if api.name not in named else f"{api.name}-{api.id}"] = api
        closing = []
        with self._lock:
            if self._stopping.is_set():
                return
            self._snapshot = snapshot
            for name in list(self._servers):
                if name not in named:
                    log.info("API %s removed: closing its port", name)
                    closing.append(self._servers.pop(name))
                    self._apis.pop(name, None)
            for name, api in named.items():  # sorted by name: ports in order of API name
                self._apis[name] = api
                if name not in self._servers:
                    server = self._open_server(name)
                    if server is not None:
                        self._servers[name] = server
            published = self._describe()
        for server in closing:
            server.shutdown()
            server.server_close()
        if published != self._published:
            self._published = published
            self._write_apis(published)

    def _open_server(self, name: str) -> ThreadingHTTPServer | None:
        taken = {server.server_address[1] for server in self._servers.values()}
        for port in range(self.base_port, self.base_port + PORT_SEARCH_SPAN):
            if port in taken:
                continue
            try:
                server = _FrontServer((HOST, port), self, name)
            except OSError:
                continue  # busy: someone else's port
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"api-front-{name}",
                daemon=True,
            )
            thread.start()
            log.info("API %s served at http://%s:%d", name, HOST, port)
            return server
        log.error(
            "API %s: no free port in %d-%d", name, self.base_port, self.base_port + PORT_SEARCH_SPAN
        )
        return None

    def _describe(self) -> dict[str, dict]:
        return {
            name: {
                "id": self._apis[name].id,
                "url": f"http://{HOST}:{server.server_address[1]}",
                "stages": sorted(self._apis[name].stages),
            }
            for name, server in sorted(self._servers.items())
        }

    def _write_apis(self, published: dict[str, dict]) -> None:
        if self.state_dir is None:
            return
        write_atomically(self.state_dir / APIS_FILE, json.dumps(published, indent=2) + "\n")

    # -- introspection ---------------------------------------------------------------------

    def urls(self) -> dict[str, dict]:
        """{api name: {"id", "url", "stages"}} for the APIs being served."""
        with self._lock:
            return self._describe()

    # -- serving ---------------------------------------------------------------------------

    def handle(self, server_name: str, request: IncomingRequest) -> ProxyResponse:
        request_id = str(uuid.uuid4())
        try:
            response = self._handle(server_name, request, request_id)
        except Exception:
            log.exception("API front failed on %s %s", request.method, request.path)
            response = _gateway_error(500, "Internal server error")
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _handle(self, server_name: str, request: IncomingRequest, request_id: str):
        with self._lock:
            api = self._apis.get(server_name)
            snapshot = self._snapshot
        if api is None or request.stage not in api.stages:
            return _gateway_error(403, "Forbidden")
        if request.method not in METHODS:  # case-sensitive, as HTTP methods are
            return _gateway_error(UNKNOWN_ROUTE_STATUS, "Missing Authentication Token")
        if request.segments is not None:
            matched = api.match_segments(request.method, request.segments)
        else:
            matched = api.match(request.method, request.path)
        if matched is None:
            return _gateway_error(UNKNOWN_ROUTE_STATUS, "Missing Authentication Token")
        method, path_parameters = matched
        caller = Caller()
        if method.api_key_required:
            refused, caller = self._check_key(api, request, snapshot)
            if refused is not None:
                return refused
        missing = _missing_parameters(method, request, path_parameters)
        if missing:
            return _gateway_error(
                400, f"Missing required request parameters: [{', '.join(missing)}]"
            )
        invalid_body = body_error(api, method, request)
        if invalid_body:  # BAD_REQUEST_BODY: the function is not invoked
            return _gateway_error(400, invalid_body)
        return self._integrate(api, method, request, path_parameters, caller, request_id)

    def _check_key(self, api: RestApi, request: IncomingRequest, snapshot: Snapshot):
        arrived = time.monotonic()
        value = request.header("x-api-key")
        if not value:
            return _gateway_error(403, "Forbidden"), Caller()
        key = snapshot.keys_by_value.get(value)
        if key is None:
            self._refresh_keys_since(arrived)
            with self._lock:
                snapshot = self._snapshot
            key = snapshot.keys_by_value.get(value)
        if key is None or not key.enabled:
            return _gateway_error(403, "Forbidden"), Caller()
        plans = snapshot.plans_for(key.id, api.id, request.stage)
        if not plans:  # a key only opens the API stages of its usage plans
            return _gateway_error(403, "Forbidden"), Caller()
        decision = self.meter.check(plans[0].limits, key.id)
        if decision is Decision.THROTTLED:
            return _gateway_error(429, "Too Many Requests"), Caller()
        if decision is Decision.QUOTA_EXCEEDED:
            return _gateway_error(429, "Limit Exceeded"), Caller()
        return None, Caller(api_key=key.value, api_key_id=key.id)

    def _integrate(self, api, method: Method, request, path_parameters, caller, request_id):
        integration = method.integration
        if integration is None:
            return _gateway_error(500, "Internal server error")
        if integration.type == "MOCK":
            templates = dict(integration.response_templates)
            body = templates.get("application/json") or next(iter(templates.values()), "") or "{}"
            return ProxyResponse(
                integration.response_status,
                [("Content-Type", "application/json")],
                body.encode(),
            )
        stage = api.stages[request.stage]
        function = _substitute_stage_variables(integration.function_arn or "", stage.variables)
        if integration.type != "AWS_PROXY" or not function:
            log.error(
                "%s %s: integration %s is not served locally (only AWS_PROXY to Lambda, MOCK)",
                method.http_method,
                method.resource_path,
                integration.type,
            )
            return _gateway_error(500, "Internal server error")
        event = build_event(
            request,
            api_id=api.id,
            resource_id=method.resource_id,
            resource_path=method.resource_path,
            path_parameters=path_parameters,
            stage_variables=stage.variables,
            caller=caller,
            request_id=request_id,
        )
        timeout = self._integration_timeout(function, integration.timeout)
        try:
            result = self.invoker.invoke(function, event, timeout=timeout)
        except LookupError as exc:  # FunctionNotFound
            log.error("%s %s: %s", method.http_method, method.resource_path, exc)
            return _gateway_error(502, "Internal server error")
        if result.function_error:
            if timeout is not None and result.error_type == "Sandbox.Timedout":
                return _gateway_error(504, "Endpoint request timed out")
            log.warning(
                "%s %s: function error %s",
                method.http_method,
                method.resource_path,
                result.error_type,
            )
            return _gateway_error(502, "Internal server error")
        try:
            return map_response(result.payload)
        except MalformedProxyResponse as exc:
            log.warning(
                "%s %s: malformed Lambda proxy response: %s",
                method.http_method,
                method.resource_path,
                exc,
            )
            return _gateway_error(502, "Internal server error")

    def _integration_timeout(self, function: str, integration_timeout: float) -> float | None:
        """The integration's timeout when it is shorter than the function's own (else None:
        the function times out first, which API Gateway reports as a 502, not a 504)."""
        name = function.split(":")[6] if function.startswith("arn:") else function
        config = self.invoker.functions().get(name)
        configured = getattr(config, "timeout", None)
        if configured is not None and configured <= integration_timeout:
            return None
        return integration_timeout


def _missing_parameters(method: Method, request: IncomingRequest, path_parameters) -> list[str]:
    if not method.validate_parameters:
        return []
    query = {name for name, _ in request.query}
    missing = []
    for where, name in method.required_parameters:
        if where == "querystring":
            present = name in query
        elif where == "header":
            present = request.header(name) is not None
        elif where == "path":
            present = bool(path_parameters.get(name))
        else:
            present = True
        if not present:
            missing.append(name)
    return missing


_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def _substitute_stage_variables(text: str, variables: dict[str, str]) -> str:
    return _STAGE_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), text)


# Connection threads are named "<prefix><api name>:<port>".
CONNECTION_THREAD_PREFIX = "api-front-connection-"


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], front: ApiFront, api_name: str) -> None:
        self.front = front
        self.api_name = api_name
        # Taken before a connection's thread starts, given back when it ends: at most this many
        # threads; further connections wait in the backlog instead of each getting a thread.
        self._slots = threading.BoundedSemaphore(front.max_connections)
        super().__init__(address, _FrontHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's, with the slot taken first and a name that says whose thread it is.
        self._slots.acquire()
        try:
            threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name=f"{CONNECTION_THREAD_PREFIX}{self.api_name}:{self.server_address[1]}",
                daemon=True,
            ).start()
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-request is routine: one line, not a traceback.
        log.info("connection from %s ended with an error", client_address[0], exc_info=False)


class _BadRequest(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class _FrontHandler(BaseHTTPRequestHandler):
    server: _FrontServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate sends; with Nagle on, the body waits for the client's
    # delayed ACK: ~40 ms on every keep-alive request (bench/api_bench.py).
    disable_nagle_algorithm = True
    error_content_type = "application/json"

    def setup(self) -> None:
        self.timeout = self.server.front.connection_timeout  # idle and slow clients are closed
        super().setup()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError) as exc:
            log.info("connection from %s closed: %s", self.client_address[0], exc)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (request line over 64 KiB, header lines too long or too
        many, a bad request line) as API Gateway answers: JSON, never HTML."""
        text = {414: "Request-URI Too Long", 431: "Request Header Fields Too Large"}.get(
            code, message or "Bad Request"
        )
        self._reply(_gateway_error(code, text), close=True)

    def __getattr__(self, name: str) -> Any:
        # Every method token reaches _serve, which answers an unknown one as API Gateway does,
        # instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if len(self.headers.get_all("Content-Length") or []) > 1 or not raw.strip().isdigit():
            raise _BadRequest(400, "Invalid Content-Length")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            if length <= DRAIN_BYTES:
                self._drain(length)
            raise _BadRequest(413, "Request Too Long")
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            raise _BadRequest(400, "Incomplete request body")
        return body

    def _drain(self, length: int) -> None:
        """Read and drop up to ``length`` bytes of a refused body, while they keep coming: a
        client still sending would otherwise see a broken pipe instead of the answer."""
        self.connection.settimeout(DRAIN_PAUSE)
        with contextlib.suppress(TimeoutError, ConnectionError):
            while length > 0:
                chunk = self.rfile.read1(min(1 << 20, length))
                if not chunk:
                    break
                length -= len(chunk)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "Invalid chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise _BadRequest(413, "Request Too Long")
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _check_limits(self) -> None:
        if len(self.path) > MAX_URL_LENGTH:
            raise _BadRequest(414, "Request-URI Too Long")
        size = len(self.requestline) + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        if size > MAX_HEADER_BYTES:
            raise _BadRequest(431, "Request Header Fields Too Large")

    def _serve(self) -> None:
        try:
            self._check_limits()
            body = self._read_body()
        except _BadRequest as exc:
            # The rest of the request is unread: the connection cannot be reused.
            self._reply(_gateway_error(exc.status, exc.text), close=True)
            return
        split = urlsplit(self.path)
        parts = split.path.split("/", 2)  # "", stage, rest
        stage = unquote(parts[1]) if len(parts) > 1 else ""
        # Segments are split before decoding: an encoded slash (%2F) stays inside its segment,
        # as API Gateway keeps it inside a path parameter.
        segments = [unquote(p) for p in (parts[2] if len(parts) > 2 else "").split("/") if p]
        path = "/" + "/".join(segments)
        request = IncomingRequest(
            method=self.command,
            path=path,
            stage=stage,
            headers=list(self.headers.items()),
            query=parse_qsl(split.query, keep_blank_values=True),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            segments=tuple(segments),
        )
        self._reply(self.server.front.handle(self.server.api_name, request))

    def _reply(self, response: ProxyResponse, close: bool = False) -> None:
        if close:
            self.close_connection = True
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":  # unset when the request line was unread
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)
