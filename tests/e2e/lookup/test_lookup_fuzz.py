"""Property-based fuzzing of the lookup API from its OpenAPI document (docs/openapi.json), over
real HTTP through the local front with a real key, on the session's platform.

For every operation, parameters are drawn from strategies chosen by each parameter's schema
(strings: unicode, empty-ish, very long, percent-encoded, path-like; integers: out of range and
not integers at all; the cursor: junk and forged cursors), plus real dataset and key names so the
happy paths are reached too. Properties: never a 5xx; an error is JSON with a "message"; a 200 has
the fields its response schema requires. The "ops" internal key is used (higher throttle); a 429
is a valid answer if the run goes faster than its plan.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.e2e import ROOT, api_base, get, key_value

pytestmark = pytest.mark.e2e

SPEC = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = [
    (path, method, operation)
    for path, methods in sorted(SPEC["paths"].items())
    for method, operation in sorted(methods.items())
    # The lookup API's routes (all GETs); records and collect take bodies and are fuzzed by
    # their own tests, schemathesis covers every route.
    if path == "/health" or path.startswith("/lookups")
]
EXAMPLES = 150
# (operation path, status) -> responses seen; the last test checks the fuzz reached every branch.
SEEN: Counter[tuple[str, int]] = Counter()

# Strings a careless client or a hostile one sends.
AWKWARD = st.sampled_from(
    [" ", "  ", ".", "..", "%", "%%", "%2F", "%00", "%zz", "/", "//", "\\", "?", "#", "&", "=",
     "+", "~", "*", "null", "undefined", "NaN", "-1", "0", "\u00a0", "\u200b", "\ufeff",
     "\U0001f600", "' OR '1'='1", "<script>", "../../etc/passwd", "#current",
     "employees#x#keys", "part#0000"]
)  # fmt: skip
UNICODE = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
)  # surrogates cannot be encoded as UTF-8 on the wire
LONG = st.text(st.characters(blacklist_categories=("Cs",)), min_size=300, max_size=1500)
JUNK_INT = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["", "0", "1001", "1e3", "+5", "0x10", " 5", "5 ", "\uff15", "1.0", "NaN"]),
    UNICODE,
)


def _forged_cursor(after: Any) -> str:
    raw = json.dumps({"after": after}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSOR = st.one_of(
    UNICODE,
    AWKWARD,
    LONG,
    st.binary(max_size=64).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    st.one_of(st.text(max_size=30), st.integers(), st.none(), st.lists(st.integers())).map(
        _forged_cursor
    ),
)


def _string(real: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(real), UNICODE, AWKWARD, LONG)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = SPEC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


@st.composite
def requests(draw, path: str, operation: dict, datasets: list[str], keys: list[str], members):
    """(url path with query, the drawn parameter values) for one operation."""
    values: dict[str, str] = {}
    query: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        name, schema = parameter["name"], parameter["schema"]
        if parameter["in"] == "path":
            real = {"dataset": datasets, "key": keys, "member": members}.get(name, datasets)
            values[name] = draw(_string(real))
        elif parameter["in"] == "query" and (parameter.get("required") or draw(st.booleans())):
            if schema.get("type") == "integer":
                query[name] = draw(JUNK_INT)
            else:
                query[name] = draw(CURSOR if name == "cursor" else _string(datasets))
    # Mostly encoded as a client library would; sometimes pre-encoded text sent as is ("%zz").
    safe = draw(st.sampled_from(["", "", "", "%"]))
    url = path
    for name, value in values.items():
        url = url.replace("{" + name + "}", quote(value, safe=safe))
    if query:
        url += "?" + urlencode(query, quote_via=quote)
    return url, values, query


def _check(status: int, body: Any, operation: dict, what: Any) -> None:
    assert status < 500, f"{status} {body} for {what}"
    assert isinstance(body, dict), f"{status}: not a JSON object for {what}: {body!r}"
    if status >= 400:
        assert isinstance(body.get("message"), str) and body["message"], (status, body, what)
        return
    assert status == 200, (status, body, what)
    schema = _resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])
    missing = [field for field in schema.get("required", []) if field not in body]
    assert not missing, f"200 without {missing} for {what}: {body}"


@pytest.fixture(scope="module")
def target(platform):
    run = platform["run"]
    assert run.returncode == 0, run.stderr[-4000:]
    base, ops = api_base(platform), key_value(platform, "ops")
    status, page, _ = get(f"{base}/lookups/employees?limit=20", ops)
    assert status == 200, page
    keys = page["keys"]
    status, partition, _ = get(f"{base}/lookups/employees/{quote(keys[0], safe='')}", ops)
    assert status == 200, partition
    return {
        "base": base,
        "key": ops,
        "datasets": ["employees"],
        "keys": keys,
        "members": sorted(partition["members"]),
    }


@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS]
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: stable in CI
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_request_gets_a_server_error(target, path, method, operation, data):
    assert method == "get", f"{method.upper()} {path}: only GET is fuzzed here; add the method"
    url, values, query = data.draw(
        requests(path, operation, target["datasets"], target["keys"], target["members"])
    )
    status, body, _ = get(target["base"] + url, target["key"])
    SEEN[(path, status)] += 1
    _check(status, body, operation, {"url": url, "values": values, "query": query})


def test_the_fuzz_reached_the_data_and_the_errors():
    """Runs after the fuzz (file order): a fuzz that only ever met 403s would prove nothing."""
    by_path: dict[str, Counter[int]] = {}
    for (path, status), count in SEEN.items():
        by_path.setdefault(path, Counter())[status] += count
    assert set(by_path) == {path for path, _, _ in OPERATIONS}, SEEN
    for path, statuses in by_path.items():
        assert statuses[200] > 0, (path, statuses)
        if "{" in path:
            assert sum(statuses.values()) >= EXAMPLES * 2 // 3, (path, statuses)
            assert statuses[404] > 0, (path, statuses)
    assert by_path["/lookups/{dataset}"][400] > 0, by_path
