"""Contract test for ``moto_patches.cors``: the emulator does not echo arbitrary Origins."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

EVIL = "https://evil.example"


def request(url: str, method: str = "GET", headers: dict | None = None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.mark.parametrize(
    ("path", "method", "extra"),
    [
        ("/", "GET", {}),  # S3 ListBuckets
        ("/?Action=ListQueues", "GET", {}),  # SQS
        ("/", "OPTIONS", {"Access-Control-Request-Method": "GET"}),  # a browser's preflight
    ],
)
def test_the_emulator_grants_no_origin(emulator, path, method, extra):
    _, headers = request(f"{emulator.endpoint_url}{path}", method, {"Origin": EVIL, **extra})
    allowed = {k.lower(): v for k, v in headers.items()}.get("access-control-allow-origin")
    assert allowed not in (EVIL, "*"), headers
