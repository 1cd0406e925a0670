"""``headwater lookup publish|curl`` on moto's in-process AWS.

The loader Lambda is not running here; where a test waits for a load, the CLI's poll sleep is
replaced by the real loader (``load_lookup``) run on the uploaded object, as the EventBridge rule
would run it, so the CLI's follow-up reads the table the loader really wrote.
"""

from __future__ import annotations

import json
import shlex

import boto3
import pytest

from headwater import cli
from headwater.cli import lookup as lookup_cli
from headwater.lookup.contracts import load_lookups
from headwater.lookup.loader import Source, load_lookup
from headwater.lookup.store import LookupStore
from tests.support.lookup import RAW, REGION, TABLE, lookup_environment
from tests.support.paths import ROOT

EXAMPLE = ROOT / "examples" / "lookup" / "employees.csv"
API_NAME = "headwater-test"


@pytest.fixture
def lookup_env(monkeypatch):
    yield from lookup_environment(monkeypatch)


@pytest.fixture
def outputs(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "raw_bucket": {"value": RAW},
                "lookup_table": {"value": TABLE},
                "lookup_key_prefix": {"value": "lookup/"},
                "api_name": {"value": API_NAME},
            }
        )
    )
    return path


def run_loader_on_sleep(monkeypatch, env, calls: list[int]) -> None:
    """Each poll sleep runs the loader on the newest object under lookup/ (once per object)."""
    loaded: set[str] = set()

    def sleep(_seconds: float) -> None:
        calls.append(1)
        versions = env.s3.list_object_versions(Bucket=RAW, Prefix="lookup/")["Versions"]
        newest = max(versions, key=lambda v: v["LastModified"])
        if newest["VersionId"] in loaded:
            return
        loaded.add(newest["VersionId"])
        load_lookup(
            s3=env.s3,
            store=LookupStore(TABLE, env.dynamodb),
            source=Source(RAW, newest["Key"], newest["VersionId"]),
            lookups=load_lookups(),
        )

    monkeypatch.setattr(lookup_cli, "_sleep", sleep)


def publish(*args: str) -> int:
    return cli.main(["lookup", "publish", *args], commands=(lookup_cli,))


def test_publish_uploads_under_the_dataset_prefix(lookup_env, outputs, capsys):
    assert publish(str(EXAMPLE), "--dataset", "employees", "--outputs", str(outputs)) == 0
    body = lookup_env.s3.get_object(Bucket=RAW, Key="lookup/employees/employees.csv")["Body"]
    assert body.read() == EXAMPLE.read_bytes()
    assert "s3://hw-raw/lookup/employees/employees.csv" in capsys.readouterr().err


def test_flags_override_outputs_and_prefix_gets_its_slash(lookup_env, tmp_path):
    lookup_env.s3.create_bucket(Bucket="other-raw")
    assert (
        publish(str(EXAMPLE), "--dataset", "staff", "--bucket", "other-raw", "--prefix", "ref") == 0
    )
    lookup_env.s3.head_object(Bucket="other-raw", Key="ref/staff/employees.csv")


def test_publish_wait_reports_rows_keys_and_duration(lookup_env, outputs, capsys, monkeypatch):
    calls: list[int] = []
    run_loader_on_sleep(monkeypatch, lookup_env, calls)
    code = publish(
        str(EXAMPLE), "--dataset", "employees", "--outputs", str(outputs), "--wait", "30"
    )
    out = capsys.readouterr().out
    assert code == 0, out
    rows = len(EXAMPLE.read_text(encoding="utf-8").splitlines()) - 1
    departments = {line.split(",")[0] for line in EXAMPLE.read_text().splitlines()[1:]}
    store = LookupStore(TABLE, lookup_env.dynamodb)
    version = store.current_version("employees")
    assert version in out
    assert f"{rows} rows, {len(departments)} keys written, 0 deleted, in " in out
    assert calls, "the command must have waited for the load"


def test_publish_wait_reports_the_broken_rule_row_and_column(
    lookup_env, outputs, tmp_path, capsys, monkeypatch
):
    run_loader_on_sleep(monkeypatch, lookup_env, [])
    assert (
        publish(str(EXAMPLE), "--dataset", "employees", "--outputs", str(outputs), "--wait", "30")
        == 0
    )
    before = LookupStore(TABLE, lookup_env.dynamodb).current_version("employees")
    bad = tmp_path / "employees.csv"
    lines = EXAMPLE.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",seven"  # salary_band of data row 3: not an int64
    bad.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    code = publish(str(bad), "--dataset", "employees", "--outputs", str(outputs), "--wait", "30")
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED: type_mismatch" in out
    assert "(row 3, column 'salary_band')" in out
    assert LookupStore(TABLE, lookup_env.dynamodb).current_version("employees") == before


def test_an_earlier_failure_of_the_same_file_name_is_not_this_load(
    lookup_env, outputs, tmp_path, capsys, monkeypatch
):
    run_loader_on_sleep(monkeypatch, lookup_env, [])
    empty = tmp_path / "employees.csv"
    empty.write_text("")
    assert (
        publish(str(empty), "--dataset", "employees", "--outputs", str(outputs), "--wait", "30")
        == 1
    )
    assert "empty_file" in capsys.readouterr().out
    empty.write_bytes(EXAMPLE.read_bytes())
    assert (
        publish(str(empty), "--dataset", "employees", "--outputs", str(outputs), "--wait", "30")
        == 0
    )
    assert "loaded s3://hw-raw/lookup/employees/employees.csv" in capsys.readouterr().out


