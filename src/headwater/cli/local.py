"""``headwater local up|down|status|invoke|postgres``: the embedded local mode from the command
line (``postgres``: the onboard demo's local PostgreSQL, ``cli/local_postgres.py``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from headwater.cli import local_postgres
from headwater.cli.errors import CommandError
from headwater.local import state
from headwater.local.emulator import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REGION, EmulatorError

EXIT_NOT_RUNNING = 3
PORT_ENV = "HEADWATER_LOCAL_PORT"


def default_port(environ: dict[str, str] | None = None) -> int:
    """``$HEADWATER_LOCAL_PORT`` (what setup.sh reads too), else LocalStack's edge port."""
    raw = (os.environ if environ is None else environ).get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"{PORT_ENV}={raw!r} is not a port number (1-65535)")
    return int(raw)


def register(subparsers: Any) -> None:
    local = subparsers.add_parser(
        "local",
        help="run the platform on this machine (AWS emulator + Lambda runner)",
        description="The embedded local mode: moto on 127.0.0.1 plus the Lambda runner, in one "
        "background process. State (pid file, log, the emulator's persisted data under "
        "local/emulator/) lives in $HEADWATER_STATE_DIR (default ./.headwater).",
    )
    commands = local.add_subparsers(dest="local_command", metavar="ACTION")

    up = commands.add_parser("up", help="start the background process (no-op if running)")
    up.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"emulator port on {DEFAULT_HOST} (default ${PORT_ENV}, else {DEFAULT_PORT}, "
        "LocalStack's edge port)",
    )
    up.add_argument("--foreground", action="store_true", help="run in this terminal until Ctrl-C")
    up.set_defaults(func=_up)

    down = commands.add_parser(
        "down",
        help="stop the background process and the local PostgreSQL (what they hold stays for "
        "the next up)",
    )
    down.set_defaults(func=_down)

    reset = commands.add_parser(
        "reset",
        help="stop it and delete the emulator's persisted state (every resource and object)",
        description="Stops the local mode if it runs and deletes what the emulator persisted "
        "(local/emulator/ in the state directory): the next `up` starts empty. The local "
        "Terraform state is kept; `./setup.sh deploy` notices the empty emulator and deploys "
        "again. `./setup.sh destroy` does this and also deletes the Terraform state.",
    )
    reset.set_defaults(func=_reset)

    status = commands.add_parser("status", help="is it running? (exit 3 when not)")
    status.set_defaults(func=_status)

    summary = commands.add_parser(
        "summary",
        help="where everything is: API and health URLs, emulator, OpenAPI, keys, next commands",
        description="What setup.sh prints after deploy and run: the local URLs (API base URL "
        "with its stage, /health, the emulator), the OpenAPI document, the API keys and how to "
        "manage them, and how to check and destroy the local mode. Exit 3 when it is not running.",
    )
    summary.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="`terraform output -json` of the environment (default: the local Terraform state)",
    )
    summary.add_argument(
        "--api-wait",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="wait this long for the front to serve a just-created API (default 15)",
    )
    summary.set_defaults(func=_summary)

    invoke = commands.add_parser(
        "invoke", help="invoke one deployed function with a sample event, print its result"
    )
    invoke.add_argument("function", help="function name or ARN")
    invoke.add_argument("--event", required=True, help="JSON file with the event, or - for stdin")
    invoke.add_argument(
        "--endpoint",
        help="emulator URL (default: the running local mode's, else "
        f"http://{DEFAULT_HOST}:${PORT_ENV} or {DEFAULT_PORT})",
    )
    invoke.add_argument("--timeout", type=float, help="override the function's timeout (s)")
    invoke.set_defaults(func=_invoke)

    local_postgres.add_parser(commands)

    local.set_defaults(func=lambda _args: _usage(local))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _up(args: argparse.Namespace) -> int:
    from headwater.local import daemon

    paths = state.state_paths()
    port = default_port() if args.port is None else args.port
    if args.foreground:
        return _up_foreground(paths, port)
    try:
        current, already = daemon.start(paths, port=port)
    except (EmulatorError, daemon.DaemonError) as exc:
        raise CommandError(str(exc)) from exc
    if already:
        print(f"local mode already running (pid {current.pid}) at {current.endpoint}")
    else:
        print(f"local mode running (pid {current.pid})")
    print(f"endpoint: {current.endpoint}")
    print(f"log:      {current.log_file}")
    return 0


