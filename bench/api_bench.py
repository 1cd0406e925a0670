"""Benchmark the lookup API through the local front, the runner alone, and the handler alone.

    uv run python -m bench.api_bench --requests 2000 --concurrency 8

Starts the patched emulator in a process of its own, as the daemon does (``--emulator thread``:
in this process, as before), loads a small ``employees`` dataset with
``load_lookup``, creates the lookup API function (handler headwater.handlers.lookup_api.handler,
env LOOKUP_TABLE) and a REST API with ``GET /lookups/{dataset}/{key}`` (AWS_PROXY, API key
required), a usage plan with a throttle high enough (rate and burst 10,000) that the front is
measured, not throttling, and one key. A Runner and an ApiFront serve it on loopback. Then, in
the same run, each case sends GET requests for the keys in turn and checks every answer is a 200
with the key's members:

- getitem:          one raw GetItem of the key's data item against the emulator, from this
                    process: the floor (the least a lookup must read); ratios are against it
- handler:          headwater.handlers.lookup_api.handler called in this process, one at a time,
                    with the proxy event the front builds (the function's own time per request)
- runner_seq:       the same events through Runner.invoke (Lambda emulation: worker process, IPC)
- front_seq:        real HTTP to the front, one keep-alive connection (adds HTTP, key, plan checks)
- runner_concurrent / front_concurrent: the same with ``--concurrency`` threads sharing
                    ``--requests`` requests (bounded; the run stops by itself)

Lambda and handler logs (Powertools, one JSON line per request) go to a file in the work
directory, not to the terminal. Prints a Markdown table, a breakdown of where one lookup spends
its time (differences of the nested cases' p50s, per-call timings of the handler's emulator
calls, medians of direct calls of the key check and the IAM check) and the issue's two target
ratios, and writes JSON to bench/results/. The local IAM checks are on unless
HEADWATER_LOCAL_IAM=off.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import common
from bench.common import RESULTS_DIR, machine, merge_rounds, percentile, write_report
from bench.lookup_bench import DATASET, load_with_headwater, upload
from tests.support.emulator import (
    REGION,
    code_zip,
    free_port,
    lambda_proxy_uri,
    lambda_role,
    make_client,
    running_emulator,
    use_emulator_environment,
)
from tests.support.lookup import create_lookup_table, department, generate_employees_csv
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

TABLE = "hw-bench-lookup"
TENANCY_TABLE = "hw-bench-tenancy"
FUNCTION = "hw-bench-lookup-api"
STAGE = "local"
RESOURCE = "/lookups/{dataset}/{key}"
CASES = (
    "getitem",
    "handler",
    "runner_seq",
    "front_seq",
    "runner_concurrent",
    "front_concurrent",
)
# The floor: one raw GetItem of a partition's item against the emulator, from this process.
BASE_CASE = "getitem"
HIGH_THROTTLE = {"rateLimit": 10_000.0, "burstLimit": 10_000}


# ---- deployment (what modules/api and modules/lookup create) -------------------------------------


def create_function(endpoint: str) -> str:
    return make_client("lambda", endpoint).create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        # What modules/lookup grants its API function: reads of the table, nothing else.
        Role=lambda_role(
            make_client("iam", endpoint),
            "hw-bench-api",
            [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                    "Resource": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}",
                },
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem"],
                    "Resource": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TENANCY_TABLE}",
                },
            ],
        ),
        Handler="headwater.handlers.lookup_api.handler",
        Timeout=10,
        MemorySize=512,
        Code={"ZipFile": code_zip()},
        Environment={
            "Variables": {
                "LOOKUP_TABLE": TABLE,
                "TENANCY_TABLE": TENANCY_TABLE,
                "POWERTOOLS_SERVICE_NAME": "lookup-api",
            }
        },
    )["FunctionArn"]


def create_api(endpoint: str, function_arn: str) -> dict[str, str]:
    """REST API with GET /lookups/{dataset}/{key} (key required), a plan and a key."""
    gw = make_client("apigateway", endpoint)
    api_id = gw.create_rest_api(name="hw-bench-lookup-api")["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    parent = root
    for part in ("lookups", "{dataset}", "{key}"):
        parent = gw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]
    gw.put_method(
        restApiId=api_id,
        resourceId=parent,
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    gw.put_integration(
        restApiId=api_id,
        resourceId=parent,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_proxy_uri(function_arn),
    )
    gw.create_deployment(restApiId=api_id, stageName=STAGE)
    plan = gw.create_usage_plan(
        name="hw-bench-plan",
        apiStages=[{"apiId": api_id, "stage": STAGE}],
        throttle=HIGH_THROTTLE,
    )
    key = gw.create_api_key(name="hw-bench-key", enabled=True)
    # As modules/api_stage does: the key belongs to a subscriber granted the dataset.
    dynamodb = make_client("dynamodb", endpoint)
    put_subscriber(dynamodb, TENANCY_TABLE, "bench", datasets=(DATASET,), usage_plan_id=plan["id"])
    put_key(dynamodb, TENANCY_TABLE, key["id"], "bench")
    gw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"api_id": api_id, "resource_id": parent, "key_id": key["id"], "key": key["value"]}


def proxy_request(api: dict[str, str], key: str, port: int) -> Any:
    """The request the front parses from GET /local/lookups/employees/<key> with the API key."""
    from headwater.local.apigateway.events import IncomingRequest

    path = f"/lookups/{DATASET}/{key}"
    return IncomingRequest(
        method="GET",
        path=path,
        stage=STAGE,
        headers=[
            ("Host", f"127.0.0.1:{port}"),
            ("Accept-Encoding", "identity"),
            ("x-api-key", api["key"]),
        ],
        query=[],
        body=b"",
        source_ip="127.0.0.1",
    )


def proxy_event(api: dict[str, str], key: str, port: int) -> dict[str, Any]:
    """The v1 proxy event the front builds for GET /lookups/employees/<key> with the API key."""
    from headwater.local.apigateway.events import Caller, build_event

    return build_event(
        proxy_request(api, key, port),
        api_id=api["api_id"],
        resource_id=api["resource_id"],
        resource_path=RESOURCE,
        path_parameters={"dataset": DATASET, "key": key},
        stage_variables={},
        caller=Caller(api_key=api["key"], api_key_id=api["key_id"]),
    )


# ---- measuring ---------------------------------------------------------------------------------


class Checker:
    """Every answer must be a 200 holding the asked key with its members (counted, not timed)."""

    def __init__(self, members_per_key: dict[str, int]) -> None:
        self.members_per_key = members_per_key
        self.ok = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def check(self, key: str, status: int, body: bytes | str) -> None:
        try:
            partition = json.loads(body)
            good = (
                status == 200
                and partition["key"] == key
                and len(partition["members"]) == self.members_per_key[key]
            )
        except (ValueError, KeyError, TypeError):
            good = False
        with self._lock:
            if good:
                self.ok += 1
            elif len(self.failures) < 5:
                self.failures.append(f"{key}: {status} {str(body)[:200]}")


def run_case(
    name: str,
    keys: list[str],
    total: int,
    concurrency: int,
    make_worker: Callable[[Checker], Callable[[str], None]],
    members_per_key: dict[str, int],
) -> dict[str, Any]:
    """Send ``total`` lookups over ``concurrency`` threads (``bench.common.run_case``)."""
    checker = Checker(members_per_key)
    return common.run_case(name, keys, total, concurrency, make_worker, checker)


def handler_worker(events: dict[str, dict]) -> Callable[[Checker], Callable[[str], None]]:
    from headwater.handlers import lookup_api
    from headwater.local.lambda_service.context import LambdaContext

    def make(checker: Checker) -> Callable[[str], None]:
        def send(key: str) -> None:
            context = LambdaContext(
                function_name=FUNCTION,
                function_version="$LATEST",
                invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}",
                memory_limit_in_mb="512",
                aws_request_id=str(uuid.uuid4()),
                log_group_name=f"/aws/lambda/{FUNCTION}",
                log_stream_name="bench",
                deadline_epoch_ms=int(time.time() * 1000) + 10_000,
            )
            response = lookup_api.handler(events[key], context)
            checker.check(key, response["statusCode"], response["body"])

        return send

    return make


def runner_worker(
    runner: Any, events: dict[str, dict]
) -> Callable[[Checker], Callable[[str], None]]:
    def make(checker: Checker) -> Callable[[str], None]:
        def send(key: str) -> None:
            result = runner.invoke(FUNCTION, events[key])
            payload = result.payload if result.ok else {}
            checker.check(key, payload.get("statusCode", 0), payload.get("body", ""))

        return send

    return make


def getitem_worker(
    endpoint: str, items: dict[str, dict[str, Any]]
) -> Callable[[Checker], Callable[[str], None]]:
    """One raw GetItem of the key's (single) data item: the floor a lookup cannot go below."""

    def make(checker: Checker) -> Callable[[str], None]:
        client = make_client("dynamodb", endpoint)  # one per thread: clients are not shared

        def send(key: str) -> None:
            response = client.get_item(TableName=TABLE, Key=items[key])
            item = response.get("Item") or {}
            members = item.get("members", {}).get("M", {})
            body = json.dumps({"key": key, "members": list(members)})
            checker.check(key, response["ResponseMetadata"]["HTTPStatusCode"], body)

        return send

    return make


