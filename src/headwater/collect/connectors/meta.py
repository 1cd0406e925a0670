"""Meta Marketing API connector: daily campaign insights of one ad account, over HTTP.

One run asks ``GET {base}/act_<id>/insights`` with ``level=campaign``, ``time_increment=1`` and
``time_range={"since","until"}`` for the window, and follows the cursor pages. What it relies
on, from Meta's documentation (read through the ``search`` tool):

- Insights are an edge of the ad account, ``/{ad-account-id}/insights``; numbers arrive as
  strings (``"spend": "5339.5"``, ``"impressions": "361324"``): spend becomes a ``Decimal``,
  never a float (developers.facebook.com/documentation/ads-commerce/marketing-api/insights).
  ``time_range.until`` is inclusive, so a window ``[start, end)`` asks until ``end - 1 day``.
  Days are the ad account's days (its time zone), which is how Meta reports them.
- Cursor pagination: ``paging.cursors.after`` points to the end of the page, and "If this field
  [``next``] is not included, this is the last page of data"
  (developers.facebook.com/docs/graph-api/results). The next request is rebuilt from our own
  base URL and the ``after`` cursor; the ``next`` URL itself is never followed, so a response
  cannot send the token to another host (and Meta's ``next`` embeds ``access_token`` when the
  token was a query parameter).
- Errors are ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``; codes 1
  ("Possibly a temporary issue due to downtime. Wait and retry") and 2 are transient; 4, 17, 32
  and 613 are rate limits; 190 is an expired/invalid token ("Get a new access token") and 100
  an invalid parameter: retrying cannot help, so they fail at once
  (developers.facebook.com/docs/graph-api/using-graph-api/error-handling).
- "All Marketing API calls from an app made after a rate limit is exceeded are throttled and
  will fail with Error code 17, error_subcode=2446079" and 613 "There have been too many calls
  from this ad-account. Please wait a bit and try again"; Business Use Case limits answer with
  80000-80014 (80000 ads_insights, 80004 ads_management)
  (developers.facebook.com/docs/marketing-api/overview/rate-limiting).
- Usage headers: ``X-Business-Use-Case-Usage`` maps a business object id to a list of
  ``{"type", "call_count", "total_cputime", "total_time", "estimated_time_to_regain_access"}``,
  percentages and a time "in minutes to regain access"; ``X-Ad-Account-Usage`` carries
  ``acc_id_util_pct`` and ``reset_time_duration`` (seconds); ``X-App-Usage`` carries
  ``call_count``/``total_cputime``/``total_time`` percentages
  (developers.facebook.com/docs/graph-api/overview/rate-limiting).
- The token travels in an ``Authorization: Bearer`` header (RFC 6750 §2.1, one of the three
  ways an OAuth 2.0 bearer token reaches the Graph API), never in the URL, so no URL that is
  logged or put into an exception carries it.

Backoff: a throttled, 5xx, 429 or network failure is retried with exponential backoff and full
jitter (a uniform draw in ``[0, min(cap, base * 2**n)]``), never shorter than Meta's own hint
(``estimated_time_to_regain_access``, ``reset_time_duration``). When a successful page reports
usage at or above ``usage_threshold`` percent, the connector pauses *before* the next page for
the reset hint, so a long collection stays under the limit instead of hitting it. Both are
bounded: ``max_attempts`` per request and ``max_wait_seconds`` of sleeping per fetch; when a
hint alone exceeds what is left, it raises at once (``MetaGaveUp``): a Lambda should not
sleep 19 minutes, the Scheduler's retry (and the checkpoint) take over.

HTTP is urllib3 (botocore's own dependency, so present in the Lambda runtime and locally): one
pooled GET per page with connect/read timeouts and no automatic retries or redirects.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import urllib3

from headwater.collect.connectors.base import Fact, resolved_params
from headwater.collect.windows import Window

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
FIELDS = (
    "campaign_id",
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "account_currency",
    "date_start",
    "date_stop",
)
MAX_PAGE_SIZE = 500
ACCOUNT_PATTERN = re.compile(r"^(?:act_)?([0-9]{1,20})$")

# Rate limits: application (4), user (17), page (32), ad account (613), Business Use Case.
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
# "Temporary issue due to downtime. Wait and retry the operation."
TRANSIENT_CODES = frozenset({1, 2})


class MetaError(RuntimeError):
    """A failure talking to Meta. Messages never hold the token (it is never in a URL)."""


class MetaApiError(MetaError):
    """Meta answered with its error object; ``retryable`` says whether waiting could help."""

    def __init__(self, status: int, body: Mapping[str, Any], retryable: bool) -> None:
        self.status = status
        self.code = _int_or_none(body.get("code"))
        self.subcode = _int_or_none(body.get("error_subcode"))
        self.fbtrace_id = str(body.get("fbtrace_id", ""))
        self.retryable = retryable
        message = str(body.get("message", "")) or "no message"
        super().__init__(
            f"Meta API error (HTTP {status}, code {self.code}, subcode {self.subcode}, "
            f"fbtrace_id {self.fbtrace_id or '-'}): {message}"
        )


class MetaAuthError(MetaApiError):
    """Code 190: the connection's token is invalid or expired; replace it (PUT /connections)."""