def _up_foreground(paths: state.StatePaths, port: int) -> int:
    from headwater.local import daemon
    from headwater.local.emulator import PortInUseError, port_is_free

    current = daemon.status_after_crash(paths)
    if current.running:
        print(f"local mode already running (pid {current.pid}) at {current.endpoint}")
        return 0
    if not port_is_free(DEFAULT_HOST, port):
        raise CommandError(str(PortInUseError(DEFAULT_HOST, port)))
    paths.root.mkdir(parents=True, exist_ok=True)
    daemon.configure_logging(to_stderr=True, log_file=str(paths.log_file))
    print(f"local mode on http://{DEFAULT_HOST}:{port} (Ctrl-C to stop)", flush=True)
    return daemon.run(paths, port=port)


def _down(_args: argparse.Namespace) -> int:
    from headwater.local import daemon

    stopped = daemon.stop(state.state_paths())
    print(f"local mode stopped (pid {stopped})" if stopped else "local mode was not running")
    # The onboard demo's PostgreSQL goes down with it, so `./setup.sh destroy` (down, then
    # deleting local/) never deletes the data directory of a running server.
    if local_postgres.stop():
        print("local PostgreSQL stopped")
    return 0


def _persistence_line(paths: state.StatePaths) -> str:
    """How the running daemon keeps its state (as it recorded at start-up)."""
    from headwater.local import persistence

    mode = (state.read_info(paths) or {}).get("durability", "os")
    journal = persistence.state_dir(paths.root) / persistence.JOURNAL_NAME
    size = journal.stat().st_size if journal.exists() else 0
    return (
        f"state:    persisted ({persistence.DURABILITY_ENV}={mode}), journal {journal} "
        f"({size / 1e6:.1f} MB); `headwater local reset` deletes it"
        if mode != "memory"
        else f"state:    in memory only ({persistence.DURABILITY_ENV}=memory)"
    )


def _reset(_args: argparse.Namespace) -> int:
    from headwater.local import daemon, persistence

    paths = state.state_paths()
    stopped = daemon.stop(paths)
    if stopped:
        print(f"local mode stopped (pid {stopped})")
    directory = persistence.state_dir(paths.root)
    had_state = persistence.purge(directory)
    print(f"emulator state deleted ({directory})" if had_state else "no emulator state to delete")
    return 0


def _status(_args: argparse.Namespace) -> int:
    from headwater.local import daemon

    current = daemon.status(state.state_paths())
    if not current.running:
        print("local mode: not running")
        print(f"log:      {current.log_file}")
        return EXIT_NOT_RUNNING
    print(f"local mode: {'running' if current.endpoint else 'starting'}")
    print(f"pid:      {current.pid}")
    print(f"endpoint: {current.endpoint or 'starting'}")
    print(f"log:      {current.log_file}")
    from headwater.local.apigateway.front import read_apis

    for name, api in sorted(read_apis(state.state_paths().root).items()):
        stages = ", ".join(f"{api['url']}/{stage}/" for stage in api.get("stages", []))
        print(f"api:      {name} ({api['id']}): {stages or api['url'] + ' (no stage yet)'}")
    from headwater.local.event_sources.status import read_mappings, status_lines

    for line in status_lines(read_mappings(state.state_paths().root)):
        print(line)
    print(_persistence_line(state.state_paths()))
    from headwater.local.iam.policies import status_line

    iam_line = status_line(state.state_paths().root / "iam")
    if iam_line:
        print(iam_line)
    return 0


OPENAPI_DOCUMENT = Path("docs/openapi.json")


def api_base_url(api: dict[str, Any]) -> str:
    """The front's base URL of an API with its stage (the only one; else the bare URL)."""
    stages = api.get("stages") or []
    return f"{api['url']}/{stages[0]}" if len(stages) == 1 else api["url"]


