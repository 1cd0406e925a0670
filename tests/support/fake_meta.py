"""A loopback fake of Meta's Marketing API insights edge, for the connector's tests and bench.

``GET /v21.0/act_<id>/insights`` on 127.0.0.1 (a free port), answering as Meta documents it:

- rows per (day, campaign) for the requested ``time_range`` with ``time_increment=1`` and
  ``level=campaign``, numbers as strings, sorted by day then campaign; figures derive from a
  SHA-256 of (account, day, campaign), so every run and every process sees the same data;
- cursor pagination: ``paging.cursors.before/after`` are opaque base64 cursors, ``paging.next``
  only when another page exists (``next_base`` lets a test point ``next`` at another host);
- the token in ``Authorization: Bearer``; a wrong or missing token gets code 190;
- unknown account or bad parameters get code 100, like Meta;
- an optional rate limit: at most ``limit`` accepted calls per account per fixed window of
  ``window_seconds``; every answer carries ``X-Business-Use-Case-Usage``, ``X-Ad-Account-Usage``
  and ``X-App-Usage`` with the window's usage rising toward 100%, and a call over the limit gets
  HTTP 400 with code 80000 (ads_insights) subcode 2446079 and the reset hints;
- ``fail_next(n)``: the next n requests get an HTTP 500 with the transient code 2 (or an HTML
  page with ``meta_error=False``).

It counts requests, throttled requests and pages served. Time comes from ``clock`` (a
``VirtualClock`` in unit tests, so a one-minute reset costs nothing; the real clock in the
bench). The server thread stops when the ``with`` block ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

VERSION = "v21.0"
TOKEN = "fake-meta-token-5f2c"  # what tests put in credentials; checked, never logged
THROTTLE_CODE, THROTTLE_SUBCODE = 80000, 2446079
KNOWN_FIELDS = frozenset(
    {
        *("campaign_id", "campaign_name", "spend", "impressions", "clicks", "account_currency"),
        *("date_start", "date_stop", "account_id", "account_name", "cpc", "ctr", "reach"),
    }
)


class VirtualClock:
    """Shared time for a test's fake and connector: ``sleep`` advances it and returns at once."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@dataclass(frozen=True)
class FakeAccount:
    currency: str = "USD"
    campaigns: int = 3


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256(json.dumps(parts).encode()).digest(), "big")


