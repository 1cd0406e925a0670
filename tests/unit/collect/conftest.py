"""The collect API's moto environment for the handler and OpenAPI tests."""

from __future__ import annotations

import pytest

from tests.support.collect_api import collect_environment


@pytest.fixture
def collect_env(monkeypatch):
    yield from collect_environment(monkeypatch)
