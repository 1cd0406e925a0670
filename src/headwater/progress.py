"""A small dependency-free progress bar on stderr.

On a terminal it redraws one line in place; when output is redirected (CI logs, ``setup.sh``
piping) it prints a handful of plain lines instead of hundreds of carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# Milestones printed when the stream is not a terminal.
_PLAIN_STEPS = (0.25, 0.5, 0.75)
_PLAIN_EVERY_UNKNOWN = 100  # without a total, one line per this many items


def format_duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Counts finished items: ``advance()`` per item, ``close()`` at the end (or use ``with``)."""

    def __init__(
        self,
        total: int | None,
        label: str = "",
        unit: str = "files",
        stream: TextIO | None = None,
        quiet: bool = False,
        tty: bool | None = None,
        width: int = 28,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = self._isatty() if tty is None else tty
        self.width = width
        self.min_interval = min_interval
        self.clock = clock
        self.count = 0
        self._started = clock()
        self._last_draw = float("-inf")
        self._next_step = 0
        self._closed = False

    def _isatty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self.quiet:
            return
        if self.tty:
            now = self.clock()
            # Throttle redraws: thousands of tiny files would otherwise spend time on the terminal.
            if now - self._last_draw >= self.min_interval or self.count == self.total:
                self._last_draw = now
                self.stream.write("\r" + self.render() + "\x1b[K")
                self.stream.flush()
        elif self._plain_due():
            self._line()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r" + self.render() + "\x1b[K\n")
        else:
            self._line()
        self.stream.flush()

    def _plain_due(self) -> bool:
        if not self.total:
            return self.count % _PLAIN_EVERY_UNKNOWN == 0
        done = False
        while (
            self._next_step < len(_PLAIN_STEPS)
            and self.count >= self.total * _PLAIN_STEPS[self._next_step]
        ):
            self._next_step += 1
            done = True
        return done and self.count < self.total  # the final line comes from close()

    def _line(self) -> None:
        self.stream.write(self.render() + "\n")
        self.stream.flush()

    def rate(self) -> float:
        elapsed = self.clock() - self._started
        return self.count / elapsed if elapsed > 0 else 0.0

    def render(self) -> str:
        rate = self.rate()
        parts = [self.label] if self.label else []
        if self.total:
            fraction = min(1.0, self.count / self.total)
            filled = int(self.width * fraction)
            parts.append("[" + "#" * filled + "." * (self.width - filled) + "]")
            parts.append(f"{self.count}/{self.total}")
            parts.append(f"{fraction * 100:3.0f}%")
        else:
            parts.append(f"{self.count} {self.unit}")
        parts.append(f"{rate:.1f} {self.unit}/s")
        if self.total and self.count < self.total:
            eta = (self.total - self.count) / rate if rate > 0 else None
            parts.append("ETA " + (format_duration(eta) if eta is not None else "--:--"))
        elif self.total:
            parts.append("in " + format_duration(self.clock() - self._started))
        return "  ".join(parts)


def step(text: str, stream: TextIO | None = None) -> None:
    """One line announcing the next step of a long command (``==> ...``, as setup.sh logs)."""
    stream = stream if stream is not None else sys.stderr
    stream.write(f"==> {text}\n")
    stream.flush()