def row_of(account: str, day: date, index: int, currency: str) -> dict[str, str]:
    """The fake's insights row: what Meta sends (strings), clicks left out when zero."""
    campaign = f"{account}{index:04d}"
    bits = _digest(account, day.isoformat(), campaign)
    impressions = 100 + bits % 20_000
    clicks = impressions * (1 + bits // 20_000 % 40) // 1_000  # 0.1% .. 4%
    if index % 3 == 0 and day.toordinal() % 2 == 0:
        clicks = 0  # an awareness campaign's quiet days: Meta leaves the field out
    spend = Decimal(bits // 800_000 % 100_000).scaleb(-2)  # 0.00 .. 999.99
    row = {
        "campaign_id": campaign,
        "campaign_name": f"Campaign {index}",
        "spend": str(spend),
        "impressions": str(impressions),
        "account_currency": currency,
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
    }
    if clicks:
        row["clicks"] = str(clicks)
    return row


def _cursor(offset: int) -> str:
    return base64.b64encode(json.dumps({"o": offset}).encode()).decode()


def _offset(cursor: str) -> int:
    return int(json.loads(base64.b64decode(cursor, validate=True))["o"])


@dataclass
class FakeMeta:
    accounts: dict[str, FakeAccount] = field(default_factory=lambda: {"1234567890": FakeAccount()})
    token: str = TOKEN
    limit: int | None = None  # accepted calls per account per window; None: no rate limit
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    next_base: str | None = None  # where paging.next points; default: this server
    # What happened (read after the block, or during it under no lock: counters only grow).
    requests: int = 0
    throttled: int = 0
    pages: int = 0
    failed: int = 0
    seen: list[dict[str, Any]] = field(
        default_factory=list, repr=False
    )  # path, query, authorization
    _failures: list[bool] = field(
        default_factory=list, repr=False
    )  # queued: True = Meta error object
    _windows: dict[str, tuple[int, int]] = field(
        default_factory=dict, repr=False
    )  # account: (window, calls)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FakeMeta:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, headers = fake._answer(self.path, self.headers.get("Authorization"))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                content = "text/html" if isinstance(body, bytes) else "application/json"
                self.send_header("Content-Type", content)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet: tests read the counters
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}/{VERSION}"

    def fail_next(self, count: int, meta_error: bool = True) -> None:
        with self._lock:
            self._failures.extend([meta_error] * count)

    # -- data ------------------------------------------------------------------------------
    def rows(self, account: str, since: date, until: date) -> list[dict[str, str]]:
        """Every row the fake holds for ``account`` from ``since`` to ``until`` inclusive."""
        spec = self.accounts[account]
        days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
        return [
            row_of(account, day, index, spec.currency)
            for day in days
            for index in range(1, spec.campaigns + 1)
        ]

    # -- the API ---------------------------------------------------------------------------
    def _answer(
        self, path: str, authorization: str | None
    ) -> tuple[int, dict[str, Any] | bytes, dict[str, str]]:
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests += 1
            self.seen.append({"path": parts.path, "query": query, "authorization": authorization})
            if self._failures:
                self.failed += 1
                if self._failures.pop(0):
                    return 500, _error("An unexpected error has occurred.", 2, None), {}
                return 500, b"<html><body>Internal Server Error</body></html>", {}
        if authorization != f"Bearer {self.token}" or "access_token" in query:
            return 400, _error("Invalid OAuth access token data.", 190, None, "OAuthException"), {}
        segments = parts.path.strip("/").split("/")
        if len(segments) != 3 or segments[0] != VERSION or segments[2] != "insights":
            return 400, _error(f"Unknown path components: {parts.path}", 2500, None), {}
        node = segments[1]
        account = node.removeprefix("act_")
        if not node.startswith("act_") or account not in self.accounts:
            message = f"Unsupported get request. Object with ID '{node}' does not exist"
            return 400, _error(message, 100, 33), {}
        headers, over = self._count(account)
        if over:
            return (
                400,
                _error("User request limit reached", THROTTLE_CODE, THROTTLE_SUBCODE),
                headers,
            )
        try:
            body = self._page(parts.path, account, query)
        except (ValueError, KeyError, TypeError) as bad:
            return 400, _error(f"Invalid parameter: {bad}", 100, None), headers
        with self._lock:
            self.pages += 1
        return 200, body, headers

    def _count(self, account: str) -> tuple[dict[str, str], bool]:
        """Count this call in the account's window; the usage headers and whether it is over."""
        if self.limit is None:
            return {}, False
        now = self.clock()
        window = math.floor(now / self.window_seconds)
        with self._lock:
            current, calls = self._windows.get(account, (window, 0))
            if current != window:
                calls = 0
            over = calls >= self.limit
            if over:
                self.throttled += 1
            else:
                calls += 1
            self._windows[account] = (window, calls)
        percent = min(100, calls * 100 // self.limit)
        reset = (window + 1) * self.window_seconds - now
        regain_minutes = math.ceil(reset / 60) if over else 0
        buc = {
            account: [
                {
                    "type": "ads_insights",
                    "call_count": percent,
                    "total_cputime": percent // 2,
                    "total_time": percent // 2,
                    "estimated_time_to_regain_access": regain_minutes,
                }
            ]
        }
        headers = {
            "X-Business-Use-Case-Usage": json.dumps(buc),
            "X-Ad-Account-Usage": json.dumps(
                {
                    "acc_id_util_pct": percent,
                    "reset_time_duration": math.ceil(reset),
                    "ads_api_access_tier": "standard_access",
                }
            ),
            "X-App-Usage": json.dumps({"call_count": 1, "total_cputime": 1, "total_time": 1}),
        }
        return headers, over

    def _page(self, path: str, account: str, query: dict[str, str]) -> dict[str, Any]:
        if query.get("level") != "campaign":
            raise ValueError("level must be campaign")
        if query.get("time_increment") != "1":
            raise ValueError("time_increment must be 1")
        fields = query.get("fields", "").split(",")
        if not set(fields) <= KNOWN_FIELDS:
            raise ValueError(f"unknown fields {sorted(set(fields) - KNOWN_FIELDS)}")
        time_range = json.loads(query.get("time_range", "null"))
        since = date.fromisoformat(time_range["since"])
        until = date.fromisoformat(time_range["until"])
        if since > until:
            raise ValueError("time_range since is after until")
        limit = int(query.get("limit", "25"))
        if not 1 <= limit <= 500:
            raise ValueError("limit must be 1..500")
        offset = _offset(query["after"]) if "after" in query else 0
        rows = self.rows(account, since, until)
        page = [{k: row[k] for k in fields if k in row} for row in rows[offset : offset + limit]]
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(offset), "after": _cursor(offset + len(page))}
        }
        if offset + limit < len(rows):
            base = self.next_base or self.base_url
            next_query = {**query, "after": _cursor(offset + limit)}
            paging["next"] = f"{base}/act_{account}/insights?{urlencode(next_query)}"
        return {"data": page, "paging": paging}


def _error(message: str, code: int, subcode: int | None, kind: str = "OAuthException") -> dict:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEfFakeTrace"
    return {"error": error}
