"""The emulator in its own process: serves AWS calls, hands Lambda invocations to the parent,
refuses a busy port clearly, and does not outlive a parent killed without warning."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from headwater.local.emulator import PortInUseError, is_ready
from headwater.local.emulator_process import EmulatorProcess
from tests.support.emulator import make_client

pytestmark = pytest.mark.integration


def test_it_serves_aws_and_hands_eventbridge_lambda_targets_to_the_parent():
    received: list[tuple[str, dict]] = []
    arrived = threading.Event()

    def on_invoke(function: str, event: dict) -> None:
        received.append((function, event))
        arrived.set()

    with EmulatorProcess(port=0, on_invoke=on_invoke) as emulator:
        assert emulator.pid != os.getpid() and is_ready(emulator.endpoint_url)
        events = make_client("events", emulator.endpoint_url)
        target = "arn:aws:lambda:us-east-1:123456789012:function:hw-target"
        events.put_rule(
            Name="to-lambda", EventPattern=json.dumps({"source": ["hw.test"]}), State="ENABLED"
        )
        events.put_targets(Rule="to-lambda", Targets=[{"Id": "fn", "Arn": target}])
        events.put_events(
            Entries=[{"Source": "hw.test", "DetailType": "ping", "Detail": json.dumps({"n": 1})}]
        )
        assert arrived.wait(10), "the invocation did not reach the parent"
    ((function, event),) = received
    assert function == target
    assert event["source"] == "hw.test" and event["detail"] == {"n": 1}


def test_a_busy_port_is_refused_with_the_port_named():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError, match=str(port)):
            EmulatorProcess(port=port).start()


PARENT = """
import sys, time
from headwater.local.emulator_process import EmulatorProcess
emulator = EmulatorProcess(port=0)
emulator.start()
print(emulator.pid, emulator.port, flush=True)
time.sleep(600)
"""


def test_the_emulator_exits_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child_pid, port = (int(x) for x in parent.stdout.readline().split())
        assert is_ready(f"http://127.0.0.1:{port}")
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(child_pid):
            time.sleep(0.1)
        assert not _alive(child_pid), "the emulator outlived its parent"
        assert not is_ready(f"http://127.0.0.1:{port}")
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
