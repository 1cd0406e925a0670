"""The connector interface: one source of ads facts, fetched one window for one account.

A connector declares what it needs and what it produces, so the schedules API can check a
schedule before creating anything and the collector can write facts with idempotent keys:

- ``name``: how schedules name it (``registry.get(name)``);
- ``params_schema``: a JSON Schema (draft 4, like the records' schemas) for its params; checked
  with ``validate_params``, which reports every error at once so the API answers one 400 with
  all of them;
- ``requires_connection``: whether a schedule must name one of its owner's connections (a
  stored source token); the synthetic connector needs none;
- ``account_pattern``: a regular expression an account id must match in full (``None``: any
  1 to 128 printable characters), so the API refuses at once an account the source could never
  fetch instead of accepting a schedule whose every run fails;
- ``natural_key``: the fact fields that identify a fact in the source; ``facts.py`` builds the
  table key from them, so a rerun overwrites instead of duplicating;
- ``fetch(account, window, params, credentials)``: the facts of one account for one window of
  whole UTC days, as an iterator (a real source pages; nothing needs the whole window in memory).
  ``credentials`` are the secret's values read by the collector for the schedule's owner; a
  connector that needs none ignores them. A source failure raises: the Scheduler retries.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from jsonschema import Draft4Validator

from headwater.collect.windows import Window

FACT_FIELDS = ("account", "day", "campaign", "spend", "impressions", "clicks", "currency")


@dataclass(frozen=True)
class Fact:
    """One account's figures for one campaign on one UTC day, in the account's currency."""

    account: str
    day: date
    campaign: str
    spend: Decimal
    impressions: int
    clicks: int
    currency: str

    def __post_init__(self) -> None:
        # A fact is written as-is by every connector: refuse here what no table should hold.
        if type(self.day) is not date:
            raise TypeError(f"day must be a date, not {type(self.day).__name__}")
        if not isinstance(self.spend, Decimal) or not self.spend.is_finite() or self.spend < 0:
            # A float would reach DynamoDB as an inexact number (boto3 refuses floats anyway).
            raise ValueError(f"spend must be a finite, non-negative Decimal, not {self.spend!r}")
        for name in ("impressions", "clicks"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative int, not {value!r}")
        # No "clicks <= impressions": a source's clicks may count several per impression (Meta's
        # "clicks (all)" does), and refusing such a day would fail every run of the schedule.
        if not self.account or not self.campaign:
            raise ValueError("account and campaign must be non-empty")


@dataclass(frozen=True)
class ParamError:
    path: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "message": self.message}


class InvalidParams(ValueError):
    """A connector's params break its schema; ``errors`` holds every violation."""

    def __init__(self, connector: str, errors: list[ParamError]) -> None:
        details = "; ".join(f"{e.path}: {e.message}" for e in errors)
        super().__init__(f"invalid params for connector {connector!r}: {details}")
        self.errors = errors


class Connector(Protocol):
    name: ClassVar[str]
    params_schema: ClassVar[Mapping[str, Any]]
    natural_key: ClassVar[tuple[str, ...]]
    requires_connection: ClassVar[bool]
    account_pattern: ClassVar[str | None]

    def fetch(
        self,
        account: str,
        window: Window,
        params: Mapping[str, Any],
        credentials: Mapping[str, str] | None,
    ) -> Iterator[Fact]: ...


@functools.lru_cache(maxsize=32)
def _validator_of(schema_text: str) -> Draft4Validator:
    schema = json.loads(schema_text)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def validator(connector: Connector) -> Draft4Validator:
    """The connector's checked draft-4 validator (a broken schema raises SchemaError here)."""
    return _validator_of(json.dumps(connector.params_schema, sort_keys=True))


def _join(prefix: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{prefix}[{part}]"
    return f"{prefix}.{part}" if prefix else part


def validate_params(connector: Connector, params: Any, prefix: str = "params") -> list[ParamError]:
    """Every violation of the connector's params schema, sorted by path; [] when valid.

    Paths name the field as a client writes it under ``prefix`` (``params.campaigns``), like
    records' validation; a missing or unknown field gets one error per name.
    """
    errors: list[ParamError] = []
    for error in validator(connector).iter_errors(params):
        where = prefix
        for part in error.absolute_path:
            where = _join(where, part)
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    errors.append(
                        ParamError(_join(where, name), "required", f"{name!r} is required")
                    )
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - known):
                errors.append(
                    ParamError(_join(where, name), "additionalProperties", "unknown field")
                )
        else:
            errors.append(ParamError(where, str(error.validator), error.message))
    return sorted(set(errors), key=lambda e: (e.path, e.rule))


def resolved_params(connector: Connector, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` checked (InvalidParams with every error) and completed with the schema's
    top-level defaults, so a connector reads one complete mapping."""
    given = {} if params is None else params
    errors = validate_params(connector, given)
    if errors:
        raise InvalidParams(connector.name, errors)
    properties = connector.params_schema.get("properties", {})
    defaults = {k: v["default"] for k, v in properties.items() if "default" in v}
    return {**defaults, **given}
