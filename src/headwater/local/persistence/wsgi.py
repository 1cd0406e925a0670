"""The emulator's write-ahead journal as a WSGI layer around moto's application, and its replay.

Every write request (see ``requests.py``) runs under one lock, with this thread's randomness
seeded and its SQS clock frozen (``determinism.py``), and is appended to the journal before its
response is returned: what a client saw acknowledged is on disk. Reads take no lock and write
nothing, so GetItem, Query, GetObject and friends stay as fast and as concurrent as before.

Writes are serialised so the journal's order is the order in which they changed moto's state;
replaying the journal in that order, each request with its recorded seed and instant, rebuilds the
same buckets, objects, version ids, queues, message ids, receipt handles, tables, items, REST API,
key and usage plan ids. moto's own request handling is not thread-safe per resource anyway.

SQS ReceiveMessage is a write (it hides messages, counts receives, moves messages to the DLQ),
but it may long-poll for 20 seconds, which must not hold the lock. The SQS hook below turns one
long poll into attempts with no wait: each attempt takes the lock, runs at a frozen instant and,
if it received a message or moved one, is journaled as a no-wait request with that instant.
Replayed, it receives the same messages with the same receipt handles, and an in-flight message
becomes visible again when its visibility timeout runs out, counted from that original instant.

A write the SDK retries (same ``amz-sdk-invocation-id``, ``attempt`` above 1) after its first
attempt was applied gets that attempt's answer instead of running twice. Such a retry means the
first answer was lost on the way to the client (a dropped connection, a client-side timeout on a
busy machine); run again, moto would make a second API key, message or object version that the
client never learns of. A local `terraform apply` once left such a key behind, with no usage
plan, next to the one it recorded.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from headwater.local.persistence import determinism
from headwater.local.persistence.journal import Journal, Record
from headwater.local.persistence.requests import READ_PREFIXES, STATELESS, Kind, classify

log = logging.getLogger(__name__)

# The environ entries a request is rebuilt from (the rest is the server's own).
_KEPT = (
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "wsgi.url_scheme",
    "REQUEST_URI",
    "RAW_URI",
)
_DROPPED_HEADERS = ("HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION", "HTTP_EXPECT")

_local = threading.local()
UNDELIVERABLE_PAUSE = 0.01
# Answers to recent writes, by invocation id, for their retries: SDKs retry within seconds, and
# a few hundred writes cover every request in flight on this machine.
ANSWERED_KEPT = 512


def _invocation(environ: dict) -> tuple[str | None, int]:
    """The SDK's invocation id of a request and which attempt this is (1 when not given)."""
    invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID") or None
    attempt = 1
    for part in (environ.get("HTTP_AMZ_SDK_REQUEST") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            attempt = int(value)
    return invocation, attempt


class _Pending:
    """A write request in flight on this thread: what the journal will hold for it."""

    def __init__(self, store: JournaledApp, env: dict[str, str], body: bytes) -> None:
        self.store = store
        self.env = env
        self.body = body
        self.seed = determinism.new_seed()
        self.instant = time.time()
        self.committed = False

    def commit(self) -> None:
        """Append to the journal (the caller holds the write lock)."""
        if not self.committed:
            meta = {"env": self.env, "seed": self.seed, "t": self.instant}
            self.store.journal.append(meta, self.body)
            self.committed = True


def _read_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    length = environ.get("CONTENT_LENGTH")
    return stream.read(int(length)) if length else b""


def _snapshot_env(environ: dict, body: bytes) -> dict[str, str]:
    env = {k: environ[k] for k in _KEPT if isinstance(environ.get(k), str)}
    env.update(
        (k, v)
        for k, v in environ.items()
        if k.startswith("HTTP_") and k not in _DROPPED_HEADERS and isinstance(v, str)
    )
    env["CONTENT_LENGTH"] = str(len(body))
    return env


def _environ_for(env: dict[str, str], body: bytes) -> dict[str, Any]:
    return {
        **env,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _run(app: Callable, environ: dict) -> tuple[str, list, list[bytes]]:
    """Call the WSGI app and collect its whole response (moto's responses are in memory)."""
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], chunks


class JournaledApp:
    """Wraps moto's WSGI application: journals writes, leaves reads alone."""

    def __init__(self, app: Callable, journal: Journal) -> None:
        self.app = app
        self.journal = journal
        self.lock = threading.RLock()
        self.answered: OrderedDict[str, tuple[str, list, list[bytes]]] = OrderedDict()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() in ("GET", "HEAD", "OPTIONS"):
            return self.app(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:  # the hot JSON-protocol reads (GetItem, Query) are decided without the body
            name = target.rsplit(".", 1)[-1]
            if name in STATELESS or (name.startswith(READ_PREFIXES)):
                return self.app(environ, start_response)
        body = _read_body(environ)
        kind = classify(environ, body)
        env = _snapshot_env(environ, body)
        fresh = _environ_for(env, body)
        fresh.update(
            (k, v)
            for k, v in environ.items()
            if k not in fresh and k not in _DROPPED_HEADERS and k != "wsgi.input_terminated"
        )
        if kind is Kind.READ:
            return self.app(fresh, start_response)
        pending = _Pending(self, env, body)
        _local.pending = pending
        try:
            if kind is Kind.RECEIVE:
                # The SQS hook takes the lock per attempt and commits the one that counted.
                status, headers, chunks = _run(self.app, fresh)
            else:
                invocation, attempt = _invocation(environ)
                with self.lock:
                    answered = self.answered.get(invocation) if attempt > 1 else None
                    if answered is not None:
                        log.warning(
                            "attempt %d of %s %s: answered as its first attempt, which was applied",
                            attempt,
                            environ.get("REQUEST_METHOD"),
                            environ.get("PATH_INFO"),
                        )
                        status, headers, chunks = answered
                    else:
                        # Taken under the lock: instants grow in journal order, as the writes ran.
                        pending.instant = time.time()
                        with determinism.request(pending.seed, pending.instant):
                            status, headers, chunks = _run(self.app, fresh)
                        pending.commit()
                        if invocation and status.startswith("2"):
                            self.answered[invocation] = (status, headers, chunks)
                            while len(self.answered) > ANSWERED_KEPT:
                                self.answered.popitem(last=False)
        finally:
            _local.pending = None
        start_response(status, headers)
        return chunks

    def replay(
        self, records: list[Record], progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Apply journaled requests in order; returns how many failed (logged, not fatal).
        ``progress(done, total)`` is called after each one."""
        failed = 0
        for done, record in enumerate(records, 1):
            if progress is not None:
                progress(done, len(records))
            env, body = record.meta["env"], record.body
            _local.replaying = True
            try:
                with determinism.request(record.meta["seed"], record.meta["t"]):
                    status, _, _ = _run(self.app, _environ_for(env, body))
            except Exception:
                failed += 1
                log.exception(
                    "replaying %s %s failed", env.get("REQUEST_METHOD"), env.get("PATH_INFO")
                )
                continue
            finally:
                _local.replaying = False
            if status.startswith("5"):
                failed += 1
                log.warning(
                    "replaying %s %s answered %s",
                    env.get("REQUEST_METHOD"),
                    env.get("PATH_INFO"),
                    status,
                )
        return failed


def install_sqs_hook() -> None:
    """Make moto's ReceiveMessage journal itself (see the module docstring). Once."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message
    if getattr(original, "_headwater_journaled", False):
        return

    def receive_message(
        self,
        queue_name,
        count,
        wait_seconds_timeout,
        visibility_timeout,
        message_attribute_names=None,
    ):
        pending: _Pending | None = getattr(_local, "pending", None)
        if getattr(_local, "replaying", False) or pending is None:
            # Replay (the journaled attempt found what it found: no waiting) or not journaled.
            wait = 0 if getattr(_local, "replaying", False) else wait_seconds_timeout
            return original(
                self, queue_name, count, wait, visibility_timeout, message_attribute_names
            )
        queue = self.get_queue(queue_name)
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            with pending.store.lock:
                pending.instant = time.time()
                dlq = queue.dead_letter_queue
                before = (len(queue._messages), len(dlq._messages) if dlq is not None else 0)
                with determinism.request(pending.seed, pending.instant):
                    result = original(
                        self, queue_name, count, 0, visibility_timeout, message_attribute_names
                    )
                after = (len(queue._messages), len(dlq._messages) if dlq is not None else 0)
                if result or after != before:
                    _journal_as_no_wait(pending)
                    pending.commit()
            remaining = deadline - time.monotonic()
            if result or remaining <= 0:
                return result
            waited = time.monotonic()
            queue.wait_for_messages(min(remaining, 1.0))
            if time.monotonic() - waited < UNDELIVERABLE_PAUSE:
                # Visible but not deliverable (a FIFO group in flight): moto's wait returns at
                # once; pause instead of spinning on the lock.
                time.sleep(UNDELIVERABLE_PAUSE)

    receive_message._headwater_journaled = True
    SQSBackend.receive_message = receive_message


def _journal_as_no_wait(pending: _Pending) -> None:
    """Record the attempt as the request it was: WaitTimeSeconds 0 (replay waits for nothing)."""
    env, body = pending.env, pending.body
    if env.get("HTTP_X_AMZ_TARGET"):
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            return
        document["WaitTimeSeconds"] = 0
        pending.body = json.dumps(document).encode()
    else:
        pairs = [
            (k, v)
            for k, v in parse_qsl(body.decode(), keep_blank_values=True)
            if k != "WaitTimeSeconds"
        ]
        pending.body = urlencode([*pairs, ("WaitTimeSeconds", "0")]).encode()
    pending.env = {**env, "CONTENT_LENGTH": str(len(pending.body))}
