"""PLACEHOLDER written by the collect Terraform work (branch collectinfra), not the sink.

The sink handler is written in parallel on another branch; at merge, that file replaces this
one entirely. It exists only so tests/static/test_handler_environment.py can check the
environment terraform/modules/collect sets against the contract's names (notes of issue 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.handlers.support.settings import env_var, read_settings


@dataclass(frozen=True)
class Settings:
    changes_bucket: str = env_var("COLLECT_CHANGES_BUCKET")
    changes_prefix: str = env_var("COLLECT_CHANGES_PREFIX", "changes/")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    read_settings(Settings)
    raise NotImplementedError("placeholder: the sink handler is merged from its branch")
