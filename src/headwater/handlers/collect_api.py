"""PLACEHOLDER written by the collect Terraform work (branch collectinfra), not the API.

The collect API handler is written in parallel on another branch; at merge, that file replaces
this one entirely. It exists only so tests/static/test_handler_environment.py can check the
environment terraform/modules/collect sets against the contract's names (notes of issue 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.handlers.support.settings import env_var, read_settings


@dataclass(frozen=True)
class Settings:
    tenancy_table: str = env_var("TENANCY_TABLE")
    schedule_group: str = env_var("COLLECT_SCHEDULE_GROUP")
    collector_arn: str = env_var("COLLECT_COLLECTOR_ARN")
    schedule_role_arn: str = env_var("COLLECT_SCHEDULE_ROLE_ARN")
    schedule_dlq_arn: str = env_var("COLLECT_SCHEDULE_DLQ_ARN")
    retry_attempts: str = env_var("COLLECT_RETRY_ATTEMPTS", "3")
    retry_max_age_seconds: str = env_var("COLLECT_RETRY_MAX_AGE_SECONDS", "86400")
    min_interval_minutes: str = env_var("COLLECT_MIN_INTERVAL_MINUTES", "60")
    max_schedules: str = env_var("COLLECT_MAX_SCHEDULES", "25")
    secret_prefix: str = env_var("COLLECT_SECRET_PREFIX")
    kms_key_arn: str = env_var("COLLECT_KMS_KEY_ARN")
    state_table: str = env_var("COLLECT_STATE_TABLE")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    read_settings(Settings)
    raise NotImplementedError("placeholder: the collect API handler is merged from its branch")