class CallTimer:
    """Time of each emulator call a botocore client makes (send, answer, parse), by operation."""

    def __init__(self) -> None:
        self.by_operation: dict[str, list[float]] = {}
        self._started: dict[int, float] = {}

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self._started[threading.get_ident()] = time.perf_counter()

    def _after(self, model: Any, **_: Any) -> None:
        started = self._started.pop(threading.get_ident(), None)
        if started is not None:
            spent = time.perf_counter() - started
            self.by_operation.setdefault(model.name, []).append(spent)

    def reset(self) -> None:
        self.by_operation.clear()


def median_ms(values: list[float]) -> float:
    return percentile(sorted(values), 0.50) * 1000


def time_calls(fn: Callable[[], Any], count: int) -> float:
    """Median ms of ``count`` calls of ``fn`` (for the parts too small to time per request)."""
    spent = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - started)
    return median_ms(spent)


def front_worker(port: int, api_key: str) -> Callable[[Checker], Callable[[str], None]]:
    def make(checker: Checker) -> Callable[[str], None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # keep-alive

        def send(key: str) -> None:
            connection.request(
                "GET", f"/{STAGE}/lookups/{DATASET}/{key}", headers={"x-api-key": api_key}
            )
            response = connection.getresponse()
            checker.check(key, response.status, response.read())

        return send

    return make


def _process_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of this process and each of its descendants, by role."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmdline)
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in stats.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    by_role: dict[str, float] = {}
    for pid in mine:
        if pid not in stats:
            continue
        _, cpu, cmdline = stats[pid]
        if pid == os.getpid():
            role = "bench: front + runner"
        elif "emulator_process" in cmdline:
            role = "emulator"
        elif "worker_main" in cmdline:
            role = "function workers"
        elif "multiprocessing" in cmdline:
            role = "HTTP clients"
        else:
            continue
        by_role[role] = by_role.get(role, 0.0) + cpu
    return by_role


def front_case(
    name: str,
    port: int,
    api_key: str,
    keys: list[str],
    total: int,
    concurrency: int,
    members_per_key: dict[str, int],
) -> dict[str, Any]:
    """A front case, run in the clients' own process (see ``Clients``)."""
    return run_case(name, keys, total, concurrency, front_worker(port, api_key), members_per_key)


class Clients:
    """The HTTP clients of the front cases, in a process of their own.

    A client of the local API is another program: 8 client threads inside this process would
    compete for its GIL with the front and the runner they measure, and cap the 8-client case at
    what one interpreter does for both sides."""

    def __init__(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def run(self, *args: Any) -> dict[str, Any]:
        return self._pool.submit(front_case, *args).result()

    def close(self) -> None:
        self._pool.shutdown()


@contextlib.contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Send file descriptor 1 (this process and the workers it starts) to ``path``."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def wait_for_front(front: Any, api_name: str, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        served = front.urls().get(api_name)
        if served and STAGE in served["stages"]:
            return int(served["url"].rsplit(":", 1)[1])
        time.sleep(0.1)
    raise SystemExit(f"the API front did not serve {api_name} within {timeout:.0f}s")


def run(args: argparse.Namespace, work: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from headwater import aws
    from headwater.local.apigateway.front import ApiFront
    from headwater.local.lambda_service.runner import Runner

    csv_path = work / "employees.csv"
    rows = generate_employees_csv(csv_path, args.rows, args.keys)
    keys = [department(i) for i in range(args.keys)]
    members_per_key = {
        k: rows // args.keys + (1 if i < rows % args.keys else 0) for i, k in enumerate(keys)
    }
    results = []
    own_process = args.emulator == "process"
    journal = None if args.durability == "memory" else work / "emulator"
    with (
        running_emulator(own_process, journal, args.durability == "fsync") as emulator,
        stdout_to(work / "lambda-stdout.log"),
    ):
        endpoint = emulator.endpoint_url
        use_emulator_environment(endpoint)  # the in-process handler's clients
        os.environ.update(
            LOOKUP_TABLE=TABLE, TENANCY_TABLE=TENANCY_TABLE, POWERTOOLS_SERVICE_NAME="lookup-api"
        )
        s3, dynamodb = make_client("s3", endpoint), make_client("dynamodb", endpoint)
        create_lookup_table(dynamodb, TABLE)
        create_tenancy_table(dynamodb, TENANCY_TABLE)
        upload(s3, csv_path, f"lookup/{DATASET}/{csv_path.name}")
        manifest = load_with_headwater(s3, dynamodb, TABLE, f"lookup/{DATASET}/{csv_path.name}")
        api = create_api(endpoint, create_function(endpoint))
        runner = Runner(
            endpoint,
            REGION,
            refresh_interval=5.0,
            **({"max_workers_per_function": args.workers} if args.workers else {}),
        )
        front = ApiFront(
            endpoint,
            runner,
            REGION,
            base_port=free_port(),
            state_dir=work / "state",
            refresh_interval=5.0,
        )
        runner.start()
        front.start()
        try:
            port = wait_for_front(front, "hw-bench-lookup-api")
            events = {key: proxy_event(api, key, port) for key in keys}
            items = data_items(dynamodb, keys)
            timer = CallTimer()
            timer.attach(aws.client("dynamodb"))  # the in-process handler's client
            # Warm-up (not measured): cold starts of both workers and the in-process imports.
            # The in-process handler runs one event at a time, as in a Lambda sandbox: the
            # resolver holds the current event in module state, so two threads would race.
            warm = min(len(keys), 20)
            clients = Clients()
            for name, threads, make in (
                ("getitem", 1, getitem_worker(endpoint, items)),
                ("handler", 1, handler_worker(events)),
                ("runner", 2, runner_worker(runner, events)),
                ("front", 2, None),
            ):
                if make is None:
                    args_ = (name, port, api["key"], keys, warm, threads, members_per_key)
                    warmed = clients.run(*args_)
                else:
                    warmed = run_case(name, keys, warm, threads, make, members_per_key)
                if warmed["ok"] != warm:
                    raise SystemExit(f"warm-up of {name} failed: {warmed['failures']}")
            plan = {
                "getitem": (args.sequential_requests, 1, getitem_worker(endpoint, items)),
                "handler": (args.sequential_requests, 1, handler_worker(events)),
                "runner_seq": (args.sequential_requests, 1, runner_worker(runner, events)),
                "front_seq": (args.sequential_requests, 1, None),
                "runner_concurrent": (
                    args.requests,
                    args.concurrency,
                    runner_worker(runner, events),
                ),
                "front_concurrent": (args.requests, args.concurrency, None),
            }
            # The cases take turns, ``--rounds`` times, each with its share of the requests: a
            # shared machine's load drifts, and a ratio of cases run minutes apart would measure
            # the drift. Each case's rounds are merged afterwards.
            rounds: dict[str, list[dict[str, Any]]] = {case: [] for case in args.cases}
            cpu: dict[str, dict[str, float]] = {case: {} for case in args.cases}
            timer.reset()  # only the in-process handler uses its client from here on
            for number in range(args.rounds):
                print(f"round {number + 1} of {args.rounds} ...", file=sys.stderr)
                for case in args.cases:
                    total, concurrency, make = plan[case]
                    share = total // args.rounds + (1 if number < total % args.rounds else 0)
                    if share == 0:
                        continue
                    cpu_before = _process_cpu()
                    if make is None:  # through the front: the clients' own process
                        args_ = (case, port, api["key"], keys, share, concurrency, members_per_key)
                        rounds[case].append(clients.run(*args_))
                    else:
                        rounds[case].append(
                            run_case(case, keys, share, concurrency, make, members_per_key)
                        )
                    cpu_after = _process_cpu()
                    # A process that ended meanwhile is left out.
                    for role, seconds in cpu_after.items():
                        spent = seconds - cpu_before.get(role, 0.0)
                        cpu[case][role] = cpu[case].get(role, 0.0) + spent
            for case in args.cases:
                result = merge_rounds(rounds[case])
                result["cpu_ms_per_request"] = {
                    role: spent * 1000 / result["requests"]
                    for role, spent in sorted(cpu[case].items())
                }
                results.append(result)
            if "handler" in rounds:
                handled = sum(r["requests"] for r in rounds["handler"])
                results[args.cases.index("handler")]["emulator_calls"] = {
                    op: {"per_request": len(spent) / handled, "p50_ms": median_ms(spent)}
                    for op, spent in sorted(timer.by_operation.items())
                }
            parts = measure_parts(front, runner, api, port)
            clients.close()
        finally:
            front.stop()
            runner.stop()
    dataset = {"rows": rows, "keys": args.keys, "rows_loaded": manifest["rows"]}
    return dataset, results, parts


def data_items(dynamodb: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The primary key of each partition's first (here: only) data item in the live version."""
    from headwater.lookup.store import LookupStore, data_pk, part_sk

    version = LookupStore(TABLE, dynamodb).current_version(DATASET, consistent=True)
    return {
        key: {"pk": {"S": data_pk(DATASET, version, key)}, "sk": {"S": part_sk(0)}} for key in keys
    }


def measure_parts(front: Any, runner: Any, api: dict[str, str], port: int) -> dict[str, float]:
    """Median ms of the parts too small to time per request: the front's key and plan checks,
    and a worker's IAM check of one GetItem and one Query (the role's policies as written)."""
    from headwater.local.iam import enforce

    served = front._apis["hw-bench-lookup-api"]  # the bench times internals: private names
    snapshot = front._snapshot
    request = proxy_request(api, DATASET, port)
    parts = {
        "key_and_plan_check_ms": time_calls(
            lambda: front._check_key(served, request, snapshot), 2000
        )
    }
    spec = runner.iam.path(FUNCTION)
    if spec.exists():
        checker = enforce.Checker(str(spec))
        get = {"TableName": TABLE, "Key": {"pk": {"S": "x"}, "sk": {"S": "y"}}}
        query = {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "x"}},
        }
        parts["iam_check_getitem_ms"] = time_calls(
            lambda: checker.decide("dynamodb", "GetItem", get), 2000
        )
        parts["iam_check_query_ms"] = time_calls(
            lambda: checker.decide("dynamodb", "Query", query), 2000
        )
    return parts


def markdown_table(results: list[dict[str, Any]], base: dict[str, Any] | None) -> str:
    lines = [
        "| case | threads | requests | ok | requests/s | p50 ms | p90 ms | p99 ms "
        "| p50 x getitem |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r['p50_ms'] / base['p50_ms']:.2f}" if base else "-"
        lines.append(
            f"| {r['case']} | {r['concurrency']} | {r['requests']:,} | {r['ok']:,} | "
            f"{r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {ratio} |"
        )
    return "\n".join(lines)


def iam_state() -> str:
    from headwater.local.iam.policies import enabled

    return "on" if enabled() else "off"


def breakdown(by_case: dict[str, dict[str, Any]], parts: dict[str, float]) -> list[tuple]:
    """(part, ms at p50, how it is obtained): where a lookup through the front spends its time.

    Cases nest (front_seq = HTTP + key checks + runner_seq; runner_seq = worker IPC + IAM checks
    + handler; handler = its own code + emulator calls), so a part is a difference of p50s or,
    for the parts too small to see in a difference, a median of many direct calls."""
    rows: list[tuple] = []
    get = lambda case: by_case.get(case, {}).get("p50_ms")  # noqa: E731
    if get("getitem") is not None:
        rows.append(("raw GetItem (floor)", get("getitem"), "getitem p50"))
    calls = by_case.get("handler", {}).get("emulator_calls", {})
    in_calls = 0.0
    for op, call in calls.items():
        in_calls += call["per_request"] * call["p50_ms"]
        rows.append(
            (f"emulator {op} x{call['per_request']:.2f}", call["p50_ms"], "handler's client")
        )
    if get("handler") is not None:
        rows.append(("handler's own code", get("handler") - in_calls, "handler - emulator calls"))
    for name in ("iam_check_getitem_ms", "iam_check_query_ms"):
        if name in parts:
            label = name.removesuffix("_ms").replace("_", " ")
            rows.append((label, parts[name], "median of 2,000 Checker.decide"))
    if get("runner_seq") is not None and get("handler") is not None:
        rows.append(
            ("worker IPC + IAM checks", get("runner_seq") - get("handler"), "runner_seq - handler")
        )
    if "key_and_plan_check_ms" in parts:
        rows.append(
            ("key and plan checks", parts["key_and_plan_check_ms"], "median of 2,000 checks")
        )
    if get("front_seq") is not None and get("runner_seq") is not None:
        rows.append(
            (
                "front (HTTP, route, key)",
                get("front_seq") - get("runner_seq"),
                "front_seq - runner_seq",
            )
        )
    return rows


def breakdown_table(rows: list[tuple]) -> str:
    lines = ["| part | p50 ms | from |", "|---|---:|---|"]
    lines += [f"| {part} | {ms:.2f} | {how} |" for part, ms, how in rows]
    return "\n".join(lines)


def targets(by_case: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The issue's two ratios: front p50 over raw GetItem p50, 8-client over 1-client req/s."""
    floor, seq, conc = (by_case.get(c) for c in ("getitem", "front_seq", "front_concurrent"))
    return {
        "front_p50_x_getitem": seq["p50_ms"] / floor["p50_ms"] if seq and floor else None,
        "front_concurrent_x_seq_throughput": (
            conc["requests_per_s"] / seq["requests_per_s"] if seq and conc else None
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per concurrent case")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--sequential-requests",
        type=int,
        default=None,
        help="per one-thread case (default: a quarter of --requests)",
    )
    parser.add_argument("--rows", type=int, default=2000, help="dataset rows")
    parser.add_argument("--keys", type=int, default=100, help="dataset partition keys")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument(
        "--emulator",
        choices=("thread", "process"),
        default="process",
        help="moto in its own process, as the daemon runs it (default), or in this one (thread)",
    )
    parser.add_argument(
        "--durability",
        choices=("memory", "os", "fsync"),
        default="os",
        help="the emulator's crash-safe journal, as HEADWATER_LOCAL_DURABILITY (default os, the "
        "daemon's default; memory: no journal)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the cases take turns this many times, each with its share of the requests",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="warm workers per function (default: the runner's)",
    )
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    if args.sequential_requests is None:
        args.sequential_requests = max(1, args.requests // 4)
    if not (1 <= args.keys <= args.rows and args.requests >= 1 and 1 <= args.concurrency <= 64):
        parser.error("need 1 <= keys <= rows, requests >= 1 and 1 <= concurrency <= 64")
    if not 1 <= args.rounds <= min(args.requests, args.sequential_requests):
        parser.error("need 1 <= rounds <= the requests of every case")

    with tempfile.TemporaryDirectory(prefix="hw-api-bench-", dir=args.work_dir) as work:
        dataset, results, parts = run(args, Path(work))

    by_case = {r["case"]: r for r in results}
    base = by_case.get(BASE_CASE)
    for r in results:
        r["p50_vs_getitem"] = r["p50_ms"] / base["p50_ms"] if base else None
    rows = breakdown(by_case, parts)
    ratios = targets(by_case)
    print(
        f"\nDataset: {dataset['rows']:,} rows in {dataset['keys']:,} keys; "
        f"GET /lookups/{DATASET}/{{key}} with an API key, keys in turn; "
        f"emulator: {args.emulator}; durability: {args.durability}; "
        f"local IAM checks: {iam_state()}\n"
    )
    print(markdown_table(results, base))
    print("\nWhere a lookup through the front spends its time (p50, one thread):\n")
    print(breakdown_table(rows))
    print("\nTargets:")
    for name, goal, better in (
        ("front_p50_x_getitem", 2.5, "at most"),
        ("front_concurrent_x_seq_throughput", 2.0, "at least"),
    ):
        value = ratios[name]
        if value is not None:
            met = value <= goal if better == "at most" else value >= goal
            print(f"  {name} = {value:.2f} ({better} {goal}: {'met' if met else 'NOT met'})")
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "dataset": dataset,
        "emulator": args.emulator,
        "durability": args.durability,
        "iam_checks": iam_state(),
        "base_case": BASE_CASE,
        "results": results,
        "parts": parts,
        "breakdown": [{"part": p, "p50_ms": ms, "from": how} for p, ms, how in rows],
        "targets": ratios,
    }
    out = write_report(report, args.results_dir, f"api-{args.requests}req-{args.concurrency}c")
    print(f"\nresults: {out}", file=sys.stderr)
    failed = [r["case"] for r in results if r["ok"] != r["requests"]]
    if failed or dataset["rows_loaded"] != dataset["rows"]:
        for r in results:
            for failure in r["failures"]:
                print(f"{r['case']}: {failure}", file=sys.stderr)
        print(f"requests that did not get the right answer in: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
