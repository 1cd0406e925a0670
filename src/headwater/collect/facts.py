"""The facts table's key design and item conversion.

A fact's table key is built from its owner, its source and the connector's natural key, never
from when it was collected or which window fetched it:

- partition key ``pk = "<subscriber>#<source>#<account>"``: one account's facts from one source
  for one subscriber. The subscriber is in the key so two customers of the same ad account never
  share items (ownership is checked on the key itself); the source so two connectors reporting
  the same account id do not overwrite each other;
- sort key ``sk = "<YYYY-MM-DD>#<campaign>"``: the rest of the natural key, day first, so a
  Query with ``sk BETWEEN`` reads a date range of one account.

Because the key is a function of (subscriber, source, account, day, campaign) only, writing the
same fact twice, from a rerun, a retry of a failed run, or two overlapping windows, is a PutItem
on the same key: it overwrites, never duplicates. The item carries no collection time either, so
an identical rewrite changes no data (DynamoDB Streams writes no record for a PutItem that
changes nothing) and the stream sink sees only real changes.

Separators: subscriber ids and connector names may not contain ``#`` (checked here), and the
day is fixed-width, so the account (last in ``pk``) and the campaign (last in ``sk``) may hold
any text, ``#`` included, without two facts ever sharing a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from headwater.collect.connectors.base import Fact

PARTITION_KEY = "pk"
SORT_KEY = "sk"
SEPARATOR = "#"
# For boto3's ``batch_writer(overwrite_by_pkeys=KEY_FIELDS)``: BatchWriteItem refuses a batch
# holding one key twice (ValidationException "Provided list of item keys contains duplicates"),
# so a writer given overlapping facts must keep the last of each key, as separate puts would.
KEY_FIELDS = [PARTITION_KEY, SORT_KEY]


def _part(name: str, value: str) -> str:
    if not value or SEPARATOR in value:
        raise ValueError(f"{name} must be non-empty and free of {SEPARATOR!r}: {value!r}")
    return value


def partition_key(subscriber: str, source: str, account: str) -> str:
    if not account:
        raise ValueError("account must be non-empty")
    return SEPARATOR.join((_part("subscriber", subscriber), _part("source", source), account))


def sort_key(day: date, campaign: str) -> str:
    return f"{day.isoformat()}{SEPARATOR}{campaign}"


def key(subscriber: str, source: str, fact: Fact) -> dict[str, str]:
    return {
        PARTITION_KEY: partition_key(subscriber, source, fact.account),
        SORT_KEY: sort_key(fact.day, fact.campaign),
    }


def to_item(subscriber: str, source: str, fact: Fact) -> dict[str, Any]:
    """The item for boto3's resource API: spend stays a Decimal (exact; boto3 refuses floats),
    the day an ISO string; the key's parts are kept as attributes for readers and the sink."""
    return {
        **key(subscriber, source, fact),
        "subscriber": subscriber,
        "source": source,
        "account": fact.account,
        "day": fact.day.isoformat(),
        "campaign": fact.campaign,
        "spend": fact.spend,
        "impressions": fact.impressions,
        "clicks": fact.clicks,
        "currency": fact.currency,
    }


def from_item(item: Mapping[str, Any]) -> Fact:
    """The fact of an item read back (the resource API returns numbers as Decimal)."""
    return Fact(
        account=item["account"],
        day=date.fromisoformat(item["day"]),
        campaign=item["campaign"],
        spend=Decimal(item["spend"]),
        impressions=int(item["impressions"]),
        clicks=int(item["clicks"]),
        currency=item["currency"],
    )
