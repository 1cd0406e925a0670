"""`headwater local up|status|invoke|down` as a user runs them: real processes, real ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from localstack_client.session import Session

from tests.support.emulator import code_zip, free_port, lambda_role

pytestmark = pytest.mark.integration

HANDLER_MODULE = textwrap.dedent(
    """
    import json
    import os

    import boto3


    def echo(event, context):
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {"echo": event, "greeting": os.environ.get("GREETING")}


    def record(event, context):
        # Proves an EventBridge Lambda target reached the runner: the event lands in S3.
        boto3.client("s3").put_object(
            Bucket=os.environ["OUT_BUCKET"], Key="seen.json", Body=json.dumps(event)
        )
    """
)


# The console script users run.
HEADWATER = str(Path(sys.executable).with_name("headwater"))


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def process_ended(pid: int, within: float = 5.0) -> bool:
    """Gone, or a zombie waiting for init to reap it (its parent, the `up` command, has exited)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


class Cli:
    """Runs `headwater` in a subprocess with its own state dir (and a handler module on path)."""

    def __init__(self, state_dir: Path, handlers_dir: Path) -> None:
        self.state_dir = state_dir
        self.env = {
            **os.environ,
            "HEADWATER_STATE_DIR": str(state_dir),
            "PYTHONPATH": os.pathsep.join(
                [str(handlers_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 90):
        return subprocess.run(
            [HEADWATER, "local", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "local.pid"


@pytest.fixture
def cli(tmp_path: Path):
    handlers = tmp_path / "handlers"
    handlers.mkdir()
    (handlers / "sample_handlers.py").write_text(HANDLER_MODULE)
    runner = Cli(tmp_path / "state", handlers)
    yield runner
    runner("down")  # never leave a daemon behind, whatever the test did


@pytest.fixture
def running(cli: Cli):
    port = free_port()
    result = cli("up", "--port", str(port))
    assert result.returncode == 0, result.stderr + result.stdout
    return port


def session(port: int) -> Session:
    return Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
        localstack_host=f"127.0.0.1:{port}",
    )


def create_function(aws: Session, name: str, handler: str, env: dict[str, str]) -> str:
    return aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(aws.client("iam"), f"role-{name}"),
        Handler=handler,
        Code={"ZipFile": code_zip()},
        Environment={"Variables": env},
        Timeout=30,
    )["FunctionArn"]


def test_up_status_use_and_down(cli: Cli):
    port = free_port()

    up = cli("up", "--port", str(port))
    assert up.returncode == 0, up.stderr
    assert f"http://127.0.0.1:{port}" in up.stdout
    pid = int(cli.pid_file.read_text())

    status = cli("status")
    assert status.returncode == 0
    assert "running" in status.stdout
    assert str(pid) in status.stdout
    assert f"http://127.0.0.1:{port}" in status.stdout
    assert str(cli.state_dir / "local.log") in status.stdout

    s3 = session(port).client("s3")
    s3.create_bucket(Bucket="daemon-bucket")
    assert "daemon-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    # A DynamoDB stream mapping is listed and served by the runner.
    aws = session(port)
    stream_arn = aws.client("dynamodb").create_table(
        TableName="daemon-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    create_function(aws, "stream-reader", "sample_handlers.echo", {})
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="stream-reader", StartingPosition="LATEST"
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and stream_arn not in cli("status").stdout:
        time.sleep(0.5)
    (line,) = [ln for ln in cli("status").stdout.splitlines() if stream_arn in ln]
    assert line.startswith(f"mapping:  {stream_arn} -> stream-reader (")
    assert "polling (batch 100, concurrency 1)" in line

    again = cli("up", "--port", str(port))
    assert again.returncode == 0
    assert "already running" in again.stdout
    assert int(cli.pid_file.read_text()) == pid

    down = cli("down")
    assert down.returncode == 0
    assert not cli.pid_file.exists()
    assert port_is_free(port)
    assert process_ended(pid)
    assert cli("status").returncode == 3


def test_down_when_not_running_succeeds(cli: Cli):
    result = cli("down")
    assert result.returncode == 0
    assert "not running" in result.stdout


def test_stale_pid_file_is_cleaned_up(cli: Cli):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cli.state_dir.mkdir(parents=True)
    cli.pid_file.write_text(f"{dead.pid}\n")

    assert cli("status").returncode == 3
    assert not cli.pid_file.exists()

    cli.pid_file.write_text(f"{dead.pid}\n")
    port = free_port()
    up = cli("up", "--port", str(port))
    assert up.returncode == 0, up.stderr
    assert int(cli.pid_file.read_text()) != dead.pid


def _start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


@pytest.mark.parametrize(
    ("argv_tail", "recorded_start"),
    [
        # An old-style pid file (pid only) pointing at a process that merely mentions headwater.
        (["headwater-notes.md"], None),
        # A recycled pid: even a command line that looks like the daemon's is not it when the
        # process started at another instant than the one the pid file recorded.
        (["headwater.local.daemon", "--state-dir", "STATE"], "other"),
    ],
    ids=["mentions-headwater", "recycled-pid"],
)
def test_pid_file_naming_an_unrelated_process_is_stale_and_it_survives_down(
    cli: Cli, argv_tail: list[str], recorded_start: str | None
):
    argv = [arg.replace("STATE", str(cli.state_dir)) for arg in argv_tail]
    # The shell stays the process (two commands, no exec); its argv carries the strings above.
    bystander = subprocess.Popen(["sh", "-c", "sleep 60; exit 0", *argv])
    start_file = cli.state_dir / "local.start"
    try:
        cmdline = Path(f"/proc/{bystander.pid}/cmdline")
        deadline = time.monotonic() + 5  # empty until the exec completes
        while b"headwater" not in cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b"headwater" in cmdline.read_bytes()
        cli.state_dir.mkdir(parents=True)

        def write_state() -> None:
            cli.pid_file.write_text(f"{bystander.pid}\n")
            if recorded_start is not None:
                start_file.write_text(f"{bystander.pid} {_start_time(bystander.pid) + 1}\n")

        write_state()
        assert cli("status").returncode == 3
        assert not cli.pid_file.exists()

        write_state()
        down = cli("down")
        assert down.returncode == 0
        assert "not running" in down.stdout
        assert not cli.pid_file.exists() and not start_file.exists()
        time.sleep(0.3)  # a SIGTERM, had one been sent, would have ended the shell by now
        assert bystander.poll() is None, "down signalled a process that is not the daemon"
    finally:
        bystander.kill()
        bystander.wait()


def test_pid_file_records_the_daemon_start_time(cli: Cli, running: int):
    pid = int(cli.pid_file.read_text())  # the pid alone: `kill $(cat local.pid)` must work
    assert (cli.state_dir / "local.start").read_text().split() == [
        str(pid),
        str(_start_time(pid)),
    ]
    assert cli("status").returncode == 0


def test_port_in_use_is_one_clear_line(cli: Cli):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]

        result = cli("up", "--port", str(port))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0]
    assert "--port" in lines[0]
    assert not cli.pid_file.exists()


def test_invoke_prints_the_result_and_fails_on_function_error(cli: Cli, running: int, tmp_path):
    aws = session(running)
    create_function(aws, "echo", "sample_handlers.echo", {"GREETING": "hello"})
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"n": 1}))

    ok = cli("invoke", "echo", "--event", str(event_file))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"echo": {"n": 1}, "greeting": "hello"}

    failed = cli("invoke", "echo", "--event", "-", stdin=json.dumps({"fail": True}))
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "ValueError"

    missing = cli("invoke", "no-such-function", "--event", str(event_file))
    assert missing.returncode == 1
    assert "no-such-function" in missing.stderr


