"""Usage-plan quota counts that outlive the local mode: saved to a JSON file, loaded at start.

API Gateway counts a subscriber's requests against the quota for the whole period, whatever
happens to the service; locally the counts live in the front's memory, so a restart would hand
every key a fresh quota. The store writes the counts about once a second when they changed (off
the request path: a request only bumps a counter) and at stop, and gives them back to the meter
at start. A crash loses at most the last second of counting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from datetime import datetime
from pathlib import Path

from headwater.local.apigateway.usage_plans import UsageMeter
from headwater.local.state import write_atomically

log = logging.getLogger(__name__)

SAVE_INTERVAL = 1.0


def load(meter: UsageMeter, path: Path) -> int:
    """Give ``meter`` the counts saved in ``path``; returns how many keys had one."""
    try:
        saved = json.loads(path.read_text())
        counts = {
            (entry["plan"], entry["key"]): (
                int(entry["used"]),
                datetime.fromisoformat(entry["until"]),
            )
            for entry in saved["quotas"]
        }
    except FileNotFoundError:
        return 0
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("usage counts in %s unreadable (%s): quotas start afresh", path, exc)
        return 0
    meter.restore_quota_counts(counts)
    return len(counts)


def save(meter: UsageMeter, path: Path) -> dict:
    counts = meter.quota_counts()
    document = {
        "quotas": [
            {"plan": plan, "key": key, "used": used, "until": until.isoformat()}
            for (plan, key), (used, until) in sorted(counts.items())
        ]
    }
    write_atomically(path, json.dumps(document, indent=1) + "\n")
    return document


class UsageStore:
    """Saves ``meter``'s quota counts to ``path`` when they change, until stopped."""

    def __init__(self, meter: UsageMeter, path: Path, interval: float = SAVE_INTERVAL) -> None:
        self.meter = meter
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict | None = None

    def start(self) -> None:
        restored = load(self.meter, self.path)
        if restored:
            log.info("usage plans: quota counts of %d keys restored", restored)
        self._thread = threading.Thread(target=self._loop, name="usage-store", daemon=True)
        self._thread.start()

    def _save_if_changed(self) -> None:
        counts = self.meter.quota_counts()
        if counts != self._last:
            save(self.meter, self.path)
            self._last = counts

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):
                self._save_if_changed()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._save_if_changed()
