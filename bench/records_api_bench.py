"""Benchmark POSTs of records through the local front, single records and batches, against raw
DynamoDB writes of the same items.

    uv run python -m bench.records_api_bench                     # about 2-3 minutes on 2 cores
    uv run python -m bench.records_api_bench --singles 100 --batches 10 --concurrency 4

Starts the patched emulator in a process of its own (as the daemon does) and creates what
modules/records and modules/api_stage would: the records table (hash ``pk``, range ``id``), the
idempotency table (hash ``id``), the tenancy directory with a subscriber granted ``orders`` and
its key, the records API function (``headwater.handlers.records_api.handler``, env
RECORDS_TABLE, IDEMPOTENCY_TABLE, TENANCY_TABLE, a role with the module's grants), and a REST
API with ``POST /records/orders`` (AWS_PROXY, API key required, the dataset's request model
from ``model_document`` and a body validator, so the front validates the model as API Gateway
does) and ``GET /records/orders/{id}``, a usage plan throttled at 10,000/s (the front is
measured, not the throttle) and one key. A Runner and an ApiFront serve it on loopback, with the
local IAM checks on. Cases, in the same run, each checking every answer:

- floor_single / floor_batch: one PutItem of a record's item / BatchWriteItem of a batch's items
  (25 a call), built as the handler builds them, straight against the emulator from this
  process: the floor, the least a POST must write; the items are built before the timing
- floor_getitem: one raw GetItem of a stored record: the floor of a GET
- handler_single / handler_batch / handler_idempotent: the handler called in this process with
  the proxy event the front builds (the function's own time), its emulator calls timed one by
  one with botocore's call events (what each POST asks of DynamoDB, and how long each takes)
- front_single_seq / front_single_concurrent: HTTP POSTs of one record through the front, one
  keep-alive connection / ``--concurrency`` threads
- front_batch_seq / front_batch_concurrent: the same with batches of ``--batch-size`` records
- front_single_idempotent: one record with a new ``Idempotency-Key`` each (the idempotency
  layer's cost: a conditional put before the write, an update after)
- front_get: GET /records/orders/{id} of a posted record, checked against what was posted

A POST answer counts only if it is a 201 with as many distinct ids as records posted; after the
run the records table must hold exactly the records written (raw writes and 201s) and the
idempotency table one item per idempotent POST, or the run exits 1. The HTTP clients run in a
process of their own (``api_bench.Clients``: a client is another program). The cases take turns,
``--rounds`` times, so a shared machine's drift weighs on each alike. Prints a Markdown table
(requests/s, records/s, p50, p99, ratios to the case's floor) and the ratios batch over single
and idempotent over plain, and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.api_bench import (
    HIGH_THROTTLE,
    STAGE,
    CallTimer,
    Clients,
    _process_cpu,
    median_ms,
    stdout_to,
    wait_for_front,
)
from bench.common import RESULTS_DIR, machine, merge_rounds, run_case, write_report
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
from tests.support.records import GOOD, create_idempotency_table, create_records_table
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

TABLE = "hw-bench-records"
IDEMPOTENCY_TABLE = "hw-bench-records-idempotency"
TENANCY_TABLE = "hw-bench-tenancy"
FUNCTION = "hw-bench-records-api"
API_NAME = "hw-bench-records-api"
DATASET = "orders"
SUBSCRIBER = "bench"
POST_PATH = f"/records/{DATASET}"
GET_RESOURCE = f"/records/{DATASET}/{{id}}"
ACCOUNT = "123456789012"
GET_RECORDS = 20  # records posted once and read back in turn by the GET cases

# case -> (kind, what one request carries, threads: "seq" or "concurrent", its floor)
CASES: dict[str, tuple[str, str, str, str]] = {
    "floor_single": ("floor", "single", "seq", "floor_single"),
    "floor_batch": ("floor", "batch", "seq", "floor_batch"),
    "floor_getitem": ("floor", "get", "seq", "floor_getitem"),
    "handler_single": ("handler", "single", "seq", "floor_single"),
    "handler_batch": ("handler", "batch", "seq", "floor_batch"),
    "handler_idempotent": ("handler", "idempotent", "seq", "floor_single"),
    "front_single_seq": ("front", "single", "seq", "floor_single"),
    "front_single_concurrent": ("front", "single", "concurrent", "floor_single"),
    "front_batch_seq": ("front", "batch", "seq", "floor_batch"),
    "front_batch_concurrent": ("front", "batch", "concurrent", "floor_batch"),
    "front_single_idempotent": ("front", "idempotent", "seq", "floor_single"),
    "front_get": ("front", "get", "seq", "floor_getitem"),
}


def batch_of(size: int) -> list[dict[str, Any]]:
    return [{**GOOD, "order_id": f"B-{i}"} for i in range(size)]


# ---- deployment (what modules/records and modules/api_stage create) ------------------------------


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def create_function(endpoint: str) -> str:
    return make_client("lambda", endpoint).create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        # modules/records' api_statements (KMS aside: the bench's tables are not encrypted).
        Role=lambda_role(
            make_client("iam", endpoint),
            "hw-bench-records-api",
            [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:BatchWriteItem", "dynamodb:GetItem"],
                    "Resource": table_arn(TABLE),
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                    ],
                    "Resource": table_arn(IDEMPOTENCY_TABLE),
                },
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem"],
                    "Resource": table_arn(TENANCY_TABLE),
                },
            ],
        ),
        Handler="headwater.handlers.records_api.handler",
        Timeout=10,
        MemorySize=512,
        Code={"ZipFile": code_zip()},
        Environment={"Variables": function_environment()},
    )["FunctionArn"]


def function_environment() -> dict[str, str]:
    return {
        "RECORDS_TABLE": TABLE,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "TENANCY_TABLE": TENANCY_TABLE,
        "POWERTOOLS_SERVICE_NAME": "records-api",
    }


def create_api(endpoint: str, function_arn: str) -> dict[str, str]:
    """POST /records/orders (model + body validator) and GET /records/orders/{id}, a plan, a
    key belonging to a subscriber granted orders."""
    from headwater.records.declarations import load_record_datasets
    from headwater.records.json_schema import model_document

    gw = make_client("apigateway", endpoint)
    api_id = gw.create_rest_api(name=API_NAME)["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    body_validator = gw.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True, validateRequestParameters=True
    )["id"]
    params_validator = gw.create_request_validator(
        restApiId=api_id, name="params", validateRequestParameters=True
    )["id"]
    gw.create_model(
        restApiId=api_id,
        name="RecordsOrders",
        contentType="application/json",
        schema=model_document(load_record_datasets()[DATASET]),
    )
    records = gw.create_resource(restApiId=api_id, parentId=root, pathPart="records")["id"]
    post_id = gw.create_resource(restApiId=api_id, parentId=records, pathPart=DATASET)["id"]
    get_id = gw.create_resource(restApiId=api_id, parentId=post_id, pathPart="{id}")["id"]
    for resource, verb, extra in (
        (
            post_id,
            "POST",
            {
                "requestValidatorId": body_validator,
                "requestModels": {"application/json": "RecordsOrders"},
            },
        ),
        (
            get_id,
            "GET",
            {
                "requestValidatorId": params_validator,
                "requestParameters": {"method.request.path.id": True},
            },
        ),
    ):
        gw.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            authorizationType="NONE",
            apiKeyRequired=True,
            **extra,
        )
        gw.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_proxy_uri(function_arn),
        )
    gw.create_deployment(restApiId=api_id, stageName=STAGE)
    plan = gw.create_usage_plan(
        name="hw-bench-records-plan",
        apiStages=[{"apiId": api_id, "stage": STAGE}],
        throttle=HIGH_THROTTLE,
    )
    key = gw.create_api_key(name="hw-bench-records-key", enabled=True)
    dynamodb = make_client("dynamodb", endpoint)
    put_subscriber(
        dynamodb, TENANCY_TABLE, SUBSCRIBER, datasets=(DATASET,), usage_plan_id=plan["id"]
    )
    put_key(dynamodb, TENANCY_TABLE, key["id"], SUBSCRIBER)
    gw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {
        "api_id": api_id,
        "post_resource_id": post_id,
        "get_resource_id": get_id,
        "key_id": key["id"],
        "key": key["value"],
    }


def proxy_event(api: dict[str, str], port: int, body: bytes) -> dict[str, Any]:
    """The v1 proxy event the front builds for POST /records/orders with the API key."""
    from headwater.local.apigateway.events import Caller, IncomingRequest, build_event

    request = IncomingRequest(
        method="POST",
        path=POST_PATH,
        stage=STAGE,
        headers=[
            ("Host", f"127.0.0.1:{port}"),
            ("Content-Type", "application/json"),
            ("x-api-key", api["key"]),
        ],
        query=[],
        body=body,
        source_ip="127.0.0.1",
    )
    return build_event(
        request,
        api_id=api["api_id"],
        resource_id=api["post_resource_id"],
        resource_path=POST_PATH,
        path_parameters={},
        stage_variables={},
        caller=Caller(api_key=api["key"], api_key_id=api["key_id"]),
    )


# ---- checking ------------------------------------------------------------------------------------


class Answers:
    """Counts the answers that are right (not timed): a POST's 201 with ``records`` distinct ids,
    a raw write with nothing unprocessed, a read of the asked record as posted."""

    def __init__(self, records: int = 1) -> None:
        self.records = records
        self.ok = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def count(self, good: bool, what: Any) -> None:
        with self._lock:
            if good:
                self.ok += 1
            elif len(self.failures) < 5:
                self.failures.append(str(what)[:300])

    def posted(self, status: int, body: bytes | str) -> None:
        try:
            ids = json.loads(body)["ids"]
            good = status == 201 and len(ids) == len(set(ids)) == self.records
        except (ValueError, KeyError, TypeError):
            good = False
        self.count(good, f"{status} {body!r}")

    def read(self, record_id: str, status: int, body: bytes | str) -> None:
        try:
            answer = json.loads(body)
            good = status == 200 and answer["id"] == record_id and answer["record"] == GOOD
        except (ValueError, KeyError, TypeError):
            good = False
        self.count(good, f"{record_id}: {status} {body!r}")


# ---- workers: make(answers) -> send(key), as bench.common.run_case wants -------------------------

Make = Callable[[Answers], Callable[[Any], None]]


def floor_items(count: int, records: int, key_id: str) -> list[list[dict[str, Any]]]:
    """``count`` requests' items, each ``records`` items as the handler writes them (new ids)."""
    from headwater.records import items, keys
    from headwater.records.declarations import load_record_datasets
    from headwater.records.store import serialize

    shards = load_record_datasets()[DATASET].shards
    return [
        [
            serialize(items.new_item(DATASET, keys.new_id(), shards, key_id, SUBSCRIBER, GOOD))
            for _ in range(records)
        ]
        for _ in range(count)
    ]


