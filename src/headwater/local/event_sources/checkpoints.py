"""Where each stream mapping's shards stand: the last sequence number acknowledged, per shard.

Lambda keeps a stream mapping's checkpoints across everything: an updated mapping, a redeploy.
Locally a mapping's source restarts when Terraform changes the mapping, and the daemon restarts;
both must resume where the shard stood, or a TRIM_HORIZON mapping reads its whole stream again
(and a sink keyed by batch boundaries writes every change a second time). The emulator's journal
replays stream records with the same sequence numbers, so a checkpoint stays valid across a
restart.

With a file (the daemon: next to the emulator's journal, so ``local reset`` drops both), every
change is written atomically before the next batch is read; a crash between an invocation and
its write delivers that batch again, as Lambda does (at least once). Without one (tests, a
runner used in-process) checkpoints last as long as the process.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from headwater.local.state import write_atomically

log = logging.getLogger(__name__)


class CheckpointStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._positions: dict[str, str] = self._load()

    @staticmethod
    def key(mapping_uuid: str, stream_arn: str, shard_id: str) -> str:
        # The stream ARN carries the stream's label (its creation time): a table created again
        # under the same name starts a new stream whose sequence numbers mean nothing here.
        return f"{mapping_uuid}|{stream_arn}|{shard_id}"

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._positions.get(key)

    def set(self, key: str, sequence_number: str) -> None:
        with self._lock:
            self._positions[key] = sequence_number
            if self.path is not None:
                write_atomically(self.path, json.dumps(self._positions, indent=1) + "\n")

    def _load(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            loaded = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:  # written atomically, so only a hand edit gets here
            log.warning("stream checkpoints in %s unreadable (%s): starting over", self.path, exc)
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {str(k): str(v) for k, v in loaded.items() if isinstance(v, str)}
