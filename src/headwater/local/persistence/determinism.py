"""Per-request randomness and clock, so replaying a request reproduces what it created.

moto draws nearly every identifier (S3 version ids, REST API / resource / key / usage plan ids,
KMS key ids, SQS message ids and receipt handles, IAM role ids, Lambda revision ids) from one
shared ``MotoRandom`` singleton; the rest (S3 multipart upload ids, KMS key material, the
``uuid4`` of a few models) from ``os.urandom``. Requests run concurrently, so seeding the shared
singleton would let a concurrent read draw numbers in between. Instead, while a journaled request
runs, *this thread* draws from its own ``random.Random(seed)`` (the seed is written to the
journal) through both sources; every other thread keeps drawing real randomness.

moto stamps times with ``unix_time``/``unix_time_millis``/``utcnow`` (``freeze_clocks``); on a
journaled request's thread those read the request's recorded instant, so a replayed
``ReceiveMessage`` finds exactly the messages it found then, an in-flight message becomes visible
again when it would have, and events, stream ARNs and creation dates carry their first time.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Iterator

_local = threading.local()
_real_urandom = os.urandom
_installed = False
_install_lock = threading.Lock()


def _rng() -> random.Random | None:
    return getattr(_local, "rng", None)


def _urandom(size: int) -> bytes:
    rng = _rng()
    return _real_urandom(size) if rng is None else rng.randbytes(size)


def new_seed() -> int:
    """A fresh seed for one request, from the real source (never from a seeded thread)."""
    return int.from_bytes(_real_urandom(8), "big")


def now() -> float | None:
    """The frozen instant of the request running on this thread (None: use the real clock)."""
    return getattr(_local, "now", None)


@contextlib.contextmanager
def request(seed: int, instant: float) -> Iterator[None]:
    """Run the body with this thread's randomness from ``seed`` and its clocks at ``instant``."""
    previous = (_rng(), now(), getattr(_local, "counter", 0))
    _local.counter = 0
    # Reproducible on purpose: identifiers of a local emulator, never secrets.
    _local.rng, _local.now = random.Random(seed), instant  # noqa: S311
    try:
        yield
    finally:
        _local.rng, _local.now, _local.counter = previous


def install() -> None:
    """Route moto's random sources and SQS's clock through the per-thread state, once."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.moto_api._internal import mock_random

        # Every MotoRandom method (choice, sample, uuid4, get_random_hex, token_urlsafe,
        # randbytes...) ends in one of these two primitives; an instance attribute wins over the
        # class's C method, which stays the fallback (so moto's own /moto-api/seed still works).
        def primitive(name: str):
            fallback = getattr(type(mock_random), name).__get__(mock_random)

            def draw(*args):
                rng = _rng()
                return fallback(*args) if rng is None else getattr(rng, name)(*args)

            return draw

        for name in ("random", "getrandbits"):
            setattr(mock_random, name, primitive(name))
        # uuid.uuid4 and moto's direct os.urandom calls look os.urandom up at call time.
        os.urandom = _urandom
        # moto imports a service's module on its first request, wherever that falls; the
        # BackendDict it creates then draws a uuid4 of its own. That draw must not shift the
        # identifiers of the request that happens to trigger the import.
        import moto.core.base_backend as base_backend

        base_backend.uuid4 = lambda: uuid.UUID(bytes=_real_urandom(16), version=4)
        _installed = True


def wall_time() -> float:
    """The request's recorded instant on a journaled request's thread, else the real time."""
    instant = now()
    return time.time() if instant is None else instant


def request_counter() -> int | None:
    """0, 1, 2... within the journaled request on this thread (None outside one): an ordering
    number that replays the same, where a process-wide counter would not."""
    if getattr(_local, "rng", None) is None:
        return None
    value = getattr(_local, "counter", 0)
    _local.counter = value + 1
    return value


def freeze_clocks(prefixes: tuple[str, ...]) -> int:
    """Point the moto.core.utils clocks that moto modules under ``prefixes`` imported by name
    (``unix_time``, ``unix_time_millis``, ``utcnow``) at the request's instant. Returns how many
    names were replaced. Call again after more modules are imported: replaced names are skipped.

    Without this, what a replayed request stamps (SQS visibility deadlines and sent times, event
    times in message bodies, DynamoDB stream ARNs, creation dates) would be the replay's time.
    Only write requests run at a frozen instant, and none of them waits on these clocks (SQS
    long polls are cut into no-wait attempts by the SQS hook in wsgi.py).
    """
    from moto.core import utils

    originals = {
        "unix_time": utils.unix_time,
        "unix_time_millis": utils.unix_time_millis,
        "utcnow": utils.utcnow,
    }
    frozen = {
        "unix_time": lambda *a: utils.unix_time(*a) if a or now() is None else now(),
        "unix_time_millis": (
            lambda *a: utils.unix_time_millis(*a) if a or now() is None else now() * 1000.0
        ),
        "utcnow": lambda: (
            utils.utcnow()
            if now() is None
            else datetime.datetime.fromtimestamp(now(), datetime.UTC).replace(tzinfo=None)
        ),
    }
    replaced = 0
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(prefixes):
            continue
        for attribute, original in originals.items():
            if getattr(module, attribute, None) is original:
                setattr(module, attribute, frozen[attribute])
                replaced += 1
    return replaced
