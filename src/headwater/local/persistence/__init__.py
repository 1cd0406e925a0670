"""Crash-safe local mode: the emulator's state survives ``kill -9``, a restart and a reboot.

``Persistence.open`` reads the journal of the emulator's acknowledged writes in the state
directory (``$HEADWATER_STATE_DIR/local/emulator/``) and replays it into a fresh moto before the
port opens; from then on every write request is appended to that journal before its response is
sent. See ``wsgi.py`` for the order and locking, ``determinism.py`` for how replay reproduces
identifiers, ``journal.py`` for the file and what each durability setting guarantees.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from headwater.local.persistence import determinism, journal
from headwater.local.persistence.wsgi import JournaledApp, install_sqs_hook

log = logging.getLogger(__name__)

DURABILITY_ENV = "HEADWATER_LOCAL_DURABILITY"
JOURNAL_NAME = "journal.bin"

# Services whose backends are created before replay: a backend created lazily inside a replayed
# request would draw from that request's seeded randomness and shift its identifiers.
WARM_SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "dynamodbstreams",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "sns",
    "sqs",
    "sts",
)
ACCOUNT_ID = "123456789012"


DURABILITY_MODES = ("os", "fsync", "memory")


def durability_from_env(environ: dict[str, str] | None = None) -> str:
    """``os`` (default): each write reaches the OS before its 2xx, which survives ``kill -9`` and
    a clean reboot; ``fsync``: also forced to disk, which survives power loss; ``memory``: no
    persistence (moto as it is: everything is gone when the process ends)."""
    value = (environ if environ is not None else os.environ).get(DURABILITY_ENV) or "os"
    if value.lower() not in DURABILITY_MODES:
        raise ValueError(
            f"{DURABILITY_ENV} must be one of {', '.join(DURABILITY_MODES)}, not {value!r}"
        )
    return value.lower()


def state_dir(root: Path) -> Path:
    """Where the emulator's persisted state lives under the local mode's state directory."""
    return root / "local" / "emulator"


@dataclass(frozen=True)
class ReplayReport:
    requests: int
    failed: int
    seconds: float


class Persistence:
    """The journal of one state directory, wrapped around one moto application."""

    def __init__(
        self,
        directory: Path,
        fsync: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.progress = progress
        self.journal = journal.Journal(directory / JOURNAL_NAME, fsync=fsync)
        self.app: JournaledApp | None = None
        self.report: ReplayReport | None = None

    def open(self, app: Callable, region: str) -> JournaledApp:
        """Replay what was journaled into ``app`` (a fresh moto), then journal new writes."""
        determinism.install()
        install_sqs_hook()
        # The journal is the whole truth: start from empty backends (they are process-wide, and
        # a test may start a second emulator in one process), created before any replay.
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        _warm_backends(region)
        determinism.freeze_clocks(tuple(f"moto.{_module(s)}." for s in WARM_SERVICES))
        started = time.perf_counter()
        records, valid_end = journal.read(self.journal.path)
        wrapped = JournaledApp(app, self.journal)
        from headwater.local.moto_patches import lambda_invoker

        # Replayed requests re-create what they created, nothing more: the functions they
        # triggered then have run then, and what those wrote is in the journal on its own.
        previous = lambda_invoker.current_invoker()
        lambda_invoker.set_lambda_invoker(lambda _arn, _event: None)
        try:
            failed = wrapped.replay(records, self.progress)
        finally:
            lambda_invoker.set_lambda_invoker(previous)
        self.report = ReplayReport(len(records), failed, time.perf_counter() - started)
        if records:
            log.info(
                "restored emulator state: %d requests replayed in %.2fs (%d failed)",
                len(records),
                self.report.seconds,
                failed,
            )
        self.journal.open(valid_end)
        self.app = wrapped
        return wrapped

    def close(self) -> None:
        self.journal.close()


def purge(directory: Path) -> bool:
    """Delete the persisted emulator state (journal, set-aside torn records, usage counts, stream
    checkpoints); True if there was any."""
    import shutil

    existed = directory.exists() and any(directory.iterdir())
    shutil.rmtree(directory, ignore_errors=True)
    return existed


def _module(service: str) -> str:
    return "awslambda" if service == "lambda" else service


def _warm_backends(region: str) -> None:
    import importlib

    from moto.backends import get_backend

    for service in WARM_SERVICES:
        # Responses too: their clocks are frozen with the models' (freeze_clocks).
        with contextlib.suppress(ImportError):
            importlib.import_module(f"moto.{_module(service)}.responses")
        try:
            backends = get_backend(service)  # type: ignore[call-overload]
        except Exception:  # noqa: S112 - an optional moto extra may be missing: nothing to warm
            continue
        for name in (region, "aws", "global"):
            try:
                backends[ACCOUNT_ID][name]
            except Exception:  # noqa: S112 - not a region this service knows
                continue