def floor_write_worker(client: Any, prepared: list[list[dict[str, Any]]]) -> Make:
    """One PutItem (a record) or BatchWriteItem 25 at a time (a batch): the floor of a POST.
    The floor cases run on one thread with one client for the whole run (created once, as the
    function's client is, and kept out of the cases' seconds)."""

    def make(answers: Answers) -> Callable[[int], None]:
        def send(index: int) -> None:
            batch = prepared[index]
            if len(batch) == 1:
                response = client.put_item(TableName=TABLE, Item=batch[0])
                answers.count(response["ResponseMetadata"]["HTTPStatusCode"] == 200, response)
                return
            left = 0
            for start in range(0, len(batch), 25):
                chunk = [{"PutRequest": {"Item": item}} for item in batch[start : start + 25]]
                response = client.batch_write_item(RequestItems={TABLE: chunk})
                left += len(response.get("UnprocessedItems", {}).get(TABLE, []))
            answers.count(left == 0, f"{left} items unprocessed")

        return send

    return make


def floor_get_worker(client: Any, record_ids: list[str]) -> Make:
    """One raw GetItem of a stored record (consistent, as the store reads): the floor of a GET."""
    from headwater.records import keys
    from headwater.records.declarations import load_record_datasets
    from headwater.records.store import deserialize, serialize

    shards = load_record_datasets()[DATASET].shards

    def make(answers: Answers) -> Callable[[int], None]:
        def send(index: int) -> None:
            record_id = record_ids[index % len(record_ids)]
            key = serialize(keys.record_key(DATASET, record_id, shards))
            response = client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
            item = deserialize(response.get("Item") or {})
            body = json.dumps({"id": item.get("id"), "record": item.get("record")}, default=float)
            answers.read(record_id, response["ResponseMetadata"]["HTTPStatusCode"], body)

        return send

    return make


