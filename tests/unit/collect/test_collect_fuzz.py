"""Property-based fuzzing of the schedule routes: the validation never fails other than with
InvalidSchedule (so the API answers 400, never 500), what it accepts round-trips, and through the
handler on moto any body is a 201 or a 4xx with a JSON message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.collect.schedules import InvalidSchedule, Rules, apply_patch, parse_create
from tests.support.collect_api import collect_environment, request

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
RULES = Rules(min_interval=timedelta(minutes=60), now=NOW)
GOOD = {"name": "daily", "source": "synthetic", "account": "a", "expression": "rate(1 day)"}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
VALUES = {
    "name": st.from_regex(r"[a-z0-9_-]{0,47}", fullmatch=True) | JSON,
    "source": st.sampled_from(["synthetic", "meta", ""]) | JSON,
    "account": st.text(max_size=130) | JSON,
    "expression": st.sampled_from(
        [
            "rate(1 minute)",
            "rate(2 hours)",
            "cron(0 6 * * ? *)",
            "cron(*/5 * * * ? *)",
            "cron(0 0 L * ? *)",
            "cron(0 12 ? * 6#3 *)",
            "at(2026-12-24T18:00:00)",
            "at(2020-01-01T00:00:00)",
            "cron(0 6 * * ? 1970)",
        ]
    )
    | st.text(max_size=30)
    | JSON,
    "time_zone": st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kathmandu", "../etc", ""]) | JSON,
    "start": st.sampled_from(["2026-12-03T00:00:00Z", "2026-01-01T00:00:00+01:00", "x"]) | JSON,
    "end": st.sampled_from(["2027-01-01T00:00:00Z", "2026-12-02T06:00:01Z", "9999-12-31T23:59:59Z"])
    | JSON,
    "params": st.fixed_dictionaries({}, optional={"campaigns": JSON, "seed": JSON}) | JSON,
    "connection": st.none() | st.text(max_size=10) | JSON,
    "enabled": st.booleans() | JSON,
}


@st.composite
def bodies(draw):
    body = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=4, unique=True)):
        if draw(st.integers(0, 5)) == 0:
            body.pop(name, None)
        else:
            body[name] = draw(VALUES[name])
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.text(max_size=8))] = draw(JSON)
    return body


@settings(max_examples=400, deadline=None)
@given(bodies())
def test_validation_answers_a_schedule_or_every_error_never_a_crash(body):
    try:
        schedule = parse_create(body, RULES)
    except InvalidSchedule as exc:
        assert exc.errors and all(e.path is not None and e.rule and e.message for e in exc.errors)
        return
    # What is accepted shows as a body that is accepted again, unchanged.
    shown = {k: v for k, v in schedule.as_dict().items() if v is not None}
    assert parse_create(shown, RULES) == schedule
    assert apply_patch(schedule, {}, RULES) == schedule


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies())
def test_the_route_answers_201_or_a_json_4xx(monkeypatch, body):
    for env in collect_environment(monkeypatch):
        status, answer, _ = request("POST", "/schedules", body=body)
        assert status in (201, 400), (status, answer)
        assert answer and (status == 201 or answer["message"])
        assert len(env.scheduler_names()) == (1 if status == 201 else 0)