class MetaGaveUp(MetaError):
    """Still throttled or failing when the attempts or the wait budget ran out: the
    Scheduler's retry (or the next run, from the checkpoint) takes over."""


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Backoff:
    """The retry and pacing bounds (seconds, percent). Defaults fit a 15-minute Lambda."""

    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    max_attempts: int = 6  # per request, the first one included
    max_wait_seconds: float = 300.0  # total sleeping per fetch, retries and pauses together
    usage_threshold: float = 90.0  # pause before the next page at this usage percentage
    usage_pause_seconds: float = 10.0  # the pause when high usage comes with no reset hint

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds < 0 or self.cap_seconds < 0:
            raise ValueError("max_attempts >= 1 and non-negative delays are required")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry)] (retry counts from 0)."""
        return rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2**retry))


@dataclass(frozen=True)
class Usage:
    """The highest usage percentage any header reports, and the longest reset hint (s)."""

    percent: float = 0.0
    reset_seconds: float = 0.0

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Usage:
        percents: list[float] = []
        resets: list[float] = []
        buc = _json_header(headers, "x-business-use-case-usage")
        if isinstance(buc, dict):
            for entries in buc.values():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        percents += _numbers(entry, "call_count", "total_cputime", "total_time")
                        resets += [
                            m * 60 for m in _numbers(entry, "estimated_time_to_regain_access")
                        ]
        account = _json_header(headers, "x-ad-account-usage")
        if isinstance(account, dict):
            percents += _numbers(account, "acc_id_util_pct")
            resets += _numbers(account, "reset_time_duration")
        app = _json_header(headers, "x-app-usage")
        if isinstance(app, dict):
            percents += _numbers(app, "call_count", "total_cputime", "total_time")
        return cls(max(percents, default=0.0), max(resets, default=0.0))


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    text = headers.get(name)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        log.warning("ignoring an unparsable %s header", name)
        return None


def _numbers(entry: Mapping[str, Any], *names: str) -> list[float]:
    found = []
    for name in names:
        value = entry.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            found.append(float(value))
    return found


def account_id(account: str) -> str:
    """``"act_123"`` or ``"123"`` -> ``"act_123"``, the ad account node's name (and the
    facts' account, so both spellings of one account write the same keys)."""
    match = ACCOUNT_PATTERN.match(account) if isinstance(account, str) else None
    if not match:
        raise ValueError(f"a Meta ad account is 'act_<digits>' or '<digits>', not {account!r}")
    return f"act_{match.group(1)}"


@dataclass
class _Budget:
    """What one fetch may still sleep, and the sleeps so far (for logs and the bench)."""

    left: float
    slept: float = 0.0
    pauses: int = 0
    retries: int = 0


