"""The checkpoint / catch-up rule: which whole UTC days a run collects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from headwater.collect.windows import Plan, Window, horizon, plan

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # the daily run, 06:00 UTC


def _days(p: Plan) -> list[date]:
    return [d for w in p.windows for d in w.days()]


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


def test_first_run_collects_the_last_complete_day():
    p = plan(None, NOW)
    assert p.windows == (Window(d(9), d(10)),)
    assert p.skipped is None
    assert p.checkpoint == d(10)


def test_first_run_with_an_initial_backfill():
    p = plan(None, NOW, initial_days=7)
    assert _days(p) == [d(n) for n in range(3, 10)]
    assert all(len(w) == 1 for w in p.windows)


def test_normal_run_collects_the_day_completed_since_the_last():
    assert plan(d(9), NOW).windows == (Window(d(9), d(10)),)


def test_run_twice_the_same_day_collects_nothing_new():
    first = plan(d(9), NOW)
    again = plan(first.checkpoint, NOW + timedelta(hours=17))
    assert again.windows == () and again.skipped is None and again.checkpoint is None


def test_missed_runs_catch_up_oldest_first():
    p = plan(d(6), NOW)
    assert _days(p) == [d(6), d(7), d(8), d(9)]
    assert p.checkpoint == d(10)


def test_catch_up_is_capped_at_the_maximum_backfill_and_reports_the_gap():
    p = plan(d(1, month=1), NOW, max_backfill_days=5)
    assert _days(p) == [d(n) for n in range(5, 10)]
    assert p.skipped == Window(d(1, month=1), d(5))


def test_catch_up_exactly_at_the_cap_skips_nothing():
    p = plan(d(5), NOW, max_backfill_days=5)
    assert len(p.windows) == 5 and p.skipped is None


def test_lag_keeps_unsettled_days_for_later():
    assert plan(d(5), NOW, lag_days=3).windows[-1] == Window(d(7), d(8))
    # Lag 0 collects today's partial day too (a source with live figures).
    assert plan(d(9), NOW, lag_days=0).windows[-1] == Window(d(10), d(11))


def test_a_checkpoint_ahead_of_the_horizon_never_collects_backwards():
    assert plan(d(12), NOW).windows == ()


def test_days_are_utc_days_whatever_the_zone_of_now():
    # 01:00 in UTC+05:00 is still the previous day in UTC.
    east = datetime(2026, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    assert horizon(east) == d(9)
    assert horizon(NOW) == d(10)


def test_midnight_boundary():
    just_before = datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC)
    midnight = datetime(2026, 3, 10, tzinfo=UTC)
    assert plan(d(8), just_before).windows == (Window(d(8), d(9)),)
    assert plan(d(8), midnight).windows == (Window(d(8), d(9)), Window(d(9), d(10)))


@pytest.mark.parametrize(
    "kwargs",
    [{"lag_days": -1}, {"max_backfill_days": 0}, {"initial_days": 0}, {"initial_days": 31}],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        plan(None, NOW, **kwargs)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(None, datetime(2026, 3, 10))


def test_windows_are_whole_non_empty_days():
    with pytest.raises(ValueError):
        Window(d(2), d(2))
    with pytest.raises(TypeError):
        Window(datetime(2026, 3, 1, tzinfo=UTC), d(2))
    march_turn = Window(d(27, 2), d(2))
    assert list(march_turn.days()) == [d(27, 2), d(28, 2), d(1)]  # end excluded
    assert len(march_turn) == 3
