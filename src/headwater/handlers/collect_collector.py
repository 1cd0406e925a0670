"""PLACEHOLDER written by the collect Terraform work (branch collectinfra), not the collector.

The collector handler is written in parallel on another branch; at merge, that file replaces
this one entirely. It exists only so tests/static/test_handler_environment.py can check the
environment terraform/modules/collect sets against the contract's names (notes of issue 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.handlers.support.settings import env_var, read_settings


@dataclass(frozen=True)
class Settings:
    facts_table: str = env_var("COLLECT_FACTS_TABLE")
    state_table: str = env_var("COLLECT_STATE_TABLE")
    secret_prefix: str = env_var("COLLECT_SECRET_PREFIX")
    lag_days: str = env_var("COLLECT_LAG_DAYS", "1")
    max_backfill_days: str = env_var("COLLECT_MAX_BACKFILL_DAYS", "30")
    initial_days: str = env_var("COLLECT_INITIAL_DAYS", "7")
    fact_retention_days: str = env_var("COLLECT_FACT_RETENTION_DAYS", "0")
    meta_base_url: str = env_var("COLLECT_META_BASE_URL", "https://graph.facebook.com/v21.0")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    read_settings(Settings)
    raise NotImplementedError("placeholder: the collector handler is merged from its branch")
