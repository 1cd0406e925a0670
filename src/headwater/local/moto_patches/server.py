"""Server patch: moto's list of its own service modules read once, not on every request.

moto 5.2's server picks the backend of each request under one process-wide lock, and on the way
calls ``backends.list_of_moto_modules()``, which lists moto's package directory and stats each
of its ~200 entries: about a hundred system calls per request, every request serialised behind
that lock (``bench/api_bench.py`` profile). The directory is moto's installed package; it does
not change while the emulator runs, so the listing is taken once and replayed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

_original: Any = None


def apply() -> None:
    global _original
    from moto import backends

    if _original is not None:
        return
    _original = backends.list_of_moto_modules
    listing = functools.cache(lambda: tuple(_original()))

    def list_of_moto_modules() -> Iterable[str]:
        return listing()

    backends.list_of_moto_modules = list_of_moto_modules


def original_list_of_moto_modules() -> Any:
    from moto import backends

    return _original or backends.list_of_moto_modules
