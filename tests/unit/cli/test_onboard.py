"""``headwater onboard run|status``: parsing, the per-table report, exit codes, the progress line,
and both commands against a state table and bucket in moto's in-process mock, holding a run as
the dispatcher and workers record it (state items, manifests, summary)."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from headwater import aws as hw_aws
from headwater import cli
from headwater.cli import demo, onboard
from tests.support.onboard import create_state_table

TABLE = "onboard-state"
BUCKET = "onboard-landing"
DISPATCHER = "onboard-dispatcher"
SECRET_NAME = "onboard-demo"
RUN_ID = "20261202T134300Z"


# ---- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["onboard", "run"],
        ["onboard", "run", "--source", "demo", "--wait", "30", "--outputs", "o.json"],
        ["onboard", "run", "--wait", "0", "--function", "f", "--terraform-dir", "d"],
        ["onboard", "status"],
        ["onboard", "status", "--source", "demo", "--run", RUN_ID],
        ["local", "postgres", "up"],
        ["local", "postgres", "down"],
        ["local", "postgres", "status"],
    ],
)
def test_every_spelling_parses_to_a_command(argv):
    assert callable(cli.build_parser().parse_args(argv).func)


@pytest.mark.parametrize(
    "argv",
    [
        ["onboard", "run", "--wait", "-1"],
        ["onboard", "run", "--wait", "soon"],
        ["onboard", "run", "--wait", "nan"],
        ["onboard", "run", "--outputs", "o.json", "--terraform-dir", "d"],
        ["onboard", "status", "--bogus"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "usage: headwater" in capsys.readouterr().err


@pytest.mark.parametrize("group", [["onboard"], ["local", "postgres"]])
def test_a_group_without_an_action_prints_help_and_exits_2(group, capsys):
    assert cli.main(group) == 2
    assert "usage: headwater" in capsys.readouterr().err


def test_onboard_is_a_command_and_a_demo_step():
    assert onboard in cli.COMMANDS
    assert demo.CAPABILITIES["onboard"] is onboard
    # The demo's options do not collide with another capability's (one parser holds them all).
    parser = argparse.ArgumentParser()
    for module in demo.CAPABILITIES.values():
        module.add_demo_arguments(parser.add_argument_group())
    args = parser.parse_args(["--onboard-rows", "20000", "--onboard-wait", "60"])
    assert (args.onboard_rows, args.onboard_wait) == (20000, 60.0)


def test_demo_rows_default_from_the_environment(monkeypatch):
    parser = argparse.ArgumentParser()
    monkeypatch.setenv("ONBOARD_DEMO_ROWS", "1234")
    onboard.add_demo_arguments(parser)
    assert parser.parse_args([]).onboard_rows == 1234
    monkeypatch.delenv("ONBOARD_DEMO_ROWS")
    parser = argparse.ArgumentParser()
    onboard.add_demo_arguments(parser)
    assert parser.parse_args([]).onboard_rows == 2_000_000


def test_scheduled_time_and_run_id():
    moment = datetime(2026, 12, 2, 13, 43, 0, 999_000, tzinfo=UTC)
    scheduled = onboard.scheduled_time(moment)
    assert scheduled == "2026-12-02T13:43:00Z"
    assert onboard.run_id_of(scheduled) == RUN_ID
    assert onboard.dispatcher_event("demo", scheduled) == {
        "source": "demo",
        "scheduled_time": scheduled,
    }


def test_choose_source():
    sources = {"demo": argparse.Namespace(name="demo"), "crm": argparse.Namespace(name="crm")}
    assert onboard.choose_source("crm", sources).name == "crm"
    with pytest.raises(cli.UsageError, match=r"give --source \(declared: crm, demo\)"):
        onboard.choose_source(None, sources)
    with pytest.raises(cli.UsageError, match="unknown source 'x'"):
        onboard.choose_source("x", sources)
    assert onboard.choose_source(None, {"demo": sources["demo"]}).name == "demo"


# ---- the report ------------------------------------------------------------------------------

STATE_ITEMS = [
    {"pk": f"run#demo#{RUN_ID}", "sk": "run", "status": "completed"},
    {"pk": f"run#demo#{RUN_ID}", "sk": "table#public.events", "status": "succeeded"},
    {"pk": f"run#demo#{RUN_ID}", "sk": "table#public.events#range#0", "status": "succeeded"},
    {"pk": f"run#demo#{RUN_ID}", "sk": "table#public.empty_table", "status": "succeeded"},
    {"pk": f"run#demo#{RUN_ID}", "sk": "table#public.orders", "status": "failed"},
]
MANIFESTS = {
    "public.events": {
        "rows": 2_000_000,
        "files": [
            {"key": "demo/public.events/run=x/part-00000.parquet", "rows": 1_000_000, "bytes": 9},
            {"key": "demo/public.events/run=x/part-10000.parquet", "rows": 1_000_000, "bytes": 9},
        ],
        "bytes": 61_234_567,
        "seconds": 12.34,
    },
    "public.empty_table": {"rows": 0, "files": [], "bytes": 0, "seconds": 0.2},
}
# The run summary's shape (headwater.onboard.worker.run_summary).
SUMMARY = {
    "source": "demo",
    "run_id": RUN_ID,
    "status": "completed",
    "tables": [
        {"table": "public.empty_table", "status": "succeeded", "mode": "full", "rows": 0,
         "files": 0, "bytes": 0, "seconds": 0.2, "error": None},
        {"table": "public.events", "status": "succeeded", "mode": "full", "rows": 2_000_000,
         "files": 2, "bytes": 61_234_567, "seconds": 12.34, "error": None},
        {"table": "public.orders", "status": "failed", "mode": "incremental", "rows": 0,
         "files": 0, "bytes": 0, "seconds": 0.0, "error": "UnrepresentableValue: total NaN"},
    ],
    "succeeded": 2,
    "failed": 1,
    "rows": 2_000_000,
}  # fmt: skip


def test_table_results_take_counts_from_manifests_and_errors_from_the_summary():
    results = onboard.table_results(STATE_ITEMS, MANIFESTS, SUMMARY)
    assert [r.table for r in results] == ["public.empty_table", "public.events", "public.orders"]
    empty, events, orders = results
    assert (events.rows, events.files, events.bytes, events.seconds) == (
        2_000_000,
        2,
        61_234_567,
        12.34,
    )
    assert (empty.rows, empty.files, empty.status) == (0, 0, "succeeded")
    assert (orders.status, orders.rows, orders.error) == (
        "failed",
        None,
        "UnrepresentableValue: total NaN",
    )


def test_render_table_lines_up_the_columns_and_names_the_failure():
    view = onboard.RunView(
        "demo", RUN_ID, True, onboard.table_results(STATE_ITEMS, MANIFESTS, SUMMARY)
    )
    text = onboard.render_table(view)
    lines = text.splitlines()
    assert lines[0] == f"run {RUN_ID} of source demo: completed, 1 failed"
    assert lines[1].split() == ["TABLE", "ROWS", "FILES", "BYTES", "SECONDS", "STATUS"]
    assert lines[2].split() == ["public.empty_table", "0", "0", "0", "B", "0.2", "succeeded"]
    assert lines[3].split() == [
        "public.events",
        "2,000,000",
        "2",
        "61.2",
        "MB",
        "12.3",
        "succeeded",
    ]
    assert lines[4].split() == ["public.orders", "-", "-", "-", "-", "failed"]
    # Numbers are right-aligned under their header: every row ends its ROWS cell at one column.
    ends = {
        line.index(cell) + len(cell)
        for line, cell in zip(lines[1:5], ["ROWS", "0", "2,000,000", "-"], strict=True)
    }
    assert len(ends) == 1
    assert lines[6].split()[:3] == ["3", "table(s)", "2,000,000"]
    assert lines[-1] == "  public.orders: UnrepresentableValue: total NaN"
    assert onboard.exit_code(view) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (134_217_728, "134.2 MB"),
     (5 * 10**12, "5000.0 GB")],
)  # fmt: skip
def test_human_bytes(value, text):
    assert onboard.human_bytes(value) == text


def test_exit_codes_of_a_view():
    ok = onboard.RunView(
        "demo", RUN_ID, True, onboard.table_results(STATE_ITEMS[:4], MANIFESTS, {})
    )
    assert onboard.exit_code(ok) == 0
    running = onboard.RunView("demo", RUN_ID, False, ok.tables)
    assert onboard.exit_code(running) == 3
    # A failure counted by the summary fails the run even when no table item says so.
    counted = onboard.RunView("demo", RUN_ID, True, ok.tables, summary={"failed": 1})
    assert onboard.exit_code(counted) == 1


# ---- against moto: the state table and bucket as the dispatcher and workers leave them ------


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ENV", "local")
    monkeypatch.setenv("HEADWATER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        hw_aws.reset()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_state_table(dynamodb, TABLE)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=SECRET_NAME
        )
        outputs = tmp_path / "outputs.json"
        outputs.write_text(
            json.dumps(
                {
                    "onboard_state_table_name": {"value": TABLE},
                    "onboard_bucket_name": {"value": BUCKET},
                    "onboard_dispatcher_function_name": {"value": DISPATCHER},
                    "onboard_demo_secret_arn": {"value": secret["ARN"]},
                }
            )
        )
        yield {"dynamodb": dynamodb, "s3": s3, "outputs": outputs, "secret_arn": secret["ARN"]}
    hw_aws.reset()


def record_run(env, run_id: str, *, complete: bool, failed: bool = False) -> None:
    """What a run leaves: run index, run and table items, manifests, and the summary last."""
    dynamodb, s3 = env["dynamodb"], env["s3"]
    items = [{"pk": "runs#demo", "sk": run_id}] + [
        {**item, "pk": f"run#demo#{run_id}"} for item in STATE_ITEMS
    ]
    for item in items:
        if item["sk"] == "table#public.orders" and not failed:
            item = {**item, "status": "succeeded" if complete else "running"}
        dynamodb.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in item.items()})
    manifests = dict(MANIFESTS)
    if not failed and complete:
        files = [{"key": "k", "rows": 2000, "bytes": 5}]
        manifests["public.orders"] = {"rows": 2000, "files": files, "bytes": 5, "seconds": 1.0}
    for table, manifest in manifests.items():
        s3.put_object(Bucket=BUCKET, Key=onboard.manifest_key("demo/", table, run_id),
                      Body=json.dumps(manifest).encode())  # fmt: skip
    if complete:
        tables = [{**t, "status": "succeeded", "error": None} for t in SUMMARY["tables"]]
        summary = SUMMARY if failed else {**SUMMARY, "failed": 0, "tables": tables}
        s3.put_object(Bucket=BUCKET, Key=onboard.summary_key("demo/", run_id),
                      Body=json.dumps({**summary, "run_id": run_id}).encode())  # fmt: skip


def test_status_prints_the_latest_run(env, capsys):
    record_run(env, "20261201T020000Z", complete=True, failed=True)
    record_run(env, RUN_ID, complete=True)
    code = cli.main(["onboard", "status", "--outputs", str(env["outputs"])])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0] == f"run {RUN_ID} of source demo: completed"
    assert "public.orders" in out and "2,002,000" in out
    code = cli.main(
        ["onboard", "status", "--run", "20261201T020000Z", "--outputs", str(env["outputs"])]
    )
    assert code == 1
    assert "UnrepresentableValue: total NaN" in capsys.readouterr().out


def test_status_of_a_running_run_exits_3_and_of_no_run_1(env, capsys):
    assert cli.main(["onboard", "status", "--outputs", str(env["outputs"])]) == 1
    assert "no run of source demo yet" in capsys.readouterr().err
    record_run(env, RUN_ID, complete=False)
    assert cli.main(["onboard", "status", "--outputs", str(env["outputs"])]) == 3
    out = capsys.readouterr().out
    assert f"run {RUN_ID} of source demo: running" in out
    assert "running" in [line.split()[-1] for line in out.splitlines() if "public.orders" in line]


def test_run_invokes_the_dispatcher_waits_and_reports(env, capsys):
    calls = []

    def invoke(function, event):
        calls.append((function, event))
        record_run(env, onboard.run_id_of(event["scheduled_time"]), complete=True)
        return {"run_id": onboard.run_id_of(event["scheduled_time"]), "messages": 4}, None

    args = cli.build_parser().parse_args(
        ["onboard", "run", "--wait", "30", "--outputs", str(env["outputs"])]
    )
    assert onboard.run_command(args, invoke=invoke) == 0
    ((function, event),) = calls
    assert function == DISPATCHER
    assert set(event) == {"source", "scheduled_time"} and event["source"] == "demo"
    assert "public.events" in capsys.readouterr().out


def test_a_failing_dispatcher_is_one_error_line(env):
    def invoke(function, event):
        return {"errorType": "ValueError", "errorMessage": "unknown source"}, "Unhandled"

    args = cli.build_parser().parse_args(["onboard", "run", "--outputs", str(env["outputs"])])
    with pytest.raises(
        cli.CommandError,
        match=r"dispatcher onboard-dispatcher failed \(ValueError\): unknown source",
    ):
        onboard.run_command(args, invoke=invoke)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_waiting_prints_a_progress_line_per_change_and_times_out(env):
    record_run(env, RUN_ID, complete=False)
    reader = onboard.RunReader("demo", "demo/", TABLE, BUCKET, env["dynamodb"], env["s3"])
    stream, clock = io.StringIO(), _Clock()
    view = onboard.wait_for_run(reader, RUN_ID, 7, stream=stream, clock=clock, sleep=clock.sleep)
    assert not view.complete and clock.now == 7
    lines = stream.getvalue().splitlines()
    # Unchanged progress is not repeated when the stream is not a terminal.
    assert lines == [f"run {RUN_ID}: 2/3 table(s) finished, 2,000,000 rows so far, 0:00"]


def test_waiting_ends_when_the_summary_is_written(env):
    record_run(env, RUN_ID, complete=False)
    reader = onboard.RunReader("demo", "demo/", TABLE, BUCKET, env["dynamodb"], env["s3"])
    clock = _Clock()

    def sleep(seconds):
        clock.sleep(seconds)
        if clock.now >= 4:
            record_run(env, RUN_ID, complete=True)

    view = onboard.wait_for_run(reader, RUN_ID, 60, stream=io.StringIO(), clock=clock, sleep=sleep)
    assert view.complete and clock.now == 4
    assert onboard.exit_code(view) == 0
    assert {t.table: t.rows for t in view.tables}["public.orders"] == 2000


def test_put_secret_writes_the_json_and_errors_never_carry_it(env):
    secret = {"host": "127.0.0.1", "port": 5432, "dbname": "demo", "username": "u",
              "password": "s3cr3t-value", "sslmode": "disable"}  # fmt: skip
    onboard.put_secret(env["secret_arn"], secret)
    stored = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=env["secret_arn"]
    )
    assert json.loads(stored["SecretString"]) == secret
    missing = env["secret_arn"].replace(SECRET_NAME, "nope")
    with pytest.raises(cli.CommandError) as raised:
        onboard.put_secret(missing, secret)
    assert "s3cr3t-value" not in str(raised.value)
    assert "ResourceNotFoundException" in str(raised.value)


def test_the_demo_outside_local_only_prints_how_to_run(env, monkeypatch, capsys):
    monkeypatch.setenv("ENV", "dev")
    args = argparse.Namespace(outputs=env["outputs"], onboard_rows=10, onboard_wait=1.0)
    assert onboard.run_demo(args) == 0
    assert "./setup.sh cli onboard run --source <name>" in capsys.readouterr().out


def test_the_demo_without_onboard_skips(env, tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    args = argparse.Namespace(outputs=empty, onboard_rows=10, onboard_wait=1.0)
    assert onboard.run_demo(args) == 0
    assert "skipping the onboard demo" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_progress_line_is_redrawn_in_place(env):
    record_run(env, RUN_ID, complete=False)
    reader = onboard.RunReader("demo", "demo/", TABLE, BUCKET, env["dynamodb"], env["s3"])
    stream, clock = _Terminal(), _Clock()
    onboard.wait_for_run(reader, RUN_ID, 5, stream=stream, clock=clock, sleep=clock.sleep)
    text = stream.getvalue()
    # One redraw per poll (\r, the line, clear to its end), then a newline before the report.
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "\x1b[K" in text and "0:04" in text
