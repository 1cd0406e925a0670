"""What every handler shares: typed settings from the environment, the batch time budget."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from headwater.handlers.support.settings import env_var, read_settings
from headwater.handlers.support.time_budget import OutOfTime, TimeBudget


@dataclass(frozen=True)
class Sample:
    table: str = env_var("SAMPLE_TABLE")
    bucket: str = env_var("SAMPLE_BUCKET")
    prefix: str = env_var("SAMPLE_PREFIX", "in/")
    directory: str | None = env_var("SAMPLE_DIR", None, empty_is_unset=True)


def test_required_and_optional_variables():
    environ = {"SAMPLE_TABLE": "t", "SAMPLE_BUCKET": "b"}
    assert read_settings(Sample, environ) == Sample("t", "b", "in/", None)
    environ |= {"SAMPLE_PREFIX": "", "SAMPLE_DIR": ""}
    # An empty prefix is a deliberate setting; an empty directory means "the packaged one".
    assert read_settings(Sample, environ) == Sample("t", "b", "", None)


def test_one_error_names_every_missing_variable():
    with pytest.raises(RuntimeError, match=r"not set: SAMPLE_TABLE, SAMPLE_BUCKET\Z"):
        read_settings(Sample, {"SAMPLE_TABLE": ""})


def test_read_from_the_process_environment_at_call_time(monkeypatch):
    monkeypatch.setenv("SAMPLE_TABLE", "t")
    monkeypatch.setenv("SAMPLE_BUCKET", "b")
    monkeypatch.setenv("SAMPLE_DIR", "/x")
    assert read_settings(Sample).directory == "/x"


class Clock:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_budget_refuses_a_record_only_after_the_first():
    context = Clock(30_000)  # margin: max(10 s, 20 %) = 10 s
    budget = TimeBudget(context)
    context.remaining_ms = 5_000
    budget.start_next()  # the first always runs
    with pytest.raises(OutOfTime, match="5000 ms left, 10000 ms needed"):
        budget.start_next()


def test_no_clock_means_no_limit():
    budget = TimeBudget(object())
    for _ in range(3):
        budget.start_next()


def test_with_an_estimate_the_budget_plans_for_the_next_record_itself():
    context = Clock(900_000)  # flat margin: 20 % = 180 s
    budget = TimeBudget(context)
    budget.start_next(1_000)
    context.remaining_ms = 100_000
    budget.start_next(1_000)  # a small file fits in 100 s although the flat margin is 180 s
    with pytest.raises(OutOfTime, match="100000 ms left, 110000 ms needed"):
        budget.start_next(100_000)  # 100 s of work plus the 10 s reserve does not
    assert budget.total_ms == 900_000
