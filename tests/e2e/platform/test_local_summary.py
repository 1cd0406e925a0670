"""The newcomer's map: what ``./setup.sh run`` ends with, and ``headwater local summary`` prints
again, names the session's real deployment: the API's local base URL and its /health, the
emulator, the OpenAPI document, the API keys that exist and how to manage them, how to check
the local mode and how to destroy it. Every value is compared with the deployment itself, and
the URLs are called."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.e2e import ROOT, api_base, client, get, key_value, outputs

pytestmark = pytest.mark.e2e


def summary_rows(text: str) -> list[tuple[str, str]]:
    """(label, value) of the "Local deployment:" block; a continuation line has label ""."""
    lines = text.split("\nLocal deployment:\n", 1)[1].splitlines()
    rows = []
    for line in lines:
        if not line.startswith("  "):
            break
        rows.append((line[2:12].strip(), line[13:].strip()))
    return rows


def headwater(platform: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        cwd=ROOT,
        env=platform["local_env"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def keys_with_plans(platform: dict) -> list[str]:
    """What the summary must say of each key: "name (enabled; plan NAME)", from the emulator."""
    gateway = client(platform, "apigateway")
    plans: dict[str, list[str]] = {}
    for plan in gateway.get_usage_plans()["items"]:
        for key in gateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]:
            plans.setdefault(key["id"], []).append(plan["name"])
    return [
        f"{key['name']} ({'enabled' if key['enabled'] else 'disabled'}; plan "
        f"{','.join(plans.get(key['id'], [])) or 'none'})"
        for key in sorted(gateway.get_api_keys()["items"], key=lambda k: k["name"])
    ]


def check_summary(platform: dict, text: str, keys: list[str]) -> None:
    rows = summary_rows(text)
    labels = [label for label, _ in rows if label]
    assert labels == [
        *("API", "health", "emulator", "postgres", "OpenAPI", "API keys", "status", "logs"),
        "destroy",
    ], rows
    value = dict(rows)
    base = api_base(platform)  # what the front serves (apis.json), stage included
    assert value["API"] == f"{base}/  ({outputs(platform)['api_name']})"
    assert value["health"] == f"{base}/health"
    assert get(value["health"])[:2] == (200, {"status": "ok"})
    assert value["emulator"].split()[0] == platform["endpoint"]
    # The onboard demo's database (`./setup.sh run` started it), reachable as the URI says.
    uri = urlsplit(value["postgres"].split()[0])
    assert (uri.scheme, uri.username, uri.hostname, uri.path) == (
        "postgresql",
        "headwater_demo",
        "127.0.0.1",
        "/demo",
    ), value["postgres"]
    with socket.create_connection((uri.hostname, uri.port), timeout=5):
        pass
    password_file = Path(value["postgres"].split("password in ", 1)[1].split(";")[0])
    assert password_file.is_file() and password_file.stat().st_mode & 0o077 == 0
    assert password_file.read_text().strip() not in text  # the secret stays in its file
    document = value["OpenAPI"].split()[0]
    assert (ROOT / document).is_file() and document == "docs/openapi.json"
    assert "./setup.sh cli openapi" in value["OpenAPI"]
    assert value["API keys"] == ", ".join(keys)
    # How to manage them: the line right under the keys.
    manage = rows[[label for label, _ in rows].index("API keys") + 1]
    assert manage == (
        "",
        "./setup.sh cli keys list --show-value | create NAME --subscriber SUBSCRIBER"
        " | rotate NAME | revoke NAME",
    )
    assert value["status"] == "./setup.sh cli local status"
    state = platform["state"]
    assert value["logs"] == (
        f"{state / 'local.log'} (functions), {state / 'local' / 'terraform.log'}"
    )
    assert value["destroy"] == "./setup.sh destroy"
    # Key values are secrets: names and plans only (the curl line before it holds the demo key's
    # value on purpose: the user asked for a ready command).
    block = text.split("\nLocal deployment:\n", 1)[1]
    for name in ("demo", "ops"):
        assert key_value(platform, name) not in block


def test_the_run_ends_with_the_map_of_the_deployment(platform):
    run = platform["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    # At the end of the run, the keys were the environment's: one per subscriber and internal key.
    keys = [
        f"headwater-local-{name} (enabled; plan headwater-local-{name})" for name in ("demo", "ops")
    ]
    check_summary(platform, run.stdout, keys)
    # The ready curl command before it calls the same base URL with the demo key.
    assert f"-H 'x-api-key: {key_value(platform, 'demo')}' {api_base(platform)}/lookups/" in (
        run.stdout
    )


def test_local_summary_prints_it_again_with_the_keys_of_now(platform):
    done = headwater(platform, "local", "summary")
    assert done.returncode == 0, done.stderr
    check_summary(platform, done.stdout, keys_with_plans(platform))


def test_the_commands_it_names_work(platform):
    status = headwater(platform, "local", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"endpoint: {platform['endpoint']}" in status.stdout
    assert f"{api_base(platform)}/" in status.stdout


def test_terraform_output_api_url_is_the_local_front(platform):
    """Locally the api_url output is where the API is served, not the stage's AWS address."""
    api_url = outputs(platform)["api_url"]
    assert api_url == api_base(platform) == f"http://127.0.0.1:{platform['api_port']}/v1"
    status, body, _ = get(f"{api_url}/health")
    assert (status, body) == (200, {"status": "ok"})
    status, body, _ = get(f"{api_url}/lookups/employees", key_value(platform, "ops"))
    assert status == 200 and body["dataset"] == "employees", body


def test_the_summary_says_when_api_url_is_not_the_served_url(platform, tmp_path):
    """The front skips a busy port, which Terraform cannot know: the served URL wins, said so."""
    raw = json.loads((platform["state"] / "local" / "outputs.json").read_text())
    raw["api_url"]["value"] = "http://127.0.0.1:1/v1"
    stale = tmp_path / "outputs.json"
    stale.write_text(json.dumps(raw))
    done = headwater(platform, "local", "summary", "--outputs", str(stale))
    assert done.returncode == 0, done.stderr
    rows = summary_rows(done.stdout)
    health = [label for label, _ in rows].index("health")
    assert rows[health + 1] == (
        "",
        "(terraform output api_url says http://127.0.0.1:1/v1: the URL above is served)",
    )
    assert dict(rows)["API"].startswith(f"{api_base(platform)}/ ")