@dataclass
class MetaInsightsConnector:
    name: ClassVar[str] = "meta_insights"
    natural_key: ClassVar[tuple[str, ...]] = ("account", "day", "campaign")
    requires_connection: ClassVar[bool] = True  # a Marketing API token with ads_read
    account_pattern: ClassVar[str | None] = ACCOUNT_PATTERN.pattern  # act_<digits> or <digits>
    params_schema: ClassVar[Mapping[str, Any]] = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            # Facts are per campaign; other levels would need other keys, so only this one.
            "level": {"type": "string", "enum": ["campaign"], "default": "campaign"},
            "page_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": 100,
            },
        },
        "additionalProperties": False,
    }

    base_url: str = DEFAULT_BASE_URL
    backoff: Backoff = field(default_factory=Backoff)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0  # insights queries over many days can take a while
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    http: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(num_pools=4))

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(
                f"the Meta base URL must be http(s)://host[/path], not {self.base_url!r}"
            )
        self.base_url = self.base_url.rstrip("/")

    def fetch(
        self,
        account: str,
        window: Window,
        params: Mapping[str, Any],
        credentials: Mapping[str, str] | None,
    ) -> Iterator[Fact]:
        settings = resolved_params(self, params)
        node = account_id(account)
        token = (credentials or {}).get("token")
        if not isinstance(token, str) or not token:
            raise MetaError("the meta_insights connector needs a connection with a token")
        query: dict[str, str] = {
            "level": settings["level"],
            "time_increment": "1",
            "time_range": json.dumps(
                {
                    "since": window.start.isoformat(),
                    "until": (window.end - timedelta(days=1)).isoformat(),
                },
                separators=(",", ":"),
            ),
            "fields": ",".join(FIELDS),
            "limit": str(settings["page_size"]),
        }
        url = f"{self.base_url}/{node}/insights"
        budget = _Budget(left=self.backoff.max_wait_seconds)
        pages = 0
        while True:
            body, usage = self._get(url, query, token, budget)
            pages += 1
            for row in body.get("data") or []:
                yield _fact(node, window, row)
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not (body.get("paging") or {}).get("next") or not after:
                break
            query = {**query, "after": str(after)}
            self._pace(usage, budget)
        log.info(
            "meta insights collected",
            extra={"account": node, "pages": pages, "retries": budget.retries,
                   "pauses": budget.pauses, "slept_seconds": round(budget.slept, 3)},
        )  # fmt: skip

    def _pace(self, usage: Usage, budget: _Budget) -> None:
        """Pause before the next page when the last one reported usage near the limit."""
        if usage.percent < self.backoff.usage_threshold:
            return
        pause = usage.reset_seconds or self.backoff.usage_pause_seconds
        if pause > budget.left:
            raise MetaGaveUp(
                f"Meta usage is at {usage.percent:.0f}% and resets in {pause:.0f}s, more than "
                f"the {budget.left:.0f}s of waiting left; the next run resumes from the checkpoint"
            )
        budget.pauses += 1
        self._sleep(pause, budget)

    def _sleep(self, seconds: float, budget: _Budget) -> None:
        budget.left -= seconds
        budget.slept += seconds
        self.sleep(seconds)

    def _get(
        self, url: str, query: Mapping[str, str], token: str, budget: _Budget
    ) -> tuple[dict[str, Any], Usage]:
        """One page: retried on throttling and transient failures within the bounds."""
        target = f"{url}?{urlencode(query)}"  # never holds the token
        last: Exception | None = None
        for attempt in range(self.backoff.max_attempts):
            if attempt:
                budget.retries += 1
            try:
                response = self.http.request(
                    "GET",
                    target,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout),
                    retries=False,
                    redirect=False,
                )
            except urllib3.exceptions.HTTPError as error:  # connection refused, timeout, reset
                last = MetaError(f"GET {url} failed: {type(error).__name__}")
                hint = 0.0
            else:
                usage = Usage.from_headers(response.headers)
                body = _json_body(response.data)
                if response.status == 200 and isinstance(body, dict) and "error" not in body:
                    return body, usage
                last = _error_of(response.status, body)
                if not last.retryable:
                    raise last
                hint = usage.reset_seconds
            delay = max(self.backoff.delay(attempt, self.rng), hint)
            if attempt + 1 == self.backoff.max_attempts:
                break
            if delay > budget.left:
                raise MetaGaveUp(
                    f"GET {url}: waiting {delay:.0f}s more would pass the "
                    f"{self.backoff.max_wait_seconds:.0f}s wait budget; last error: {last}"
                ) from last
            log.warning(
                "meta request retried",
                extra={"url": url, "attempt": attempt + 1, "delay_seconds": round(delay, 3),
                       "error": str(last)},
            )  # fmt: skip
            self._sleep(delay, budget)
        raise MetaGaveUp(
            f"GET {url}: gave up after {self.backoff.max_attempts} attempts; last error: {last}"
        ) from last


def _json_body(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _error_of(status: int, body: Any) -> MetaApiError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        # No Meta error object (a proxy's 502, an HTML page): retry server-side failures only.
        error = {"message": f"HTTP {status} without a Meta error object"}
        return MetaApiError(status, error, retryable=status == 429 or status >= 500)
    code = _int_or_none(error.get("code"))
    if code == 190:
        return MetaAuthError(status, error, retryable=False)
    retryable = (
        code in THROTTLE_CODES
        or code in TRANSIENT_CODES
        or (code is None and (status == 429 or status >= 500))
    )
    return MetaApiError(status, error, retryable=retryable)


def _fact(node: str, window: Window, row: Any) -> Fact:
    """One insights row as a fact; a row that breaks the request's own shape is an error."""
    if not isinstance(row, dict):
        raise MetaError(f"unexpected insights row: {type(row).__name__}")
    try:
        day = date.fromisoformat(str(row["date_start"]))
        if str(row.get("date_stop", row["date_start"])) != row["date_start"]:
            raise MetaError(f"row spans {row['date_start']}..{row['date_stop']}, not one day")
        if not window.start <= day < window.end:
            raise MetaError(f"row day {day} is outside the window {window.start}..{window.end}")
        # Meta leaves out a metric with nothing to report; absent means zero.
        return Fact(
            account=node,
            day=day,
            campaign=str(row["campaign_id"]),
            spend=Decimal(str(row.get("spend", "0"))),
            impressions=int(row.get("impressions", 0)),
            clicks=int(row.get("clicks", 0)),
            currency=str(row["account_currency"]),
        )
    except (KeyError, ValueError, InvalidOperation) as error:
        raise MetaError(f"unexpected insights row for {node}: {error!r}") from None