def handler_worker(event: dict[str, Any], idempotent: bool = False) -> Make:
    """records_api.handler in this process, one event at a time (as in a Lambda sandbox: the
    resolver holds the current event in module state); ``idempotent``: a new Idempotency-Key
    each, in the event's headers as the front puts it there."""
    from headwater.handlers import records_api

    def make(answers: Answers) -> Callable[[int], None]:
        def send(_: int) -> None:
            sent = event
            if idempotent:
                key = str(uuid.uuid4())
                sent = {
                    **event,
                    "headers": {**event["headers"], "Idempotency-Key": key},
                    "multiValueHeaders": {**event["multiValueHeaders"], "Idempotency-Key": [key]},
                }
            response = records_api.handler(sent, lambda_context())
            answers.posted(response["statusCode"], response["body"])

        return send

    return make


def front_worker(port: int, api_key: str, body: bytes | None, idempotent: bool, ids: list[str]):
    """HTTP through the front on one keep-alive connection per thread: a POST of ``body``
    (with a new Idempotency-Key each when ``idempotent``), or a GET of ``ids`` in turn."""

    def make(answers: Answers) -> Callable[[int], None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def send(index: int) -> None:
            headers = {"x-api-key": api_key}
            if body is None:
                record_id = ids[index % len(ids)]
                connection.request("GET", f"/{STAGE}{POST_PATH}/{record_id}", headers=headers)
                response = connection.getresponse()
                answers.read(record_id, response.status, response.read())
                return
            headers["Content-Type"] = "application/json"
            if idempotent:
                headers["Idempotency-Key"] = str(uuid.uuid4())
            connection.request("POST", f"/{STAGE}{POST_PATH}", body=body, headers=headers)
            response = connection.getresponse()
            answers.posted(response.status, response.read())

        return send

    return make


def front_case(
    name: str,
    port: int,
    api_key: str,
    total: int,
    concurrency: int,
    body: bytes | None,
    records: int,
    idempotent: bool,
    ids: list[str],
) -> dict[str, Any]:
    """A front case, run in the clients' own process (``RecordClients``)."""
    worker = front_worker(port, api_key, body, idempotent, ids)
    return run_case(name, range(total), total, concurrency, worker, Answers(records))


class RecordClients(Clients):
    """api_bench's client process, running this bench's front cases."""

    def run(self, *args: Any) -> dict[str, Any]:
        return self._pool.submit(front_case, *args).result()


# ---- the run -------------------------------------------------------------------------------------


def count_items(dynamodb: Any, table: str) -> int:
    total, kwargs = 0, {}
    while True:
        page = dynamodb.scan(TableName=table, Select="COUNT", **kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def run(args: argparse.Namespace, work: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    from headwater import aws
    from headwater.local.apigateway.front import ApiFront
    from headwater.local.lambda_service.runner import Runner

    bodies = {
        "single": json.dumps(GOOD).encode(),
        "idempotent": json.dumps(GOOD).encode(),
        "batch": json.dumps(batch_of(args.batch_size)).encode(),
        "get": None,
    }
    size = {"single": 1, "idempotent": 1, "batch": args.batch_size, "get": 1}
    threads = {"seq": 1, "concurrent": args.concurrency}
    journal = None if args.durability == "memory" else work / "emulator"
    written = 0  # records the run stored: raw writes and the records of every 201
    idempotent_posts = 0
    with (
        running_emulator(True, journal, args.durability == "fsync") as emulator,
        stdout_to(work / "lambda-stdout.log"),
    ):
        endpoint = emulator.endpoint_url
        use_emulator_environment(endpoint)  # the in-process handler's clients
        os.environ.update(function_environment())
        dynamodb = make_client("dynamodb", endpoint)
        create_records_table(dynamodb, TABLE)
        create_idempotency_table(dynamodb, IDEMPOTENCY_TABLE)
        create_tenancy_table(dynamodb, TENANCY_TABLE)
        api = create_api(endpoint, create_function(endpoint))
        runner = Runner(endpoint, REGION, refresh_interval=5.0)
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
        clients = RecordClients()
        try:
            port = wait_for_front(front, API_NAME)
            events = {kind: proxy_event(api, port, bodies[kind]) for kind in ("single", "batch")}
            events["idempotent"] = events["single"]
            # The in-process handler's emulator calls, timed one by one (botocore's call events).
            timer = CallTimer()
            timer.attach(aws.client("dynamodb"))
            calls: dict[str, dict[str, list[float]]] = {case: {} for case in args.cases}
            # The records the GET cases read: posted once through the handler.
            ids = seed_ids(events["single"], GET_RECORDS)
            written += GET_RECORDS
            floor_client = make_client("dynamodb", endpoint)

            def worker(case: str, count: int) -> tuple[Make | None, list]:
                """(make, keys) of an in-process case, or (None, keys) for a front case."""
                kind, carries, _, _ = CASES[case]
                if kind == "floor" and carries == "get":
                    return floor_get_worker(floor_client, ids), list(range(count))
                if kind == "floor":
                    prepared = floor_items(count, size[carries], api["key_id"])
                    return floor_write_worker(floor_client, prepared), list(range(count))
                if kind == "handler":
                    make = handler_worker(events[carries], carries == "idempotent")
                    return make, list(range(count))
                return None, list(range(count))

            def one(case: str, count: int, concurrency: int) -> dict[str, Any]:
                nonlocal written, idempotent_posts
                carries = CASES[case][1]
                make, keys = worker(case, count)
                if make is None:
                    result = clients.run(
                        case,
                        port,
                        api["key"],
                        count,
                        concurrency,
                        bodies[carries],
                        size[carries],
                        carries == "idempotent",
                        ids,
                    )
                else:
                    result = run_case(case, keys, count, concurrency, make, Answers(size[carries]))
                if carries != "get":
                    written += result["ok"] * size[carries]
                if carries == "idempotent":
                    idempotent_posts += result["ok"]
                return result

            # Warm-up (not measured): cold starts of both workers, imports, first connections.
            for case in args.cases:
                warm = 4 if CASES[case][1] == "batch" else 10
                warmed = one(case, warm, threads[CASES[case][2]])
                if warmed["ok"] != warm:
                    raise SystemExit(f"warm-up of {case} failed: {warmed['failures']}")
            rounds: dict[str, list[dict[str, Any]]] = {case: [] for case in args.cases}
            cpu: dict[str, dict[str, float]] = {case: {} for case in args.cases}
            for number in range(args.rounds):
                print(f"round {number + 1} of {args.rounds} ...", file=sys.stderr)
                for case in args.cases:
                    total = args.batches if CASES[case][1] == "batch" else args.singles
                    share = total // args.rounds + (1 if number < total % args.rounds else 0)
                    if share == 0:
                        continue
                    before = _process_cpu()
                    timer.reset()
                    rounds[case].append(one(case, share, threads[CASES[case][2]]))
                    for op, spent in timer.by_operation.items():
                        calls[case].setdefault(op, []).extend(spent)
                    for role, seconds in _process_cpu().items():
                        cpu[case][role] = cpu[case].get(role, 0.0) + seconds - before.get(role, 0)
            results = []
            for case in args.cases:
                result = merge_rounds(rounds[case])
                records = size[CASES[case][1]]
                result["records_per_request"] = records
                result["records_per_s"] = result["requests_per_s"] * records
                if CASES[case][0] == "handler":
                    result["emulator_calls"] = {
                        op: {
                            "per_request": len(spent) / result["requests"],
                            "p50_ms": median_ms(spent),
                        }
                        for op, spent in sorted(calls[case].items())
                    }
                result["cpu_ms_per_request"] = {
                    role: spent * 1000 / result["requests"]
                    for role, spent in sorted(cpu[case].items())
                }
                results.append(result)
        finally:
            clients.close()
            front.stop()
            runner.stop()
        stored = {
            "records_written": written,
            "records_stored": count_items(dynamodb, TABLE),
            "idempotent_posts": idempotent_posts,
            "idempotency_items": count_items(dynamodb, IDEMPOTENCY_TABLE),
        }
    return results, stored


def lambda_context() -> Any:
    """A context as the runner gives a worker's handler (a fresh request id each time)."""
    from headwater.local.lambda_service.context import LambdaContext

    return LambdaContext(
        function_name=FUNCTION,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
        memory_limit_in_mb="512",
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{FUNCTION}",
        log_stream_name="bench",
        deadline_epoch_ms=int(time.time() * 1000) + 10_000,
    )


def seed_ids(event: dict[str, Any], count: int) -> list[str]:
    """Post ``count`` single records through the handler; their ids, for the GET cases."""
    from headwater.handlers import records_api

    ids: list[str] = []
    for _ in range(count):
        response = records_api.handler(event, lambda_context())
        if response["statusCode"] != 201:
            raise SystemExit(f"seeding the GET cases failed: {response}")
        ids += json.loads(response["body"])["ids"]
    return ids


# ---- report --------------------------------------------------------------------------------------


def add_floor_ratios(results: list[dict[str, Any]]) -> None:
    """Each case against its floor (same run): p50 over the floor's, records/s over the floor's."""
    by_case = {r["case"]: r for r in results}
    for r in results:
        floor = by_case.get(CASES[r["case"]][3])
        r["floor"] = CASES[r["case"]][3]
        r["p50_x_floor"] = r["p50_ms"] / floor["p50_ms"] if floor else None
        r["records_per_s_x_floor"] = r["records_per_s"] / floor["records_per_s"] if floor else None


def ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """Batch over single records/s per path, idempotent over plain, concurrent over one thread."""
    by_case = {r["case"]: r for r in results}
    out: dict[str, float] = {}

    def ratio(name: str, top: str, bottom: str, field: str) -> None:
        if top in by_case and bottom in by_case:
            out[name] = by_case[top][field] / by_case[bottom][field]

    for path, batch, single in (
        ("floor", "floor_batch", "floor_single"),
        ("handler", "handler_batch", "handler_single"),
        ("front_seq", "front_batch_seq", "front_single_seq"),
        ("front_concurrent", "front_batch_concurrent", "front_single_concurrent"),
    ):
        ratio(f"batch_x_single_records_per_s.{path}", batch, single, "records_per_s")
    for path, idempotent, plain in (
        ("handler", "handler_idempotent", "handler_single"),
        ("front_seq", "front_single_idempotent", "front_single_seq"),
    ):
        ratio(f"idempotent_x_plain_p50.{path}", idempotent, plain, "p50_ms")
        ratio(f"idempotent_x_plain_records_per_s.{path}", idempotent, plain, "records_per_s")
    for kind in ("single", "batch"):
        ratio(
            f"concurrent_x_seq_records_per_s.{kind}",
            f"front_{kind}_concurrent",
            f"front_{kind}_seq",
            "records_per_s",
        )
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| case | threads | records/request | requests | ok | requests/s | records/s | p50 ms "
        "| p99 ms | floor | p50 x floor | records/s x floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['case']} | {r['concurrency']} | {r['records_per_request']} | "
            f"{r['requests']:,} | {r['ok']:,} | {r['requests_per_s']:,.0f} | "
            f"{r['records_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['floor']} | "
            f"{_fmt(r['p50_x_floor'])} | {_fmt(r['records_per_s_x_floor'])} |"
        )
    return "\n".join(lines)


def calls_table(results: list[dict[str, Any]]) -> str:
    lines = ["| case | call | per request | p50 ms |", "|---|---|---:|---:|"]
    for r in results:
        for op, call in r.get("emulator_calls", {}).items():
            lines.append(
                f"| {r['case']} | {op} | {call['per_request']:.2f} | {call['p50_ms']:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from headwater.records.declarations import MAX_BATCH

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--singles", type=int, default=1000, help="requests per one-record case")
    parser.add_argument("--batches", type=int, default=80, help="requests per batch case")
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH, help="records per batch")
    parser.add_argument("--concurrency", type=int, default=8, help="threads, concurrent cases")
    parser.add_argument("--rounds", type=int, default=4, help="the cases take turns this often")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument(
        "--durability",
        choices=("memory", "os", "fsync"),
        default="os",
        help="the emulator's crash-safe journal (default os, the daemon's default)",
    )
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    if not 2 <= args.batch_size <= MAX_BATCH:
        parser.error(f"need 2 <= --batch-size <= {MAX_BATCH}")
    if not 1 <= args.concurrency <= 64:
        parser.error("need 1 <= --concurrency <= 64")
    if not 1 <= args.rounds <= min(args.singles, args.batches):
        parser.error("need 1 <= --rounds <= the requests of every case")

    with tempfile.TemporaryDirectory(prefix="hw-records-bench-", dir=args.work_dir) as work:
        results, stored = run(args, Path(work))
    add_floor_ratios(results)
    summary = ratios(results)
    for r in results:
        r.pop("latencies", None)
    print(
        f"\nPOST {POST_PATH} (one record, or a batch of {args.batch_size}) and GET "
        f"{GET_RESOURCE} through the local front with an API key; emulator in its own "
        f"process, durability {args.durability}; {args.concurrency} threads in the concurrent "
        f"cases; {args.rounds} rounds\n"
    )
    print(markdown_table(results))
    print("\nRatios (same run):\n")
    print("| ratio | value |\n|---|---:|")
    for name, value in summary.items():
        print(f"| {name} | {value:.2f} |")
    print("\nThe in-process handler's emulator calls (per request, p50 of each call):\n")
    print(calls_table(results))
    print(
        f"\nstored: {stored['records_stored']:,} records for {stored['records_written']:,} "
        f"written; {stored['idempotency_items']:,} idempotency items for "
        f"{stored['idempotent_posts']:,} idempotent POSTs"
    )
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "durability": args.durability,
        "results": results,
        "ratios": summary,
        "stored": stored,
    }
    out = write_report(report, args.results_dir, f"records-api-{args.singles}x{args.batches}")
    print(f"\nresults: {out}", file=sys.stderr)
    failed = [r["case"] for r in results if r["ok"] != r["requests"]]
    lost = (
        stored["records_stored"] != stored["records_written"]
        or stored["idempotency_items"] != stored["idempotent_posts"]
    )
    if failed or lost:
        for r in results:
            for failure in r["failures"]:
                print(f"{r['case']}: {failure}", file=sys.stderr)
        print(f"wrong answers in: {failed}; stored: {stored}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
