"""The Meta insights connector against the loopback fake of Meta's API (tests/support/fake_meta).

Real HTTP over 127.0.0.1 with urllib3; only time is virtual (the fake and the connector share a
``VirtualClock``), so a one-minute rate-limit reset costs nothing and every sleep is recorded.
"""

from __future__ import annotations

import logging
import random
import socket
from datetime import date, timedelta
from decimal import Decimal

import pytest

from headwater.collect.connectors import registry
from headwater.collect.connectors.base import InvalidParams
from headwater.collect.connectors.meta import (
    Backoff,
    MetaApiError,
    MetaAuthError,
    MetaError,
    MetaGaveUp,
    MetaInsightsConnector,
    Usage,
    account_id,
)
from headwater.collect.windows import Window
from tests.support.fake_meta import TOKEN, FakeAccount, FakeMeta, VirtualClock

ACCOUNT = "1234567890"
TEN_DAYS = Window(date(2026, 3, 1), date(2026, 3, 11))  # 10 days x 3 campaigns = 30 rows
CREDENTIALS = {"token": TOKEN}
NO_PACING = 101.0  # a usage threshold never reached: the connector only reacts to errors


def connector(fake: FakeMeta, clock: VirtualClock, **backoff: float) -> MetaInsightsConnector:
    return MetaInsightsConnector(
        base_url=fake.base_url, backoff=Backoff(**backoff), sleep=clock.sleep, rng=random.Random(7)
    )


def expected(fake: FakeMeta, account: str, window: Window) -> list[tuple]:
    """The fake's rows as fact tuples, converted independently of the connector's parser."""
    return [
        (f"act_{account}", date.fromisoformat(r["date_start"]), r["campaign_id"],
         Decimal(r["spend"]), int(r["impressions"]), int(r.get("clicks", "0")),
         r["account_currency"])
        for r in fake.rows(account, window.start, window.end - timedelta(days=1))
    ]  # fmt: skip


def as_tuples(facts) -> list[tuple]:
    return [
        (f.account, f.day, f.campaign, f.spend, f.impressions, f.clicks, f.currency) for f in facts
    ]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def test_every_page_is_collected_and_the_facts_are_the_fakes_rows(clock):
    with FakeMeta(accounts={ACCOUNT: FakeAccount("EUR", 3)}, clock=clock) as fake:
        facts = list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {"page_size": 7}, CREDENTIALS))
    assert as_tuples(facts) == expected(fake, ACCOUNT, TEN_DAYS)
    assert len(facts) == 30 and fake.pages == 5  # 7 + 7 + 7 + 7 + 2
    assert {f.currency for f in facts} == {"EUR"}
    assert {f.day for f in facts} == set(TEN_DAYS.days())
    # Strings become exact values: spend is the Decimal of Meta's string, not a float's.
    first_row = fake.rows(ACCOUNT, TEN_DAYS.start, TEN_DAYS.start)[0]
    assert facts[0].spend == Decimal(first_row["spend"])
    assert str(facts[0].spend) == first_row["spend"]
    assert facts[0].campaign == first_row["campaign_id"]
    # Zero clicks arrive as a missing field (the fake leaves them out): read as 0.
    assert any("clicks" not in r for r in fake.rows(ACCOUNT, TEN_DAYS.start, TEN_DAYS.end))
    assert clock.sleeps == []


def test_the_request_asks_campaign_days_for_the_inclusive_range_with_the_token_in_a_header(clock):
    with FakeMeta(clock=clock) as fake:
        list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {}, CREDENTIALS))
    (request,) = fake.seen
    assert request["path"] == f"/v21.0/act_{ACCOUNT}/insights"
    assert request["query"]["level"] == "campaign"
    assert request["query"]["time_increment"] == "1"
    assert request["query"]["time_range"] == '{"since":"2026-03-01","until":"2026-03-10"}'
    assert request["query"]["limit"] == "100"
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in request["query"]


