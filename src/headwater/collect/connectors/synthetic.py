"""A deterministic synthetic ads connector: the offline default, no account or network needed.

For an account and a day it yields ``campaigns`` campaigns. Every figure derives from a SHA-256
of ``(seed, account, day, campaign)``: not Python's ``hash()``, which is salted per process
(PYTHONHASHSEED), so a rerun in another Lambda process yields identical facts and the idempotent
keys overwrite with the same values. A different seed gives a different, equally stable dataset.

The numbers are plausible, not random noise: impressions 1,000 to 100,000; a click-through rate
of 0.2% to 5% (so clicks never exceed impressions); a cost per click of 0.10 to 3.00, so spend is
a non-negative Decimal with exactly two decimals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from headwater.collect.connectors.base import Fact, resolved_params
from headwater.collect.windows import Window

MAX_CAMPAIGNS = 50


def _draw(seed: str | int, account: str, day: date, campaign: str) -> int:
    # JSON of a list: unambiguous field boundaries (no "a|b" + "c" == "a" + "b|c" collisions),
    # and the seed's type is kept (seed 1 and seed "1" are different datasets).
    text = json.dumps([seed, account, day.isoformat(), campaign])
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


class SyntheticConnector:
    name: ClassVar[str] = "synthetic"
    natural_key: ClassVar[tuple[str, ...]] = ("account", "day", "campaign")
    requires_connection: ClassVar[bool] = False  # offline and deterministic: no token
    account_pattern: ClassVar[str | None] = None  # any account id: it invents the data
    params_schema: ClassVar[Mapping[str, Any]] = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            "campaigns": {"type": "integer", "minimum": 1, "maximum": MAX_CAMPAIGNS, "default": 3},
            "seed": {"type": ["string", "integer"], "maxLength": 64, "default": 0},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "USD"},
        },
        "additionalProperties": False,
    }

    def fetch(
        self,
        account: str,
        window: Window,
        params: Mapping[str, Any],
        credentials: Mapping[str, str] | None = None,
    ) -> Iterator[Fact]:
        settings = resolved_params(self, params)
        for day in window.days():
            for index in range(1, settings["campaigns"] + 1):
                campaign = f"campaign-{index:02d}"
                yield self._fact(settings, account, day, campaign)

    @staticmethod
    def _fact(settings: Mapping[str, Any], account: str, day: date, campaign: str) -> Fact:
        bits = _draw(settings["seed"], account, day, campaign)
        impressions = 1_000 + bits % 99_001
        bits //= 99_001
        ctr_basis_points = 20 + bits % 481  # 0.20% .. 5.00%
        bits //= 481
        cpc_cents = 10 + bits % 291  # 0.10 .. 3.00
        clicks = impressions * ctr_basis_points // 10_000
        return Fact(
            account=account,
            day=day,
            campaign=campaign,
            spend=Decimal(clicks * cpc_cents).scaleb(-2),
            impressions=impressions,
            clicks=clicks,
            currency=settings["currency"],
        )
