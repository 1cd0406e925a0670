"""Per-request randomness and clock, so replaying a request reproduces what it created.

moto draws nearly every identifier (S3 version ids, REST API / resource / key / usage plan ids,
KMS key ids, SQS message ids and receipt handles, IAM role ids, Lambda revision ids) from one
shared ``MotoRandom`` singleton; the rest (S3 multipart upload ids, KMS key material, the
``uuid4`` of a few models) from ``os.urandom``. Requests run concurrently, so seeding the shared
singleton would let a concurrent read draw numbers in between. Instead, while a journaled request
runs, *this thread* draws from its own ``random.Random(seed)`` (the seed is written to the
journal) through both sources; every other thread keeps drawing real randomness.

SQS decides visibility and delays from ``unix_time``/``unix_time_millis``; those read the
request's recorded instant on this thread, so a replayed ``ReceiveMessage`` finds exactly the
messages it found then, and an in-flight message becomes visible again when it would have.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
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


def now() -> float | None:
    """The frozen instant of the request running on this thread (None: use the real clock)."""
    return getattr(_local, "now", None)


@contextlib.contextmanager
def request(seed: int, instant: float) -> Iterator[None]:
    """Run the body with this thread's randomness from ``seed`` and its SQS clock at ``instant``."""
    previous = (_rng(), now())
    # Reproducible on purpose: identifiers of a local emulator, never secrets.
    _local.rng, _local.now = random.Random(seed), instant  # noqa: S311
    try:
        yield
    finally:
        _local.rng, _local.now = previous


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
        _patch_sqs_clock()
        _installed = True


def _patch_sqs_clock() -> None:
    import moto.sqs.models as sqs_models

    real_unix_time = sqs_models.unix_time
    real_unix_time_millis = sqs_models.unix_time_millis

    def unix_time(*args):
        instant = now()
        return real_unix_time(*args) if instant is None or args else instant

    def unix_time_millis(*args):
        instant = now()
        return real_unix_time_millis(*args) if instant is None or args else instant * 1000.0

    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis
