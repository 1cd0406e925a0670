"""DynamoDB Time to Live in the emulator: expired items are deleted, as DynamoDB's TTL process does.

moto stores a table's TTL setting (UpdateTimeToLive / DescribeTimeToLive) but never expires an
item. DynamoDB "compares the current time in epoch time format to the time stored in the TTL
attribute of an item. If the epoch time value stored in the attribute is less than the current
time, the item is marked as expired and subsequently deleted" (DynamoDB API reference,
UpdateTimeToLive), and the deletion reaches the table's stream as a REMOVE record whose
``userIdentity`` names the service (``moto_patches.dynamodb_streams``). Only a Number attribute
counts; a missing attribute or another type never expires.

The emulator's sweeper checks every ``interval`` seconds (``HEADWATER_LOCAL_TTL_SWEEP_SECONDS``,
default 10; 0 turns it off) and, when something has expired, sends the emulator an internal
request, ``POST /_headwater/dynamodb/ttl-sweep`` with body ``{"now": <epoch seconds>}``, through
the same WSGI stack as any client request. Crash safety follows from that: with persistence on,
the request is a write (``persistence.requests``), so it is journaled before it returns, under the
journal's lock, in order with every other write; replayed, it meets the same table state and
deletes the same items with the same ``now`` (carried in its body, not read from the clock), so
the items and stream records after a restart are those before it. Deletions are never made
outside such a request.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

SWEEP_PATH = "/_headwater/dynamodb/ttl-sweep"
INTERVAL_ENV = "HEADWATER_LOCAL_TTL_SWEEP_SECONDS"
DEFAULT_INTERVAL = 10.0


def interval_from_env(environ: dict[str, str] | None = None) -> float:
    """The sweep interval in seconds (0: no sweeping); a clear error for a bad value."""
    raw = (environ if environ is not None else os.environ).get(INTERVAL_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{INTERVAL_ENV} must be a number of seconds >= 0, not {raw!r}")
    return value


def _ttl_tables() -> Iterator[tuple[Any, str]]:
    """(table, TTL attribute name) of every table of every account and region with TTL on."""
    from moto.dynamodb.models import dynamodb_backends

    for regions in list(dynamodb_backends.values()):
        for backend in list(regions.values()):
            for table in list(backend.tables.values()):
                ttl = getattr(table, "ttl", None) or {}
                if ttl.get("TimeToLiveStatus") == "ENABLED" and ttl.get("AttributeName"):
                    yield table, ttl["AttributeName"]


def _expired(item: Any, attribute: str, now: float) -> bool:
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return False
    try:
        return float(value.value) < now
    except (TypeError, ValueError):
        return False


def _items(table: Any) -> Iterator[Any]:
    """Every item of a table, unsorted (moto's ``all_items`` sorts them: n log n per sweep)."""
    for entry in list(table.items.values()):
        if table.range_key_attr:
            yield from list(entry.values())
        else:
            yield entry


def expired_items(now: float) -> list[tuple[Any, Any]]:
    """(table, item) pairs whose TTL has passed at ``now`` (read only)."""
    return [
        (table, item)
        for table, attribute in _ttl_tables()
        for item in _items(table)
        if _expired(item, attribute, now)
    ]


def sweep(now: float) -> int:
    """Delete every item expired at ``now`` as TTL does; returns how many were deleted."""
    from headwater.local.moto_patches.dynamodb_streams import ttl_deletion

    deleted = 0
    with ttl_deletion():
        for table, item in expired_items(now):
            if table.delete_item(item.hash_key, item.range_key) is not None:
                deleted += 1
    return deleted


class SweepFailed(Exception):
    """The emulator did not answer a sweep request with 200."""


class SweepApp:
    """WSGI layer in front of moto that serves the sweep request (and passes the rest on)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != SWEEP_PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return _respond(start_response, "405 Method Not Allowed", {"message": "POST only"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            now = float(json.loads(environ["wsgi.input"].read(length) or b"{}")["now"])
        except (KeyError, TypeError, ValueError):
            return _respond(
                start_response, "400 Bad Request", {"message": 'body must be {"now": <seconds>}'}
            )
        return _respond(start_response, "200 OK", {"deleted": sweep(now)})


def _respond(start_response: Callable, status: str, document: dict) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def sweep_request(now: float) -> dict[str, Any]:
    """The WSGI environ of one sweep request (what the sweeper hands the emulator's app)."""
    body = json.dumps({"now": now}).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": SWEEP_PATH,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


class Sweeper:
    """The thread that asks for a sweep whenever an item has expired."""

    def __init__(
        self, app: Callable, interval: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app  # the outermost application: the request is journaled like any write
        self.interval = interval
        self.clock = clock
        self.deleted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dynamodb-ttl", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def run_once(self) -> int:
        """One check, and one sweep request if anything has expired; returns what it deleted."""
        now = self.clock()
        if not expired_items(now):
            return 0  # nothing to do: no request, so nothing journaled
        statuses: list[str] = []
        chunks = self.app(sweep_request(now), lambda status, _h, _e=None: statuses.append(status))
        body = b"".join(chunks)
        if not statuses or not statuses[0].startswith("200"):
            raise SweepFailed(f"TTL sweep answered {statuses[:1]}: {body[:200]!r}")
        deleted = int(json.loads(body)["deleted"])
        self.deleted += deleted
        return deleted

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                deleted = self.run_once()
            except RuntimeError as exc:  # a table changed size under the unlocked check
                log.debug("TTL check interrupted (%s); again in %.1fs", exc, self.interval)
                continue
            except Exception as exc:
                log.warning("TTL sweep failed: %s", exc)
                continue
            if deleted:
                log.info("TTL: %d expired item(s) deleted", deleted)