def test_publish_wait_times_out_without_a_loader(lookup_env, outputs, capsys, monkeypatch):
    monkeypatch.setattr(lookup_cli, "_sleep", lambda _s: None)
    code = publish(
        str(EXAMPLE), "--dataset", "employees", "--outputs", str(outputs), "--wait", "0.2"
    )
    assert code == 1
    assert "no load of s3://hw-raw/lookup/employees/employees.csv finished within 0.2s" in (
        capsys.readouterr().err
    )


def test_publish_without_a_bucket_is_a_clear_error(lookup_env, capsys):
    assert publish(str(EXAMPLE), "--dataset", "employees") == 1
    assert "give --bucket or --outputs" in capsys.readouterr().err


def test_publish_of_a_missing_file_is_a_clear_error(lookup_env, outputs, tmp_path, capsys):
    assert (
        publish(str(tmp_path / "nope.csv"), "--dataset", "employees", "--outputs", str(outputs))
        == 1
    )
    assert "no such file" in capsys.readouterr().err


def test_the_example_file_loads_completely(lookup_env):
    event = lookup_env.put_csv(EXAMPLE.read_bytes())
    outcome = load_lookup(
        s3=lookup_env.s3,
        store=LookupStore(TABLE, lookup_env.dynamodb),
        source=Source(
            RAW, event["detail"]["object"]["key"], event["detail"]["object"]["version-id"]
        ),
        lookups=load_lookups(),
    )
    assert outcome.status == "succeeded", outcome.manifest
    assert outcome.manifest["rows"] == len(EXAMPLE.read_text().splitlines()) - 1


# ---- curl ------------------------------------------------------------------------------


@pytest.fixture
def api(lookup_env, tmp_path, monkeypatch):
    """A REST API with a demo key in the emulator and the front's apis.json in a state dir."""
    gateway = boto3.client("apigateway", region_name=REGION)
    rest = gateway.create_rest_api(name=API_NAME)
    demo = gateway.create_api_key(name="demo", enabled=True)
    gateway.create_api_key(name="ops", enabled=True)
    state = tmp_path / "state"
    state.mkdir()
    (state / "apis.json").write_text(
        json.dumps({API_NAME: {"id": rest["id"], "url": "http://127.0.0.1:4599", "stages": ["v1"]}})
    )
    monkeypatch.setenv("HEADWATER_STATE_DIR", str(state))
    event = lookup_env.put_csv(EXAMPLE.read_bytes())
    load_lookup(
        s3=lookup_env.s3,
        store=LookupStore(TABLE, lookup_env.dynamodb),
        source=Source(
            RAW, event["detail"]["object"]["key"], event["detail"]["object"]["version-id"]
        ),
        lookups=load_lookups(),
    )
    return {"demo": demo, "state": state}


def curl(*args: str) -> int:
    return cli.main(["lookup", "curl", *args], commands=(lookup_cli,))


def test_curl_prints_a_ready_command_with_the_key_value(api, outputs, capsys):
    assert curl("--outputs", str(outputs), "--key", "Research & Development") == 0
    captured = capsys.readouterr()
    words = shlex.split(captured.out)
    assert words == [
        "curl",
        "-sS",
        "-H",
        f"x-api-key: {api['demo']['value']}",
        "http://127.0.0.1:4599/v1/lookups/employees/Research%20%26%20Development",
    ]
    assert api["demo"]["value"] not in captured.err


def test_curl_uses_the_key_id_from_the_outputs_and_the_first_key(api, outputs, tmp_path, capsys):
    gateway = boto3.client("apigateway", region_name=REGION)
    ops = next(k for k in gateway.get_api_keys()["items"] if k["name"] == "ops")
    raw = json.loads(outputs.read_text())
    raw["api_key_ids"] = {"value": {"ops": ops["id"]}}
    outputs.write_text(json.dumps(raw))
    assert curl("--outputs", str(outputs), "--key-name", "ops") == 0
    words = shlex.split(capsys.readouterr().out)
    value = gateway.get_api_key(apiKey=ops["id"], includeValue=True)["value"]
    first = LookupStore(TABLE).list_keys("employees", 1)[0][0]
    assert words[3] == f"x-api-key: {value}"
    assert words[4].endswith(f"/v1/lookups/employees/{first}")


def test_curl_without_a_local_front_says_so(api, outputs, capsys):
    (api["state"] / "apis.json").unlink()
    assert curl("--outputs", str(outputs)) == 1
    assert f"no local API front serves {API_NAME!r}" in capsys.readouterr().err


def test_curl_with_an_unknown_key_name_says_so(api, outputs, capsys):
    assert curl("--outputs", str(outputs), "--key-name", "nobody") == 1
    assert "no API key(s) named 'nobody'" in capsys.readouterr().err


def test_publish_of_an_undeclared_dataset_fails_at_once(lookup_env, outputs, capsys):
    code = publish(str(EXAMPLE), "--dataset", "staff", "--outputs", str(outputs), "--wait", "30")
    assert code == 1
    err = capsys.readouterr().err
    assert "no lookup contract declares dataset 'staff' (declared: employees)" in err
    assert "Contents" not in lookup_env.s3.list_objects_v2(Bucket=RAW), "nothing uploaded"
