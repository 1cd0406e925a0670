"""The AWS emulator of the local mode: moto in server mode on a loopback port, patched.

The default port is LocalStack's edge port (4566) so LocalStack-aware tools (localstack-client
sessions, awslocal, tflocal) talk to it without configuration. The daemon runs ``Emulator`` in a
child process of its own (``emulator_process``: moto and the API front no longer share a GIL);
tests and benchmarks may still run it in theirs.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"

log = logging.getLogger(__name__)


class EmulatorError(RuntimeError):
    """The emulator could not start; the message is one line meant for the user."""


class PortInUseError(EmulatorError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host} is already in use; stop what listens there or pick another "
            "port with --port N"
        )
        self.port = port


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option werkzeug sets, so a port in TIME_WAIT counts as free, as it will for moto.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def is_ready(endpoint_url: str, timeout: float = 1.0) -> bool:
    """True when a moto server answers at ``endpoint_url`` (its cheap, read-only config page)."""
    try:
        with urllib.request.urlopen(  # noqa: S310 - loopback URL built by us
            f"{endpoint_url}/moto-api/config", timeout=timeout
        ) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_ready(endpoint_url: str, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_ready(endpoint_url):
            return True
        time.sleep(0.1)
    return False


class Emulator:
    """moto's ThreadedMotoServer with headwater's patches, bound to one loopback port.

    ``port=0`` picks a free port (tests); ``endpoint_url`` then names the real one. With
    ``persist_dir`` the state survives the process: start() replays the journal found there
    before the port opens, and every write request is journaled before it is acknowledged
    (``headwater.local.persistence``); without it everything lives in memory, as in moto.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        persist_dir: Path | None = None,
        fsync: bool = False,
        region: str = DEFAULT_REGION,
        replay_progress: Callable[[int, int], None] | None = None,
        ttl_sweep_interval: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.persist_dir = persist_dir
        self.fsync = fsync
        self.region = region
        self.replay_progress = replay_progress
        self.persistence = None
        self._server = None
        # DynamoDB TTL expiry (moto has none): see headwater.local.dynamodb_ttl.
        self.ttl_sweep_interval = ttl_sweep_interval
        self.ttl_sweeper = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, ready_timeout: float = 15.0) -> None:
        from headwater.local import moto_patches

        moto_patches.apply()
        if self.port and not port_is_free(self.host, self.port):
            raise PortInUseError(self.host, self.port)
        # werkzeug logs every request at INFO; keep the daemon log for what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from headwater.local import dynamodb_ttl

        try:
            interval = (
                dynamodb_ttl.interval_from_env()
                if self.ttl_sweep_interval is None
                else self.ttl_sweep_interval
            )
        except ValueError as exc:
            raise EmulatorError(str(exc)) from exc
        app = dynamodb_ttl.SweepApp(DomainDispatcherApplication(create_backend_app))
        if self.persist_dir is not None:
            from headwater.local.persistence import Persistence

            self.persistence = Persistence(
                self.persist_dir, fsync=self.fsync, progress=self.replay_progress
            )
            app = self.persistence.open(app, self.region)
        server = _reporting_server_class()(ip_address=self.host, port=self.port, verbose=False)
        server.app = app
        server.start()
        if server.startup_error is not None:
            if getattr(server.startup_error, "errno", None) == errno.EADDRINUSE:
                raise PortInUseError(self.host, self.port) from server.startup_error
            raise EmulatorError(f"emulator failed to start: {server.startup_error}")
        self._server = server
        self.port = server.get_host_and_port()[1]
        if not wait_until_ready(self.endpoint_url, ready_timeout):
            self.stop()
            raise EmulatorError(f"emulator at {self.endpoint_url} did not become ready")
        # The sweep goes through ``app`` (journaled when persisting), like a client's write.
        self.ttl_sweeper = dynamodb_ttl.Sweeper(app, interval)
        self.ttl_sweeper.start()
        log.info("emulator listening on %s", self.endpoint_url)

    def stop(self) -> None:
        sweeper, self.ttl_sweeper = self.ttl_sweeper, None
        if sweeper is not None:
            sweeper.stop()
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        persistence, self.persistence = self.persistence, None
        if persistence is not None:
            persistence.close()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reporting_server_class() -> type:
    # Imported on use: the CLI's status/down must not pay for importing moto.
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class ReportingMotoServer(ThreadedMotoServer):
        """ThreadedMotoServer whose start() returns instead of hanging when the bind fails.

        moto 5.2.5 binds inside the thread and only sets its ready event on success, so a bind
        error would leave start() waiting forever. It also serves ``app`` (moto's application,
        built by the emulator so persistence can wrap it) instead of building its own.
        """

        startup_error: BaseException | None = None
        app = None  # the WSGI application to serve (moto's, possibly journaled)

        def _server_entry(self) -> None:
            try:
                self._server = make_server(
                    self._ip_address,
                    self._port,
                    self.app,
                    True,
                    request_handler=MotoRequestHandler,
                )
                self._server_ready_event.set()
                self._server.serve_forever()
            except BaseException as exc:
                self.startup_error = exc
                self._server_ready_event.set()

        def stop(self) -> None:
            if self.startup_error is None:
                super().stop()

    return ReportingMotoServer
