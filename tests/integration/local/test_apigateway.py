"""The local API front against a real patched moto server, over real HTTP.

One REST API is built in moto as Terraform would (resources, methods, validators, AWS_PROXY
integrations to fixture handlers, stages, usage plans, keys); a Runner runs the handlers
(imported from tests/fixtures/local) and an ApiFront serves the API on a loopback port.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from headwater.local.apigateway.front import CONNECTION_THREAD_PREFIX, ApiFront, read_apis
from headwater.local.lambda_service.runner import Runner
from tests.support import paths
from tests.support.emulator import code_zip, free_port, lambda_proxy_uri, lambda_role

pytestmark = pytest.mark.integration

FIXTURES = paths.FIXTURES / "local"
HANDLERS = "hw_apigw_fixtures.handlers"
REGION = "us-east-1"
STAGE = "local"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def call(url: str, method: str = "GET", headers: dict | None = None, body=None) -> Response:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Response(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers), error.read())


@dataclass
class Deployed:
    api_id: str
    api_name: str
    suffix: str
    keys: dict[str, dict] = field(default_factory=dict)  # name -> {"id", "value"}
    plans: dict[str, str] = field(default_factory=dict)  # name -> id


def create_functions(aws, suffix: str) -> dict[str, str]:
    role = lambda_role(aws("iam"), f"apigw-{suffix}")
    arns = {}
    for handler, timeout in (("echo", 3), ("fail", 3), ("malformed", 3), ("binary", 3)):
        arns[handler] = aws("lambda").create_function(
            FunctionName=f"apigw-{handler}-{suffix}",
            Runtime="python3.12",
            Role=role,
            Handler=f"{HANDLERS}.{handler}",
            Timeout=timeout,
            Code={"ZipFile": code_zip()},
        )["FunctionArn"]
    arns["slow"] = aws("lambda").create_function(
        FunctionName=f"apigw-slow-{suffix}",
        Runtime="python3.12",
        Role=role,
        Handler=f"{HANDLERS}.slow",
        Timeout=30,  # longer than the integration's 1 s: the integration times out first
        Code={"ZipFile": code_zip()},
    )["FunctionArn"]
    return arns


def build_api(aws, name: str, functions: dict[str, str]) -> str:
    gw = aws("apigateway")
    api_id = gw.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    validator = gw.create_request_validator(
        restApiId=api_id, name="params", validateRequestParameters=True
    )["id"]

    def resource(parent: str, part: str) -> str:
        return gw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

    def method(resource_id, verb, function, *, key=False, params=None, timeout_ms=None, **kw):
        gw.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            authorizationType="NONE",
            apiKeyRequired=key,
            requestParameters=params or {},
            **({"requestValidatorId": validator} if params else {}),
        )
        extra = {"timeoutInMillis": timeout_ms} if timeout_ms else {}
        gw.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_proxy_uri(functions[function]),
            **extra,
        )

    method(resource(root, "health"), "GET", "echo")
    lookups = resource(root, "lookups")
    dataset = resource(lookups, "{dataset}")
    method(
        dataset,
        "GET",
        "echo",
        key=True,
        params={"method.request.path.dataset": True, "method.request.querystring.limit": True},
    )
    method(resource(dataset, "{key}"), "GET", "echo", key=True)
    method(resource(resource(root, "files"), "{proxy+}"), "ANY", "echo")
    method(resource(root, "broken"), "GET", "fail")
    method(resource(root, "malformed"), "GET", "malformed")
    method(resource(root, "binary"), "GET", "binary")
    method(resource(root, "slow"), "GET", "slow", timeout_ms=1000)
    mock = resource(root, "mock")
    gw.put_method(restApiId=api_id, resourceId=mock, httpMethod="GET", authorizationType="NONE")
    gw.put_integration(
        restApiId=api_id,
        resourceId=mock,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    gw.put_integration_response(
        restApiId=api_id,
        resourceId=mock,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"mocked": true}'},
    )
    gw.create_deployment(restApiId=api_id, stageName=STAGE)
    gw.create_deployment(restApiId=api_id, stageName="other")
    return api_id


def add_plan_key(
    aws, deployed: Deployed, plan: str, key: str, *, stage=STAGE, enabled=True, **limits
):
    gw = aws("apigateway")
    plan_name = f"{plan}-{deployed.suffix}"
    if plan not in deployed.plans:
        deployed.plans[plan] = gw.create_usage_plan(
            name=plan_name, apiStages=[{"apiId": deployed.api_id, "stage": stage}], **limits
        )["id"]
    created = gw.create_api_key(name=f"{key}-{deployed.suffix}", enabled=enabled)
    gw.create_usage_plan_key(
        usagePlanId=deployed.plans[plan], keyId=created["id"], keyType="API_KEY"
    )
    deployed.keys[key] = {"id": created["id"], "value": created["value"]}
    return created


@pytest.fixture(scope="module")
def deployed(aws) -> Deployed:
    suffix = uuid.uuid4().hex[:8]
    functions = create_functions(aws, suffix)
    name = f"front-{suffix}"
    deployed = Deployed(build_api(aws, name, functions), name, suffix)
    generous = {"throttle": {"rateLimit": 100.0, "burstLimit": 100}}
    add_plan_key(aws, deployed, "gold", "gold", **generous)
    add_plan_key(aws, deployed, "gold", "disabled", enabled=False)
    add_plan_key(aws, deployed, "other-stage", "elsewhere", stage="other", **generous)
    add_plan_key(aws, deployed, "burst", "burst", throttle={"rateLimit": 1.0, "burstLimit": 2})
    add_plan_key(
        aws,
        deployed,
        "quota",
        "quota",
        throttle={"rateLimit": 100.0, "burstLimit": 100},
        quota={"limit": 3, "period": "DAY", "offset": 0},
    )
    orphan = aws("apigateway").create_api_key(name=f"orphan-{suffix}", enabled=True)
    deployed.keys["orphan"] = {"id": orphan["id"], "value": orphan["value"]}
    return deployed


@pytest.fixture(scope="module")
def front(emulator, deployed, tmp_path_factory) -> Iterator[ApiFront]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES))  # workers inherit the import path
        runner = Runner(emulator.endpoint_url, REGION, refresh_interval=0.5)
        runner.start()
        api_front = ApiFront(
            emulator.endpoint_url,
            runner,
            REGION,
            base_port=free_port(),
            state_dir=tmp_path_factory.mktemp("state"),
            refresh_interval=0.5,
        )
        api_front.start()
        try:
            yield api_front
        finally:
            api_front.stop()
            runner.stop()


@pytest.fixture(scope="module")
def base(front, deployed) -> str:
    return f"{front.urls()[deployed.api_name]['url']}/{STAGE}"


def key_header(deployed: Deployed, name: str) -> dict[str, str]:
    return {"x-api-key": deployed.keys[name]["value"]}


# --- tests -----------------------------------------------------------------------------------


def test_valid_key_reaches_the_function_with_a_v1_proxy_event(base, deployed):
    response = call(
        f"{base}/lookups/employees/engineering?verbose=1&tag=a&tag=b",
        headers={**key_header(deployed, "gold"), "User-Agent": "hw-test"},
    )
    assert response.status == 200, response.body
    assert response.headers["X-Handler"] == "echo"
    event = response.json()
    assert event["resource"] == "/lookups/{dataset}/{key}"
    assert event["path"] == "/lookups/employees/engineering"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"dataset": "employees", "key": "engineering"}
    assert event["queryStringParameters"] == {"verbose": "1", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"verbose": ["1"], "tag": ["a", "b"]}
    assert event["headers"]["User-Agent"] == "hw-test"
    assert event["multiValueHeaders"]["User-Agent"] == ["hw-test"]
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["identity"]["apiKey"] == deployed.keys["gold"]["value"]
    assert context["identity"]["apiKeyId"] == deployed.keys["gold"]["id"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "hw-test"
    assert context["stage"] == STAGE
    assert context["path"] == f"/{STAGE}/lookups/employees/engineering"
    assert context["resourcePath"] == "/lookups/{dataset}/{key}"
    assert context["apiId"] == deployed.api_id
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 30
    for name in ("resourceId", "extendedRequestId", "requestTime", "accountId", "protocol"):
        assert context[name], name


def test_keys_that_do_not_open_the_api_are_forbidden(base, deployed):
    url = f"{base}/lookups/employees/engineering"
    cases = {
        "missing": {},
        "unknown": {"x-api-key": "not-a-real-key-value-000000000000"},
        "disabled": key_header(deployed, "disabled"),
        "no plan": key_header(deployed, "orphan"),
        "plan for another stage": key_header(deployed, "elsewhere"),
    }
    for case, headers in cases.items():
        response = call(url, headers=headers)
        assert (response.status, response.json()) == (403, {"message": "Forbidden"}), case
    # The key of the other stage does open that stage.
    other = base.rsplit("/", 1)[0] + "/other/lookups/employees/engineering"
    assert call(other, headers=key_header(deployed, "elsewhere")).status == 200


def test_methods_without_key_requirement_need_no_key(base):
    response = call(f"{base}/health")
    assert response.status == 200
    assert response.json()["requestContext"]["identity"]["apiKey"] is None


def test_burst_then_throttled(base, deployed):
    statuses, bodies = [], []
    for _ in range(5):  # rate 1/s, burst 2: five quick requests leave at least two throttled
        response = call(f"{base}/lookups/employees/x", headers=key_header(deployed, "burst"))
        statuses.append(response.status)
        bodies.append(response.json())
    assert statuses[:2] == [200, 200]
    assert statuses.count(429) >= 2
    assert {"message": "Too Many Requests"} in bodies
    assert set(statuses) <= {200, 429}


def test_quota_exceeded_after_the_daily_limit(base, deployed):
    statuses = []
    for _ in range(5):
        response = call(f"{base}/lookups/employees/x", headers=key_header(deployed, "quota"))
        statuses.append(response.status)
    assert statuses == [200, 200, 200, 429, 429]
    assert response.json() == {"message": "Limit Exceeded"}


def test_missing_required_querystring_is_rejected_before_the_function(base, deployed):
    headers = key_header(deployed, "gold")
    response = call(f"{base}/lookups/employees", headers=headers)
    assert response.status == 400
    assert response.json() == {"message": "Missing required request parameters: [limit]"}
    ok = call(f"{base}/lookups/employees?limit=5", headers=headers)
    assert ok.status == 200
    assert ok.json()["pathParameters"] == {"dataset": "employees"}


def test_unknown_routes_methods_and_stages(base):
    for url, verb in (
        (f"{base}/nowhere", "GET"),
        (f"{base}/lookups", "GET"),  # a resource without methods
        (f"{base}/health", "DELETE"),
        (f"{base}/files", "GET"),  # {proxy+} needs at least one segment
    ):
        response = call(url, method=verb)
        assert response.status == 403, (url, verb)
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    wrong_stage = base.rsplit("/", 1)[0] + "/prod/health"
    assert call(wrong_stage).json() == {"message": "Forbidden"}


def test_greedy_proxy_path_and_request_body(base):
    response = call(
        f"{base}/files/a/b/c.txt", method="POST", body=b'{"x": 1}', headers={"X-Multi": "1"}
    )
    assert response.status == 200
    event = response.json()
    assert event["resource"] == "/files/{proxy+}"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    assert response.headers["Set-Cookie"]  # multi-value header made it back


def test_function_errors_and_bad_responses_are_502(base):
    for path in ("broken", "malformed"):
        response = call(f"{base}/{path}")
        assert (response.status, response.json()) == (502, {"message": "Internal server error"})


def test_base64_response_body_is_decoded(base):
    response = call(f"{base}/binary")
    assert response.status == 201
    assert response.body == b"\x00\x01\xff"
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_mock_integration_answers_its_template(base):
    response = call(f"{base}/mock")
    assert (response.status, response.json()) == (200, {"mocked": True})


def test_integration_timeout_is_504(base):
    started = time.monotonic()
    response = call(f"{base}/slow?seconds=10")
    assert (response.status, response.json()) == (504, {"message": "Endpoint request timed out"})
    assert time.monotonic() - started < 8


def test_urls_are_published_in_the_state_directory(front, deployed, base):
    published = read_apis(front.state_dir)
    entry = published[deployed.api_name]
    assert entry["id"] == deployed.api_id
    assert entry["stages"] == ["local", "other"]
    assert base.startswith(entry["url"])
    assert entry["url"].startswith("http://127.0.0.1:")


def test_key_created_while_serving_works_at_once(aws, base, deployed):
    created = add_plan_key(aws, deployed, "gold", "late")
    response = call(f"{base}/lookups/employees/x", headers={"x-api-key": created["value"]})
    assert response.status == 200
    assert response.json()["requestContext"]["identity"]["apiKeyId"] == created["id"]


def test_api_created_after_start_gets_the_next_port_in_name_order(aws, front, deployed):
    name = f"zz-late-{deployed.suffix}"
    gw = aws("apigateway")
    api_id = gw.create_rest_api(name=name)["id"]
    root = gw.get_resources(restApiId=api_id)["items"][0]["id"]
    gw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    gw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    gw.create_deployment(restApiId=api_id, stageName="dev")
    try:
        deadline = time.monotonic() + 10
        while name not in front.urls() and time.monotonic() < deadline:
            time.sleep(0.1)
        urls = front.urls()
        assert name in urls, "the late API was not discovered"
        late_port = int(urls[name]["url"].rsplit(":", 1)[1])
        first_port = int(urls[deployed.api_name]["url"].rsplit(":", 1)[1])
        assert late_port > first_port
        response = call(f"{urls[name]['url']}/dev/")
        assert (response.status, response.json()) == (200, {})
    finally:
        gw.delete_rest_api(restApiId=api_id)
    deadline = time.monotonic() + 10
    while name in front.urls() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert name not in front.urls()


def test_base64_request_body_for_binary_payloads(base):
    response = call(f"{base}/files/upload", method="PUT", body=b"\xff\xfe\x00")
    event = response.json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


# --- bad requests: answered as API Gateway does, in JSON, never a dropped connection ----------


def raw_exchange(base: str, data: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is on a new connection; (status, headers, body) of the answer."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection dropped without an answer: {received!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


def stage_path(base: str, path: str) -> str:
    return urllib.parse.urlsplit(base).path + path


@pytest.mark.parametrize(
    ("content_length", "status", "message"),
    [
        ("abc", 400, "Invalid Content-Length"),
        ("-5", 400, "Invalid Content-Length"),
        (str(10 * 1024 * 1024 + 1), 413, "Request Too Long"),
        (str(10**30), 413, "Request Too Long"),
    ],
)
def test_bad_or_huge_content_length_is_a_json_error(base, content_length, status, message):
    request = (
        f"POST {stage_path(base, '/files/x')} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()
    got, headers, body = raw_exchange(base, request)
    assert (got, json.loads(body)) == (status, {"message": message})
    assert headers["content-type"] == "application/json"


def test_body_over_ten_megabytes_is_413_and_one_at_the_limit_is_served(base):
    assert (
        call(f"{base}/files/big", method="POST", body=b"x" * (10 * 1024 * 1024 + 1)).status == 413
    )
    at_limit = call(f"{base}/files/big", method="PUT", body=b"{}" + b" " * (1024 * 1024))
    assert at_limit.status == 200


def test_chunked_body_reaches_the_function(base):
    request = (
        f"POST {stage_path(base, '/files/c')} HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"
    ).encode()
    status, _, body = raw_exchange(base, request)
    assert status == 200 and json.loads(body)["body"] == "abcdef"


@pytest.mark.parametrize("method", ["get", "BREW", "TRACE"])
def test_unknown_and_lower_case_methods_reach_no_resource(base, method):
    request = f"{method} {stage_path(base, '/health')} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    status, headers, body = raw_exchange(base, request)
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize("length", [8193, 70_000])  # our limit, and http.server's own 64 KiB
def test_over_long_url_is_414(base, length):
    path = stage_path(base, "/files/") + "a" * length
    status, _, body = raw_exchange(base, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert (status, json.loads(body)) == (414, {"message": "Request-URI Too Long"})


@pytest.mark.parametrize(
    "headers",
    [
        "X-Big: " + "a" * 11_000 + "\r\n",  # over API Gateway's 10240 bytes
        "X-Huge: " + "a" * 70_000 + "\r\n",  # over http.server's line limit
        "".join(f"X-{i}: 1\r\n" for i in range(120)),  # over http.server's 100 headers
    ],
)
def test_over_long_headers_are_431(base, headers):
    request = f"GET {stage_path(base, '/health')} HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
    status, _, body = raw_exchange(base, request.encode())
    assert (status, json.loads(body)) == (431, {"message": "Request Header Fields Too Large"})


def test_encoded_slash_stays_inside_a_path_parameter(base, deployed):
    response = call(f"{base}/lookups/employees/a%2Fb", headers=key_header(deployed, "gold"))
    assert response.status == 200, response.body
    event = response.json()
    assert event["resource"] == "/lookups/{dataset}/{key}"
    assert event["pathParameters"] == {"dataset": "employees", "key": "a/b"}


def test_connections_are_bounded_and_idle_ones_time_out(front, deployed):
    limited = ApiFront(
        front.endpoint_url,
        front.invoker,
        REGION,
        base_port=free_port(),
        refresh_interval=60,
        max_connections=2,
        connection_timeout=1.0,
    )
    limited.start()
    try:
        url = f"{limited.urls()[deployed.api_name]['url']}/{STAGE}"
        host, port = urllib.parse.urlsplit(url).netloc.split(":")

        def connection_threads() -> int:
            # By name: the process runs other threads too (moto's, the fixtures' fronts).
            name = f"{CONNECTION_THREAD_PREFIX}{deployed.api_name}:{port}"
            return sum(t.name == name and t.is_alive() for t in threading.enumerate())

        before = connection_threads()
        idle = [socket.create_connection((host, int(port))) for _ in range(6)]
        time.sleep(0.3)
        # Two threads for the first two; the other four wait in the backlog, not in threads.
        assert connection_threads() - before == 2
        started = time.monotonic()
        assert call(f"{url}/health").status == 200  # served once the idle ones time out
        assert time.monotonic() - started < 15
        for sock in idle:
            sock.close()
    finally:
        limited.stop()


def test_raising_a_plans_quota_keeps_the_usage_already_counted(aws, base, deployed, front):
    add_plan_key(
        aws,
        deployed,
        "raised",
        "raised",
        throttle={"rateLimit": 100.0, "burstLimit": 100},
        quota={"limit": 2, "period": "DAY", "offset": 0},
    )
    url, headers = f"{base}/lookups/d/k", key_header(deployed, "raised")
    assert [call(url, headers=headers).status for _ in range(3)] == [200, 200, 429]
    aws("apigateway").update_usage_plan(
        usagePlanId=deployed.plans["raised"],
        patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "4"}],
    )
    front.refresh()
    # Two of four already used: two more, not four.
    assert [call(url, headers=headers).status for _ in range(3)] == [200, 200, 429]


def test_runner_runs_only_handlers_of_allowed_packages(aws, front, deployed, tmp_path, monkeypatch):
    # Importable, and callable as a handler: only the allow-list keeps it from running.
    (tmp_path / "hw_not_allowed.py").write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ran'}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"apigw-outside-{deployed.suffix}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(aws("iam"), f"apigw-{deployed.suffix}"),
        Handler="hw_not_allowed.handler",
        Code={"ZipFile": code_zip()},
    )
    deadline = time.monotonic() + 10
    while name not in front.invoker.functions() and time.monotonic() < deadline:
        time.sleep(0.2)
    result = front.invoker.invoke(name, {})
    assert result.function_error and result.error_type == "Runtime.ImportModuleError"
    assert "outside the allowed packages" in result.payload["errorMessage"]