def test_eventbridge_lambda_targets_reach_the_runner(cli: Cli, running: int):
    aws = session(running)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="seen")
    function_arn = create_function(
        aws, "recorder", "sample_handlers.record", {"OUT_BUCKET": "seen"}
    )
    # The local IAM checks hold the recorder to its role, as AWS would.
    aws.client("iam").put_role_policy(
        RoleName="role-recorder",
        PolicyName="write-seen",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::seen/*"}
                ],
            }
        ),
    )
    events = aws.client("events")
    events.put_rule(Name="to-recorder", EventPattern=json.dumps({"source": ["test.daemon"]}))
    events.put_targets(Rule="to-recorder", Targets=[{"Id": "fn", "Arn": function_arn}])

    events.put_events(
        Entries=[{"Source": "test.daemon", "DetailType": "Ping", "Detail": json.dumps({"x": 1})}]
    )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket="seen").get("Contents", [])
        if listed:
            break
        time.sleep(0.5)
    body = json.loads(s3.get_object(Bucket="seen", Key="seen.json")["Body"].read())
    assert body["detail"] == {"x": 1}
    assert body["source"] == "test.daemon"


def test_foreground_runs_until_interrupted(cli: Cli):
    port = free_port()
    process = subprocess.Popen(
        [HEADWATER, "local", "up", "--foreground", "--port", str(port)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "endpoint: http" not in cli("status").stdout:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.3)
        status = cli("status")
        assert status.returncode == 0
        assert str(process.pid) in status.stdout
        session(port).client("sqs").create_queue(QueueName="fg")

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not cli.pid_file.exists()
    assert port_is_free(port)
