"""End to end, on the session's ``./setup.sh run``: the lookup CSV goes through S3, EventBridge and
the loader function into DynamoDB, and comes back over real HTTP from the local API front with
real API keys, usage plans and the API function behind it.

Tests run in file order: the first ones read the example file ``setup.sh run`` published, the
later ones replace it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.e2e import (
    EXAMPLE,
    api_base,
    client,
    get,
    key_value,
    outputs,
    publish,
    read_csv,
    subscriber_key,
    usage_plan,
)
from tests.support.paths import ROOT
from tests.support.tenancy import put_key, put_subscriber

pytestmark = pytest.mark.e2e


def _url(platform, *parts: str, query: str = "") -> str:
    path = "/".join(quote(part, safe="") for part in parts)
    return f"{api_base(platform)}/{path}" + (f"?{query}" if query else "")


def _printed_curl(platform) -> str:
    run = platform["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
    lines = [
        line.strip()
        for line in run.stdout.splitlines()
        if line.strip().startswith("curl ") and "/lookups/" in line
    ]
    assert len(lines) == 1, run.stdout[-4000:]
    return lines[0]


def test_the_printed_curl_command_returns_a_department_with_its_members(platform):
    command = _printed_curl(platform)
    words = shlex.split(command)
    assert words[:3] == ["curl", "-sS", "-H"]
    assert words[3] == f"x-api-key: {key_value(platform, 'demo')}"
    assert words[4].startswith(api_base(platform) + "/lookups/employees/")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    expected = read_csv(EXAMPLE)
    assert body["dataset"] == "employees"
    assert body["key"] in expected
    assert body["members"] == expected[body["key"]]
    assert body["version"]


def test_the_run_summary_prints_the_lookup_load(platform):
    run = platform["run"]
    assert run.returncode == 0
    expected = read_csv(EXAMPLE)
    rows = sum(len(members) for members in expected.values())
    assert f"{rows} rows, {len(expected)} keys written" in run.stdout


def test_routes_answer_with_the_published_data(platform):
    demo = key_value(platform, "demo")
    expected = read_csv(EXAMPLE)
    department = "Research & Development"  # a key that needs percent-encoding in the path
    status, body, headers = get(_url(platform, "lookups", "employees", department), demo)
    assert status == 200, body
    assert headers.get("Content-Type", "").startswith("application/json")
    assert body["key"] == department and body["members"] == expected[department]
    version = body["version"]

    member, facts = next(iter(expected[department].items()))
    status, body, _ = get(_url(platform, "lookups", "employees", department, member), demo)
    assert status == 200, body
    assert body == {
        "dataset": "employees",
        "key": department,
        "member": member,
        "version": version,
        "facts": facts,
    }

    status, body, _ = get(_url(platform, "health"))  # no key needed
    assert (status, body) == (200, {"status": "ok"})

    status, body, _ = get(_url(platform, "lookups", "employees", "Nowhere"), demo)
    assert status == 404 and "Nowhere" in body["message"], body
    # A dataset the demo subscriber is not granted is a 403, whether it exists or not; an
    # internal key (reads every dataset) gets the 404 of a dataset that does not exist.
    status, body, _ = get(_url(platform, "lookups", "nothing", "Sales"), demo)
    assert (status, body) == (
        403,
        {"message": "subscriber 'demo' is not granted dataset 'nothing'"},
    )
    status, body, _ = get(_url(platform, "lookups", "nothing", "Sales"), key_value(platform, "ops"))
    assert (status, body) == (404, {"message": "unknown dataset 'nothing'"})
    status, body, _ = get(_url(platform, "lookups", "employees", department, "X999"), demo)
    assert status == 404 and "X999" in body["message"]
    status, body, _ = get(_url(platform, "lookups", "employees", query="limit=0"), demo)
    assert status == 400 and "limit" in body["message"]


def test_the_list_route_pages_through_every_key(platform):
    demo = key_value(platform, "demo")
    seen: list[str] = []
    cursor = None
    for _page in range(20):
        query = "limit=2" + (f"&cursor={quote(cursor)}" if cursor else "")
        status, body, _ = get(_url(platform, "lookups", "employees", query=query), demo)
        assert status == 200, body
        assert len(body["keys"]) <= 2
        seen.extend(body["keys"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(read_csv(EXAMPLE))  # every key once, in order, over several pages


def test_a_missing_or_unknown_key_is_forbidden(platform):
    url = _url(platform, "lookups", "employees", "Sales")
    for key in (None, "", "not-a-key-" + uuid.uuid4().hex):
        status, body, headers = get(url, key)
        assert (status, body) == (403, {"message": "Forbidden"}), key
        assert headers.get("x-amzn-ErrorType") == "ForbiddenException"


def test_over_quota_is_429_limit_exceeded(platform):
    gateway = client(platform, "apigateway")
    directory = outputs(platform)["tenancy_table"]
    # The key belongs to the demo subscriber (in a plan of its own, for a quota of 3).
    key = subscriber_key(platform, "demo", quota=3)
    plan = {"id": key["plan"]}
    try:
        url = _url(platform, "lookups", "employees", "Sales")
        # The front reads keys again when it meets an unknown one: the fresh key works at once.
        statuses = [get(url, key["value"], retry_throttle=False)[0] for _ in range(3)]
        assert statuses == [200, 200, 200]
        status, body, _ = get(url, key["value"], retry_throttle=False)
        assert (status, body) == (429, {"message": "Limit Exceeded"})
        # Another key's plan is its own: the demo subscriber is still served.
        assert get(url, key_value(platform, "demo"))[0] == 200
    finally:
        gateway.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
        gateway.delete_api_key(apiKey=key["id"])
        gateway.delete_usage_plan(usagePlanId=plan["id"])
        client(platform, "dynamodb").delete_item(
            TableName=directory, Key={"pk": {"S": f"key#{key['id']}"}}
        )


# ---- tenancy: subscribers read what they are granted ---------------------------------------


def _keys_cli(platform, *argv: str) -> subprocess.CompletedProcess:
    """``headwater keys ...`` as a user runs it, against the session's environment."""
    return subprocess.run(
        [sys.executable, "-m", "headwater", "keys", *argv,
         "--outputs", str(platform["state"] / "local" / "outputs.json")],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_subscriber_reads_only_the_datasets_it_is_granted(platform):
    # A second subscriber as modules/api_stage would write it: its own plan, granted "payroll"
    # only; its key comes from `headwater keys create --subscriber`.
    name = f"e2e-partner-{uuid.uuid4().hex[:6]}"
    plan = usage_plan(platform, name)
    directory = outputs(platform)["tenancy_table"]
    dynamodb = client(platform, "dynamodb")
    put_subscriber(dynamodb, directory, name, datasets=("payroll",), usage_plan_id=plan["id"])
    done = _keys_cli(platform, "create", name, "--subscriber", name)
    assert done.returncode == 0, done.stderr
    partner = done.stdout.strip()

    employees = _url(platform, "lookups", "employees", "Sales")
    for url in (employees, _url(platform, "lookups", "employees")):
        status, body, _ = get(url, partner)
        assert (status, body) == (
            403,
            {"message": f"subscriber {name!r} is not granted dataset 'employees'"},
        ), url
    status, body, _ = get(_url(platform, "lookups", "payroll", "Sales"), partner)
    assert (status, body) == (404, {"message": "unknown dataset 'payroll'"})
    # The same dataset, granted to demo and readable by every internal key.
    assert get(employees, key_value(platform, "demo"))[0] == 200
    assert get(employees, key_value(platform, "ops"))[0] == 200

    done = _keys_cli(platform, "list")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    row = next(r for r in rows if r[0] == name)
    assert row[2:4] == ["yes", name], row  # ENABLED, SUBSCRIBER
    demo_row = next(r for r in rows if r[1] == outputs(platform)["api_key_ids"]["demo"])
    assert demo_row[3] == "demo", "Terraform's keys belong to their subscriber too"


def test_a_rotated_key_keeps_its_subscriber_and_access(platform):
    name = f"e2e-rotate-{uuid.uuid4().hex[:6]}"
    done = _keys_cli(platform, "create", name, "--subscriber", "demo")
    assert done.returncode == 0, done.stderr
    old = done.stdout.strip()
    url = _url(platform, "lookups", "employees", "Sales")
    assert get(url, old)[0] == 200

    done = _keys_cli(platform, "rotate", name)
    assert done.returncode == 0, done.stderr
    new = done.stdout.strip()
    assert new and new != old
    status, body, _ = get(url, new)
    assert status == 200 and body["key"] == "Sales", body
    # A dataset demo is not granted stays closed to the new key.
    assert get(_url(platform, "lookups", "nothing"), new)[0] == 403
    # The old key is disabled and detached: the gateway refuses it once it has re-read its keys.
    deadline = time.monotonic() + 30
    while (status := get(url, old)[0]) != 403 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == 403

    done = _keys_cli(platform, "rotate", outputs(platform)["api_key_ids"]["demo"])
    assert done.returncode == 1 and "managed by Terraform" in done.stderr, done.stderr


def _rotated_with_grace(platform: dict, url: str) -> tuple[str, str, str]:
    """A demo key rotated with a grace of an hour: (old value, old id, new value)."""
    name = f"e2e-grace-{uuid.uuid4().hex[:6]}"
    done = _keys_cli(platform, "create", name, "--subscriber", "demo")
    assert done.returncode == 0, done.stderr
    old = done.stdout.strip()
    (old_id,) = [
        k["id"] for k in client(platform, "apigateway").get_api_keys()["items"] if k["name"] == name
    ]
    done = _keys_cli(platform, "rotate", name, "--grace", "1h")
    assert done.returncode == 0 and "keeps working until" in done.stderr, done.stderr
    new = done.stdout.strip()
    assert get(url, new)[0] == 200
    return old, old_id, new


def test_a_key_rotated_with_grace_works_until_its_expiry_then_gets_403(platform):
    url = _url(platform, "lookups", "employees", "Sales")
    # During the grace both keys read what the subscriber is granted.
    old, _, _ = _rotated_with_grace(platform, url)
    assert get(url, old)[0] == 200
    # Past the expiry (written back in time here: an hour is long for a test) the API refuses
    # the old key although the gateway still admits it.
    old, old_id, new = _rotated_with_grace(platform, url)
    past = datetime.now(UTC) - timedelta(minutes=1)
    put_key(
        client(platform, "dynamodb"),
        outputs(platform)["tenancy_table"],
        old_id,
        "demo",
        by="headwater-cli",
        expires=past,
    )
    status, body, _ = get(url, old)
    assert status == 403 and "expired at" in body["message"], body
    assert get(url, new)[0] == 200
    done = _keys_cli(platform, "prune")
    assert done.returncode == 0 and f"({old_id}), expired" in done.stdout, done.stdout


# ---- replacing the file ------------------------------------------------------------------

# Keys that need encoding in a path. Not "/": API Gateway decodes %2F before it matches routes,
# so a key with a slash is not reachable with single encoding there nor in the local front.
KEPT = ("Alpha", "Beta Team", "Gamma+Ops & Co")
DROPPED = ("Delta", "Epsilon")


def _version_file(path: Path, tag: str, departments: tuple[str, ...], members: int) -> Path:
    """Every title ends with ``@tag``: a response's data tells which file it came from."""
    lines = ["department,employee_id,name,title,location,start_date,salary_band"]
    for d, department in enumerate(departments):
        for m in range(members):
            lines.append(
                f"{department},M{d}{m:02d},Person {d}-{m},Role {m} @{tag},City {m},"
                f"2020-01-{m % 28 + 1:02d},{m % 8}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Reader(threading.Thread):
    """Reads the kept keys in a loop on loopback until stopped (at most ``limit`` requests)."""

    def __init__(self, urls: list[str], key: str, limit: int = 1500, pause: float = 0.05):
        super().__init__(daemon=True)
        self.urls, self.key, self.limit, self.pause = urls, key, limit, pause
        self.stop = threading.Event()
        self.seen: list[tuple[int, dict[str, Any]]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set() and len(self.seen) < self.limit:
                for url in self.urls:
                    status, body, _ = get(url, self.key)
                    self.seen.append((status, body))
                time.sleep(self.pause)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc


def _tags(body: dict[str, Any]) -> set[str]:
    return {facts["title"].rsplit("@", 1)[1] for facts in body["members"].values()}


def test_replacing_the_file_switches_at_once_and_drops_missing_keys(platform, tmp_path):
    ops = key_value(platform, "ops")
    run = uuid.uuid4().hex[:6]
    tag_a, tag_b = f"A{run}", f"B{run}"
    # Same file name in both: the second upload replaces the first, as a daily export would.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _version_file(tmp_path / "a" / "employees.csv", tag_a, KEPT + DROPPED, 4)
    second = _version_file(tmp_path / "b" / "employees.csv", tag_b, KEPT, 5)

    done = publish(platform, first)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded s3://" in done.stdout and f"{len(KEPT + DROPPED)} keys written" in done.stdout

    urls = [_url(platform, "lookups", "employees", department) for department in KEPT]
    reader = Reader(urls, ops)
    reader.start()
    try:
        time.sleep(0.5)
        done = publish(platform, second)
        time.sleep(1.0)  # keep reading the new version for a moment
    finally:
        reader.stop.set()
        reader.join(timeout=60)
    assert not reader.is_alive()
    assert reader.error is None, reader.error
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(KEPT)} keys written, {len(DROPPED)} deleted" in done.stdout

    by_version: dict[str, set[str]] = {}
    for status, body in reader.seen:
        # 503 is the documented "being replaced, retry" answer; anything else is a failure.
        assert status in (200, 503), (status, body)
        if status != 200:
            continue
        tags = _tags(body)
        assert len(tags) == 1, f"a response mixed two files: {body}"
        by_version.setdefault(body["version"], set()).update(tags)
        expected = read_csv(first if tags == {tag_a} else second)[body["key"]]
        assert body["members"] == expected, "members must be exactly one file's partition"
    assert sorted(by_version.values(), key=sorted) == [{tag_a}, {tag_b}], (
        "the reader must have seen both versions, each with its own file's data"
    )

    for department in DROPPED:
        status, body, _ = get(_url(platform, "lookups", "employees", department), ops)
        assert status == 404 and department in body["message"], body
    expected = read_csv(second)
    for department in KEPT:
        status, body, _ = get(_url(platform, "lookups", "employees", department), ops)
        assert status == 200 and body["members"] == expected[department], body


def test_a_malformed_file_fails_its_load_and_the_old_data_stays(platform, tmp_path):
    ops = key_value(platform, "ops")
    url = _url(platform, "lookups", "employees", KEPT[0])
    status, before, _ = get(url, ops)
    assert status == 200, before
    bad = tmp_path / "employees.csv"
    bad.write_text(
        "department,employee_id,name,title,location,start_date,salary_band\n"
        "Alpha,M001,Ok Person,Role,City,2020-01-01,1\n"
        "Alpha,M002,Broken Row,Role\n",  # too few fields on data row 2
        encoding="utf-8",
    )
    done = publish(platform, bad)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED: malformed" in done.stdout and "row 2" in done.stdout, done.stdout
    status, after, _ = get(url, ops)
    assert (status, after) == (200, before)
