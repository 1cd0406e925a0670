"""Fixtures for integration tests: a real patched moto server on a free loopback port."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localstack_client.session import Session

from headwater.local.emulator import Emulator
from headwater.local.moto_patches.lambda_invoker import set_lambda_invoker
from tests.support.emulator import code_zip, lambda_role

REGION = "us-east-1"
# The runner runs only handlers of these top-level packages (plus headwater): the fixture
# modules these tests deploy. Set before any runner or daemon starts; workers and daemons
# started by the tests inherit it.
os.environ["HEADWATER_HANDLER_PACKAGES"] = (
    "handler,hw_apigw_fixtures,hw_runner_fixtures,hw_slow_exit,sample_handlers"
)
ECHO = {"handler.py": "def handler(event, context):\n    return event\n"}


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def aws(emulator: Emulator):
    """``aws("s3")``: a client for the emulator through a localstack-client session."""
    host = emulator.endpoint_url.removeprefix("http://")
    session = Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name=REGION,
        localstack_host=host,
    )
    clients: dict[str, Any] = {}

    def client(service: str):
        if service not in clients:
            clients[service] = session.client(service)
        return clients[service]

    return client


class Invocations:
    """A Lambda invoker that records what the patches hand over (the runner's stand-in)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self._arrived = threading.Condition()
        self.fail_for: set[str] = set()

    def __call__(self, function_arn: str, event: dict) -> None:
        if function_arn in self.fail_for:
            raise RuntimeError(f"invoker refuses {function_arn}")
        with self._arrived:
            self.calls.append((function_arn, event))
            self._arrived.notify_all()

    def for_function(self, function_arn: str) -> list[dict]:
        return [event for arn, event in self.calls if arn == function_arn]


@pytest.fixture
def invocations() -> Iterator[Invocations]:
    recorder = Invocations()
    set_lambda_invoker(recorder)
    yield recorder
    set_lambda_invoker(None)


@pytest.fixture
def unique() -> str:
    """A short unique suffix so tests sharing the session server do not collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def make_function(aws, unique):
    """Create a Lambda function in the emulator (moto needs an existing IAM role)."""

    def make(name: str | None = None) -> str:
        role_arn = lambda_role(aws("iam"), f"role-{unique}")
        created = aws("lambda").create_function(
            FunctionName=name or f"fn-{unique}",
            Runtime="python3.12",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": code_zip(ECHO)},
        )
        return created["FunctionArn"]

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test of this tier carries its marker, whether or not its module sets pytestmark.
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)