def _summary(args: argparse.Namespace) -> int:
    from headwater.cli import keys, localenv
    from headwater.cli.outputs import read_outputs
    from headwater.local import daemon
    from headwater.local.apigateway.front import read_apis

    paths = state.state_paths()
    current = daemon.status(paths)
    if not current.endpoint:
        print("local mode: not running (start it: ./setup.sh deploy)", file=sys.stderr)
        return EXIT_NOT_RUNNING
    outputs = read_outputs(args.outputs)
    api_name = outputs.get("api_name")
    deadline = time.monotonic() + args.api_wait
    apis = read_apis(paths.root)
    # The front discovers APIs every few seconds: right after an apply it may not serve it yet.
    while api_name and api_name not in apis and time.monotonic() < deadline:
        time.sleep(1)
        apis = read_apis(paths.root)
    rows: list[tuple[str, str]] = []
    if api_name and api_name in apis:
        base = api_base_url(apis[api_name])
        rows += [("API", f"{base}/  ({api_name})"), ("health", f"{base}/health")]
        planned = (outputs.get("api_url") or "").rstrip("/")
        if planned and planned != base:
            # The front skips a busy port, which Terraform could not know when it applied.
            rows.append(("", f"(terraform output api_url says {planned}: the URL above is served)"))
    elif api_name:
        rows.append(("API", f"{api_name}: not served yet (see ./setup.sh cli local status)"))
    rows.append(("emulator", f"{current.endpoint}  (AWS_ENDPOINT_URL for aws, awslocal, tflocal)"))
    database = local_postgres.summary_line(paths.root)
    if database:
        rows.append(("postgres", database))
    rows.append(("OpenAPI", f"{OPENAPI_DOCUMENT}  (regenerate: ./setup.sh cli openapi)"))
    try:
        client = keys._client()
        listed = keys._pages(client, "get_api_keys", "listing API keys")
        _, plans = keys._plans_by_key(client)
        described = [
            f"{k.get('name', k['id'])} ({'enabled' if k.get('enabled') else 'disabled'}; plan "
            + (",".join(p.get("name", p["id"]) for p in plans.get(k["id"], [])) or "none")
            + ")"
            for k in sorted(listed, key=lambda k: k.get("name", ""))
        ]
        rows.append(("API keys", ", ".join(described) or "none"))
    except CommandError as exc:
        rows.append(("API keys", f"cannot list them: {exc}"))
    rows += [
        (
            "",
            "./setup.sh cli keys list --show-value | create NAME --subscriber SUBSCRIBER"
            " | rotate NAME | revoke NAME",
        ),
        ("status", "./setup.sh cli local status"),
        ("logs", f"{paths.log_file} (functions), {localenv.local_tfstate().parent}/terraform.log"),
        ("destroy", "./setup.sh destroy"),
    ]
    print("\nLocal deployment:")
    for label, value in rows:
        print(f"  {label:<10} {value}")
    return 0


def _read_event(source: str) -> dict:
    try:
        text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"cannot read event file {source}: {exc.strerror}") from exc
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"event {source} is not valid JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise CommandError(f"event {source} must be a JSON object")
    return event


def _invoke(args: argparse.Namespace) -> int:
    from headwater.local import daemon
    from headwater.local.emulator import is_ready

    event = _read_event(args.event)
    endpoint = args.endpoint or daemon.status(state.state_paths()).endpoint
    endpoint = endpoint or f"http://{DEFAULT_HOST}:{default_port()}"
    if not is_ready(endpoint):
        raise CommandError(f"no emulator at {endpoint}; start it with `headwater local up`")
    return invoke_here(endpoint, DEFAULT_REGION, args.function, event, timeout=args.timeout)


def invoke_here(
    endpoint: str, region: str, function: str, event: dict, timeout: float | None = None
) -> int:
    """Invoke ``function`` with ``event`` through a runner of our own in this process (the
    invocation runs here, its output on this terminal); print its result, exit 1 on a function
    error."""
    from headwater.local.lambda_service.runner import FunctionNotFound, Runner

    runner = Runner(endpoint, region=region)
    try:
        result = runner.invoke(function, event, timeout=timeout)
    except FunctionNotFound as exc:
        raise CommandError(f"{exc} (at {endpoint})") from exc
    finally:
        runner.stop()
    print(json.dumps(result.payload, indent=2, default=str))
    if result.function_error:
        print(
            f"headwater: function error ({result.function_error}): {result.error_type}",
            file=sys.stderr,
        )
        return 1
    return 0