@pytest.mark.parametrize(("page_size", "pages"), [(1, 30), (10, 3), (29, 2), (30, 1), (500, 1)])
def test_page_boundaries_follow_the_after_cursor_and_stop_without_next(clock, page_size, pages):
    with FakeMeta(clock=clock) as fake:
        facts = list(
            connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {"page_size": page_size}, CREDENTIALS)
        )
    assert as_tuples(facts) == expected(fake, ACCOUNT, TEN_DAYS)
    # An exact multiple of the page size ends on the last full page: no extra empty request.
    assert fake.requests == fake.pages == pages
    assert "after" not in fake.seen[0]["query"]
    assert all("after" in s["query"] for s in fake.seen[1:])
    assert len({s["query"].get("after") for s in fake.seen}) == pages  # never a page twice


def test_paging_next_is_never_followed_so_the_token_cannot_go_elsewhere(clock):
    # TEST-NET-1 (RFC 5737): were `next` followed, the run would fail instead of completing.
    with FakeMeta(clock=clock, next_base="http://192.0.2.1:9/v21.0") as fake:
        facts = list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {"page_size": 4}, CREDENTIALS))
    assert len(facts) == 30 and fake.pages == 8


def test_both_spellings_of_an_account_write_the_same_facts(clock):
    with FakeMeta(clock=clock) as fake:
        meta = connector(fake, clock)
        bare = as_tuples(meta.fetch(ACCOUNT, TEN_DAYS, {}, CREDENTIALS))
        prefixed = as_tuples(meta.fetch(f"act_{ACCOUNT}", TEN_DAYS, {}, CREDENTIALS))
    assert bare == prefixed and bare[0][0] == f"act_{ACCOUNT}"


@pytest.mark.parametrize("account", ["", "act_", "act_12a", "12 34", "act-123", "1" * 21, None])
def test_a_malformed_account_fails_before_any_request(clock, account):
    with FakeMeta(clock=clock) as fake, pytest.raises(ValueError, match="ad account"):
        list(connector(fake, clock).fetch(account, TEN_DAYS, {}, CREDENTIALS))
    assert fake.requests == 0
    assert account_id("act_42") == account_id("42") == "act_42"


def test_throttled_calls_back_off_for_metas_reset_hint_and_complete(clock):
    with FakeMeta(clock=clock, limit=4, window_seconds=60) as fake:
        meta = connector(fake, clock, usage_threshold=NO_PACING)
        facts = list(meta.fetch(ACCOUNT, TEN_DAYS, {"page_size": 3}, CREDENTIALS))
    assert as_tuples(facts) == expected(fake, ACCOUNT, TEN_DAYS)
    assert fake.pages == 10
    assert fake.throttled >= 2  # 10 pages at 4 per window: throttled at least twice
    # Each retry waited at least as long as the hint (1 minute, the BUC's unit), so the
    # retry after a throttle always landed in a new window and succeeded.
    assert len(clock.sleeps) == fake.throttled
    assert all(s >= 60 for s in clock.sleeps)


def test_high_usage_pauses_before_the_next_page_so_nothing_is_throttled(clock):
    with FakeMeta(clock=clock, limit=5, window_seconds=60) as fake:
        meta = connector(fake, clock, usage_threshold=80)
        facts = list(meta.fetch(ACCOUNT, TEN_DAYS, {"page_size": 3}, CREDENTIALS))
    assert len(facts) == 30
    assert fake.throttled == 0
    assert clock.sleeps  # paused at 80% (the 4th call of each window) for the window's reset
    assert all(0 < s <= 60 for s in clock.sleeps)


def test_without_pacing_the_same_run_is_throttled(clock):
    # The counterpart of the test above: the pause, not the fake, avoids the throttling.
    with FakeMeta(clock=clock, limit=5, window_seconds=60) as fake:
        list(connector(fake, clock, usage_threshold=NO_PACING).fetch(
            ACCOUNT, TEN_DAYS, {"page_size": 3}, CREDENTIALS))  # fmt: skip
    assert fake.throttled > 0


