"""The progress bar: in-place redraws on a TTY, a few plain lines otherwise, silence when quiet."""

from __future__ import annotations

import io

from headwater.progress import ProgressBar, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_stream_prints_a_few_milestone_lines():
    stream = io.StringIO()
    clock = FakeClock()
    with ProgressBar(8, label="feed", stream=stream, tty=False, clock=clock) as bar:
        for _ in range(8):
            clock.now += 0.5
            bar.advance()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split()[2] for line in lines] == ["2/8", "4/8", "6/8", "8/8"]
    assert lines[-1].startswith("feed  [" + "#" * 28 + "]")
    assert "100%" in lines[-1] and "2.0 files/s" in lines[-1] and "in 0:04" in lines[-1]


def test_tty_redraws_in_place_with_rate_and_eta():
    stream = io.StringIO()
    clock = FakeClock()
    bar = ProgressBar(10, stream=stream, tty=True, min_interval=0, clock=clock)
    clock.now += 10
    bar.advance(5)
    frame = stream.getvalue()
    assert frame.startswith("\r[") and frame.endswith("\x1b[K")
    assert "5/10" in frame and " 50%" in frame and "0.5 files/s" in frame and "ETA 0:10" in frame
    bar.close()
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1


def test_tty_redraws_are_throttled():
    stream = io.StringIO()
    clock = FakeClock()
    bar = ProgressBar(1000, stream=stream, tty=True, min_interval=1.0, clock=clock)
    for _ in range(999):
        bar.advance()  # the clock does not move: only the first advance draws
    assert stream.getvalue().count("\r") == 1
    bar.advance()  # reaching the total always draws
    assert stream.getvalue().count("\r") == 2


def test_quiet_writes_nothing():
    stream = io.StringIO()
    with ProgressBar(3, stream=stream, quiet=True, tty=True) as bar:
        for _ in range(3):
            bar.advance()
    assert stream.getvalue() == ""
    assert bar.count == 3


def test_unknown_total_shows_count_and_rate_without_eta():
    stream = io.StringIO()
    clock = FakeClock()
    with ProgressBar(None, stream=stream, tty=False, clock=clock) as bar:
        clock.now += 2
        bar.advance(4)
    assert stream.getvalue() == "4 files  2.0 files/s\n"


def test_close_is_idempotent_and_zero_rate_has_no_eta():
    stream = io.StringIO()
    bar = ProgressBar(5, stream=stream, tty=False, clock=FakeClock())
    assert "ETA --:--" in bar.render()
    bar.close()
    bar.close()
    assert stream.getvalue().count("\n") == 1


def test_format_duration():
    assert format_duration(0) == "0:00"
    assert format_duration(75.4) == "1:15"
    assert format_duration(3 * 3600 + 62) == "3:01:02"