def test_an_invalid_token_fails_at_once_without_retry(clock):
    with FakeMeta(clock=clock) as fake, pytest.raises(MetaAuthError) as caught:
        list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {}, {"token": "expired-token"}))
    assert caught.value.code == 190 and not caught.value.retryable
    assert fake.requests == 1 and clock.sleeps == []
    assert "Invalid OAuth access token" in str(caught.value)


def test_an_invalid_parameter_or_unknown_account_fails_at_once(clock):
    with FakeMeta(clock=clock) as fake, pytest.raises(MetaApiError) as caught:
        list(connector(fake, clock).fetch("999", TEN_DAYS, {}, CREDENTIALS))
    assert (caught.value.code, caught.value.subcode) == (100, 33)
    assert fake.requests == 1 and clock.sleeps == []


@pytest.mark.parametrize("credentials", [None, {}, {"token": ""}, {"token": 7}])
def test_no_token_fails_before_any_request(clock, credentials):
    needs = pytest.raises(MetaError, match="needs a connection with a token")
    with FakeMeta(clock=clock) as fake, needs:
        list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {}, credentials))
    assert fake.requests == 0


@pytest.mark.parametrize("meta_error", [True, False], ids=["code-2", "html-500"])
def test_transient_server_errors_are_retried(clock, meta_error):
    with FakeMeta(clock=clock) as fake:
        fake.fail_next(2, meta_error=meta_error)
        facts = list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, {}, CREDENTIALS))
    assert len(facts) == 30
    assert fake.failed == 2 and fake.requests == 3
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] <= 1.0 and clock.sleeps[1] <= 2.0  # full jitter under base * 2**n


def test_it_gives_up_after_the_attempt_bound_with_a_clear_error(clock):
    with FakeMeta(clock=clock) as fake:
        fake.fail_next(10)
        with pytest.raises(MetaGaveUp, match="gave up after 3 attempts") as caught:
            list(connector(fake, clock, max_attempts=3).fetch(ACCOUNT, TEN_DAYS, {}, CREDENTIALS))
    assert fake.requests == 3 and len(clock.sleeps) == 2
    assert "An unexpected error has occurred" in str(caught.value)


def test_a_reset_longer_than_the_wait_budget_fails_at_once(clock):
    # One call per hour: Meta's hint (60 minutes) exceeds the 300 s budget, so no sleep at all.
    with FakeMeta(clock=clock, limit=1, window_seconds=3600) as fake:
        meta = connector(fake, clock, usage_threshold=NO_PACING)
        with pytest.raises(MetaGaveUp, match="wait budget"):
            list(meta.fetch(ACCOUNT, TEN_DAYS, {"page_size": 10}, CREDENTIALS))
    assert fake.requests == 2 and fake.throttled == 1 and clock.sleeps == []


def test_a_pause_longer_than_the_wait_budget_fails_with_the_usage(clock):
    with FakeMeta(clock=clock, limit=2, window_seconds=3600) as fake:
        meta = connector(fake, clock, usage_threshold=50)
        with pytest.raises(MetaGaveUp, match="usage is at 50%"):
            list(meta.fetch(ACCOUNT, TEN_DAYS, {"page_size": 10}, CREDENTIALS))
    assert fake.requests == 1 and fake.throttled == 0


def test_an_unreachable_api_is_retried_then_reported(clock):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    meta = MetaInsightsConnector(
        base_url=f"http://127.0.0.1:{port}/v21.0", backoff=Backoff(max_attempts=2),
        sleep=clock.sleep, rng=random.Random(1),
    )  # fmt: skip
    with pytest.raises(MetaGaveUp, match=r"NewConnectionError|MaxRetryError|ConnectTimeout"):
        list(meta.fetch(ACCOUNT, TEN_DAYS, {}, CREDENTIALS))
    assert len(clock.sleeps) == 1


def test_the_token_never_appears_in_errors_logs_or_urls(clock, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    errors: list[str] = []
    with FakeMeta(clock=clock, limit=3, window_seconds=60) as fake:
        meta = connector(fake, clock, usage_threshold=NO_PACING, max_attempts=2)
        fake.fail_next(1)
        list(meta.fetch(ACCOUNT, TEN_DAYS, {"page_size": 5}, CREDENTIALS))  # retries, throttles
        for failures, credentials, error in (
            (2, {"token": TOKEN}, MetaGaveUp),  # 2 attempts, both failing
            (0, {"token": TOKEN + "x"}, MetaAuthError),  # a wrong token
        ):
            fake.fail_next(failures)
            with pytest.raises(error) as caught:
                list(meta.fetch(ACCOUNT, TEN_DAYS, {}, credentials))
            errors.append(f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r}")
    assert fake.throttled > 0 and fake.failed == 3  # the runs went through every path
    assert "meta request retried" in caplog.text
    records = [str(vars(r)) for r in caplog.records]  # the extras too, not just the message
    assert any("delay_seconds" in r for r in records)
    for text in [caplog.text, *records, *errors, *(str(s["query"]) for s in fake.seen)]:
        assert TOKEN not in text


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"page_size": 0}, [("params.page_size", "minimum")]),
        ({"page_size": 501}, [("params.page_size", "maximum")]),
        ({"page_size": "10"}, [("params.page_size", "type")]),
        ({"level": "ad"}, [("params.level", "enum")]),
        ({"fields": "all", "page_size": True},
         [("params.fields", "additionalProperties"), ("params.page_size", "type")]),
    ],
)  # fmt: skip
def test_bad_params_are_refused_with_every_error_before_any_request(clock, params, errors):
    with FakeMeta(clock=clock) as fake, pytest.raises(InvalidParams) as caught:
        list(connector(fake, clock).fetch(ACCOUNT, TEN_DAYS, params, CREDENTIALS))
    assert [(e.path, e.rule) for e in caught.value.errors] == errors
    assert fake.requests == 0


def test_usage_headers_as_meta_documents_them():
    usage = Usage.from_headers(
        {
            "x-business-use-case-usage": '{"66782684": [{"type": "ads_management", '
            '"call_count": 95, "total_cputime": 20, "total_time": 20, '
            '"estimated_time_to_regain_access": 0}], "101": [{"type": "ads_insights", '
            '"call_count": 12, "total_cputime": 97, "total_time": 3, '
            '"estimated_time_to_regain_access": 2}]}',
            "x-ad-account-usage": '{"acc_id_util_pct": 9.67, "reset_time_duration": 30}',
            "x-app-usage": '{"call_count": 4, "total_cputime": 1, "total_time": 2}',
        }
    )
    assert usage == Usage(percent=97.0, reset_seconds=120.0)
    assert Usage.from_headers({}) == Usage(0.0, 0.0)
    assert Usage.from_headers({"x-app-usage": "not json"}) == Usage(0.0, 0.0)


@pytest.mark.parametrize("url", ["ftp://graph.facebook.com", "graph.facebook.com", "http://h/?a=1"])
def test_a_bad_base_url_is_refused(url):
    with pytest.raises(ValueError, match="base URL"):
        MetaInsightsConnector(base_url=url)


def test_it_is_registered_after_synthetic_which_stays_the_default():
    meta = registry.get("meta_insights")
    assert isinstance(meta, MetaInsightsConnector) and meta.requires_connection
    assert meta.natural_key == ("account", "day", "campaign")
    assert meta.base_url == "https://graph.facebook.com/v21.0"
    assert registry.DEFAULT == "synthetic"
    assert registry.names() == ["meta_insights", "synthetic"]
