"""The lookup loader on moto's in-process AWS: CSV in S3 -> versioned DynamoDB items -> events."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import boto3
import pytest
from aws_lambda_powertools import Metrics
from botocore.exceptions import ClientError

from headwater.handlers import lookup_loader
from headwater.lookup import batch, loader
from headwater.lookup.contracts import load_lookups
from headwater.lookup.loader import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    SWITCH_ATTEMPTS,
    LoadRaced,
    Source,
    load_lookup,
    upload_order,
)
from headwater.lookup.store import (
    LookupStore,
    PointerMoved,
    data_pk,
    decode_cursor,
    index_pk,
    part_sk,
)
from tests.support.lambda_context import LambdaContext
from tests.support.lookup import (
    FIXTURES,
    RAW,
    REGION,
    TABLE,
    lookup_environment,
)


@pytest.fixture
def lookup_env(monkeypatch):
    yield from lookup_environment(monkeypatch)


V1 = (FIXTURES / "employees.csv").read_text()
V2 = (FIXTURES / "employees_v2.csv").read_text()
HEADER = V1.splitlines()[0] + "\n"


def load(env, body, name="employees.csv", client=None, **kwargs):
    return load_event(env, env.put_csv(body, name), client, **kwargs)


def source_of(event) -> Source:
    obj = event["detail"]["object"]
    return Source(RAW, obj["key"], obj["version-id"], event["time"], obj["sequencer"])


def load_event(env, event, client=None, store_class=LookupStore, **kwargs):
    return load_lookup(
        s3=env.s3,
        store=store_class(TABLE, client or env.dynamodb),
        source=source_of(event),
        lookups=load_lookups(),
        **kwargs,
    )


def store(env) -> LookupStore:
    return LookupStore(TABLE, env.dynamodb)


def version_items(env, version: str) -> list[dict]:
    return [i for i in env.items() if f"#{version}#" in i["pk"]["S"]]


def test_load_serves_partitions_with_nested_typed_members(lookup_env):
    outcome = load(lookup_env, V1)
    assert outcome.status == SUCCEEDED, outcome.failure
    manifest = outcome.manifest
    assert (manifest["rows"], manifest["keys_written"], manifest["keys_deleted"]) == (6, 3, 0)
    assert manifest["source"]["bucket"] == RAW and manifest["source"]["version_id"]
    partition = store(lookup_env).get_partition("employees", "Engineering")
    assert partition["version"] == manifest["version"]
    assert sorted(partition["members"]) == ["E001", "E002", "E003"]
    assert partition["members"]["E001"] == {
        "name": "Ada Lovelace",
        "title": "Principal Engineer",
        "location": "London",
        "start_date": "2019-03-01",
        "salary_band": 7,
    }
    sales = store(lookup_env).get_member("employees", "Sales", "S002")
    assert sales["facts"] == {
        "name": "Zig Ziglar",
        "title": None,
        "location": None,
        "start_date": None,
        "salary_band": None,
    }
    assert store(lookup_env).get_partition("employees", "Marketing") is None
    assert store(lookup_env).datasets() == ["employees"]
    assert store(lookup_env).manifests("employees")[0]["version"] == manifest["version"]


def test_replacement_drops_absent_keys_updates_others_and_removes_old_version(lookup_env):
    first = load(lookup_env, V1).manifest["version"]
    outcome = load(lookup_env, V2, name="employees-2.csv")
    assert outcome.status == SUCCEEDED, outcome.failure
    assert outcome.manifest["keys_deleted"] == 1  # Sales
    assert outcome.manifest["previous_version"] == first
    lookups = store(lookup_env)
    assert lookups.get_partition("employees", "Sales") is None
    engineering = lookups.get_partition("employees", "Engineering")["members"]
    assert sorted(engineering) == ["E001", "E003"]
    assert engineering["E001"]["title"] == "Distinguished Engineer"
    assert version_items(lookup_env, first) == [], "the old version is deleted explicitly"
    keys, cursor = lookups.list_keys("employees")
    assert (keys, cursor) == (["Engineering", "Research & Development"], None)


@pytest.mark.parametrize(
    ("body", "rule", "row", "column"),
    [
        ("employee_id,name\nE1,Ann\n", "missing_column", None, "department"),
        (HEADER + "Ops,O1,Ann,,,,\nOps,O1,Bob,,,,\n", "duplicate_key", 2, "employee_id"),
        (HEADER + "Ops,O1,Ann,,,,\nOps,O2,Bob,,\n", "malformed", 2, None),
        (HEADER + "Ops,O1,Ann,,,,\nOps,O2,Bob,,,yesterday,\n", "type_mismatch", 2, "start_date"),
        (HEADER + "Ops,O1,Ann,,,,3.5\n", "type_mismatch", 1, "salary_band"),
        (HEADER + ",O1,Ann,,,,\n", "null_value", 1, "department"),
        (HEADER + "Ops,O1,Ann,,,,\nR/D,R1,Bo,,,,\n", "slash_in_key", 2, "department"),
        (HEADER + "Ops,O1/2,Ann,,,,\n", "slash_in_key", 1, "employee_id"),
        (HEADER + 'Ops,"O1,Ann,,,,\n', "malformed", None, None),
        ("", "empty_file", None, None),
        (HEADER, "empty_file", None, None),
        (HEADER.replace("salary_band", "bonus"), "unexpected_column", None, "bonus"),
        (HEADER.encode() + b"Ops,O1,Ren\xe9,,,,\n", "encoding", 1, None),
    ],
)
def test_bad_file_fails_with_a_report_and_old_version_keeps_serving(
    lookup_env, body, rule, row, column
):
    good = load(lookup_env, V1).manifest["version"]
    before = len(lookup_env.items())
    outcome = load(lookup_env, body, name="bad.csv")
    assert outcome.status == FAILED
    report = outcome.manifest["error"]
    assert report["rule"] == rule, report
    if row is not None:
        assert report["row"] == row, report
    assert report["column"] == column, report
    assert store(lookup_env).current_version("employees") == good
    assert len(store(lookup_env).get_partition("employees", "Engineering")["members"]) == 3
    # Only the failure manifest was added: no item of a new version exists.
    assert len(lookup_env.items()) == before + 1
    assert store(lookup_env).manifests("employees")[0]["status"] == FAILED


def test_partition_above_400_kb_is_split_across_parts_and_reassembled(lookup_env):
    filler = "x" * 180
    rows = [f"Big,M{i:05d},Name {i},{filler},Somewhere,2020-01-01,{i}\n" for i in range(3000)]
    outcome = load(lookup_env, HEADER + "".join(rows) + "Small,A1,Al,,,,\n")
    assert outcome.status == SUCCEEDED, outcome.failure
    version = outcome.manifest["version"]
    big = data_pk("employees", version, "Big")
    parts = [i for i in env_items(lookup_env) if i["pk"]["S"] == big]
    assert len(parts) >= 2, "a >400 KB partition must be split"
    assert sorted(p["sk"]["S"] for p in parts)[:2] == ["part#0000", "part#0001"]
    members = store(lookup_env).get_partition("employees", "Big")["members"]
    assert len(members) == 3000
    assert members["M02999"] == {
        "name": "Name 2999",
        "title": filler,
        "location": "Somewhere",
        "start_date": "2020-01-01",
        "salary_band": 2999,
    }


def env_items(env) -> list[dict]:
    paginator = env.dynamodb.get_paginator("scan")
    return [i for page in paginator.paginate(TableName=TABLE) for i in page["Items"]]


def test_unprocessed_items_are_resent_with_backoff(lookup_env):
    """DynamoDB drops part of the first batch: a botocore hook withholds 5 requests from the
    call and reports them back as UnprocessedItems, as the service would."""
    client = boto3.client("dynamodb", region_name=REGION)
    withheld: list[dict] = []
    state = {"withheld": False, "reported": False}

    def before(params, **_):
        requests = params["RequestItems"][TABLE]
        if not state["withheld"] and len(requests) > 5:
            state["withheld"] = True
            withheld.extend(requests[-5:])
            del requests[-5:]

    def after(parsed, **_):
        if state["withheld"] and not state["reported"]:
            state["reported"] = True
            parsed["UnprocessedItems"] = {TABLE: list(withheld)}

    client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", before)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", after)
    delays: list[float] = []
    policy = batch.RetryPolicy(sleep=delays.append)
    rows = [f"Team{i % 7},P{i:03d},N{i},,,,\n" for i in range(120)]
    outcome = load(lookup_env, HEADER + "".join(rows), client=client, policy=policy)
    assert outcome.status == SUCCEEDED, outcome.failure
    assert len(withheld) == 5 and state["reported"]
    assert len(delays) == 1 and 0 <= delays[0] <= policy.base_delay * 2
    total = sum(
        len(store(lookup_env).get_partition("employees", f"Team{t}")["members"]) for t in range(7)
    )
    assert total == 120, "the withheld requests were written on the retry"


def test_batch_write_gives_up_after_bounded_attempts():
    class AlwaysUnprocessed:
        calls = 0

        def batch_write_item(self, RequestItems):
            self.calls += 1
            return {"UnprocessedItems": RequestItems}

    delays: list[float] = []
    client = AlwaysUnprocessed()
    policy = batch.RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=0.3, sleep=delays.append)
    requests = [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(30)]
    with pytest.raises(batch.UnprocessedItemsExhausted, match="25 item"):
        batch.batch_write(client, TABLE, requests, policy)
    assert client.calls == 4
    assert len(delays) == 3 and all(0 <= d <= 0.3 for d in delays)


def test_pointer_switch_is_conditional_so_concurrent_loads_cannot_both_win(lookup_env):
    lookups = store(lookup_env)
    lookups.switch_pointer("employees", "v1", None, "2026-11-23T00:00:00Z", {})
    with pytest.raises(PointerMoved):
        lookups.switch_pointer("employees", "v2", None, "2026-11-23T00:00:01Z", {})
    with pytest.raises(PointerMoved):
        lookups.switch_pointer("employees", "v3", "v0", "2026-11-23T00:00:02Z", {})
    lookups.switch_pointer("employees", "v4", "v1", "2026-11-23T00:00:03Z", {})
    assert lookups.current_version("employees") == "v4"


def test_a_late_event_of_an_older_upload_is_skipped_not_a_rollback(lookup_env):
    older = lookup_env.put_csv(V1, "monday.csv")
    newer = lookup_env.put_csv(V2, "tuesday.csv")  # any names: only S3's order counts
    live = load_event(lookup_env, newer)
    assert live.status == SUCCEEDED, live.failure
    before = len(lookup_env.items())
    late = load_event(lookup_env, older)  # delivered late (a retry, a replay)
    assert late.status == SKIPPED
    assert late.manifest["live_version"] == live.manifest["version"]
    assert "newer upload" in late.manifest["reason"]
    assert store(lookup_env).current_version("employees") == live.manifest["version"]
    assert store(lookup_env).get_partition("employees", "Sales") is None  # still V2
    assert len(lookup_env.items()) == before + 1, "only the skipped manifest was written"
    assert store(lookup_env).manifests("employees")[0]["status"] == SKIPPED
    replay = load_event(lookup_env, newer)  # the same event twice: also skipped
    assert replay.status == SKIPPED


def test_upload_order_is_time_then_sequencer_for_the_same_key_only():
    def order(key, when, sequencer):
        return upload_order(Source(RAW, key, None, when, sequencer), None, dt.datetime.now(dt.UTC))

    t1, t2 = "2026-11-23T06:00:01Z", "2026-11-23T06:00:02Z"
    assert order("lookup/e/z.csv", t1, "FF") < order("lookup/e/a.csv", t2, "01")
    # Same key and second: the sequencer decides, left-padded ("FF" < "0100").
    assert order("lookup/e/a.csv", t1, "FF") < order("lookup/e/a.csv", t1, "0100")
    assert order("lookup/e/a.csv", t1, "00ff") == order("lookup/e/a.csv", t1, "FF")
    # Different keys in the same second: not comparable by sequencer; still one fixed order.
    x, y = order("lookup/e/a.csv", t1, "FF"), order("lookup/e/b.csv", t1, "01")
    assert x != y and (x < y) == (order("lookup/e/a.csv", t1, "01") < y)
    assert order("k", "2026-11-23T07:00:01+01:00", None) < order("k", t2, None)


def test_switch_pointer_never_moves_backwards_in_upload_order(lookup_env):
    lookups = store(lookup_env)
    lookups.switch_pointer("employees", "v1", None, "2026-11-23T00:00:00Z", {}, "2")
    with pytest.raises(PointerMoved):
        lookups.switch_pointer("employees", "v2", "v1", "2026-11-23T00:00:01Z", {}, "1")
    lookups.switch_pointer("employees", "v3", "v1", "2026-11-23T00:00:02Z", {}, "3")
    assert lookups.current_version("employees") == "v3"


class GatedStore(LookupStore):
    """Two loads that both read the pointer before either switches; ``first`` switches first."""

    gate: threading.Barrier
    first_done: threading.Event
    first: str

    def switch_pointer(self, dataset, version, previous, *args, **kwargs):
        name = threading.current_thread().name
        if not getattr(self, "_waited", False):
            self._waited = True
            self.gate.wait(timeout=30)
            if name != self.first:
                self.first_done.wait(timeout=30)
        try:
            return super().switch_pointer(dataset, version, previous, *args, **kwargs)
        finally:
            if name == self.first:
                self.first_done.set()


@pytest.mark.parametrize("first", ["older", "newer"])
def test_two_overlapping_loads_end_on_the_newer_upload(lookup_env, first):
    events = {"older": lookup_env.put_csv(V1, "a.csv"), "newer": lookup_env.put_csv(V2, "b.csv")}
    GatedStore.gate, GatedStore.first_done = threading.Barrier(2), threading.Event()
    GatedStore.first = first
    outcomes: dict[str, object] = {}

    def run(name):
        outcomes[name] = load_event(lookup_env, events[name], store_class=GatedStore)

    threads = [threading.Thread(target=run, args=(n,), name=n) for n in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    newer, older = outcomes["newer"], outcomes["older"]
    assert newer.status == SUCCEEDED, newer.failure
    # The older one either switched first (then was replaced) or found the newer live.
    assert older.status == (SUCCEEDED if first == "older" else SKIPPED)
    assert store(lookup_env).current_version("employees") == newer.manifest["version"]
    assert store(lookup_env).get_partition("employees", "Sales") is None  # V2 is live
    live = f"#{newer.manifest['version']}#"
    data = [i for i in lookup_env.items() if i["pk"]["S"].count("#") >= 2]
    assert data and all(live in i["pk"]["S"] for i in data), "nothing of the older version left"


def test_a_newer_load_that_keeps_losing_the_race_raises_to_be_retried(lookup_env):
    class AlwaysBeaten(LookupStore):
        def switch_pointer(self, *args, **kwargs):
            raise PointerMoved("another load switched first")

    delays: list[float] = []
    with pytest.raises(LoadRaced):
        load_event(
            lookup_env,
            lookup_env.put_csv(V1),
            store_class=AlwaysBeaten,
            policy=batch.RetryPolicy(sleep=delays.append),
        )
    assert len(delays) == SWITCH_ATTEMPTS - 1, "bounded, with backoff"
    assert store(lookup_env).current_version("employees") is None
    assert [i for i in lookup_env.items() if "#" in i["pk"]["S"]] == [], "its version discarded"


def test_reader_holding_a_retired_version_rereads_the_pointer(lookup_env):
    old = load(lookup_env, V1).manifest["version"]
    load(lookup_env, V2, name="employees-2.csv")

    class SlowReader(LookupStore):
        stale = True

        def current_version(self, dataset, consistent=False):
            if self.stale and not consistent:
                self.stale = False
                return old  # resolved just before the switch
            return super().current_version(dataset, consistent)

    partition = SlowReader(TABLE, lookup_env.dynamodb).get_partition("employees", "Engineering")
    assert partition["version"] != old
    assert sorted(partition["members"]) == ["E001", "E003"]


def test_list_keys_pages_with_an_opaque_cursor(lookup_env):
    rows = [f"K{i:02d},M1,N,,,,\n" for i in range(7)]
    load(lookup_env, HEADER + "".join(rows))
    seen, cursor, pages = [], None, 0
    while True:
        keys, cursor = store(lookup_env).list_keys("employees", limit=3, cursor=cursor)
        seen += keys
        pages += 1
        if cursor is None:
            break
        assert "/" not in cursor and "+" not in cursor and "=" not in cursor
        assert decode_cursor(cursor, "employees") == (
            store(lookup_env).current_version("employees"),
            keys[-1],
        )
    assert seen == [f"K{i:02d}" for i in range(7)] and pages == 3


def test_handler_publishes_success_and_failure_events_without_raising(lookup_env):
    ok = lookup_loader.handler(lookup_env.put_csv(V1), LambdaContext())
    bad = lookup_loader.handler(lookup_env.put_csv("", "empty.csv"), LambdaContext())
    assert (ok["status"], bad["status"]) == (SUCCEEDED, FAILED)
    events = lookup_env.events()
    assert [e["detail-type"] for e in events] == ["Lookup Load Succeeded", "Lookup Load Failed"]
    assert all(e["source"] == "headwater.lookup" for e in events)
    assert events[0]["detail"]["rows"] == 6
    assert events[0]["detail"]["version"] == ok["manifest"]["version"]
    assert events[1]["detail"]["error"]["rule"] == "empty_file"
    assert events[1]["detail"]["source"]["key"] == "lookup/employees/empty.csv"
    assert store(lookup_env).current_version("employees") == ok["manifest"]["version"]


def test_handler_raises_on_aws_errors_so_the_target_retries(lookup_env):
    event = lookup_env.put_csv(V1)
    lookup_env.s3.delete_object(
        Bucket=RAW,
        Key=event["detail"]["object"]["key"],
        VersionId=event["detail"]["object"]["version-id"],
    )
    with pytest.raises(ClientError):
        lookup_loader.handler(event, LambdaContext())
    assert store(lookup_env).current_version("employees") is None
    assert lookup_env.events() == []


def test_an_interrupted_retirement_leaves_the_old_version_to_ttl(lookup_env, monkeypatch):
    first = load(lookup_env, V1).manifest["version"]

    def failing_delete(self, *args, **kwargs):
        raise RuntimeError("throttled for good")

    monkeypatch.setattr(LookupStore, "delete_version", failing_delete)
    outcome = load(lookup_env, V2, name="employees-2.csv")
    # The new version is live: the load succeeded; the leftover is reported, not hidden.
    assert outcome.status == SUCCEEDED, outcome.failure
    assert store(lookup_env).current_version("employees") == outcome.manifest["version"]
    (report,) = outcome.manifest["retirement_incomplete"]
    assert report["version"] == first and report["ttl_backstop"] == "stamped"
    assert "throttled for good" in report["error"]
    leftovers = version_items(lookup_env, first)
    assert leftovers, "the old version is still there"
    assert all("expires_at" in item for item in leftovers)


def _deny_update_item(monkeypatch):
    def denied(self, pk, sk, expires_at):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no dynamodb:UpdateItem"}},
            "UpdateItem",
        )

    def failing_delete(self, *args, **kwargs):
        raise RuntimeError("throttled for good")

    monkeypatch.setattr(LookupStore, "_stamp", denied)
    monkeypatch.setattr(LookupStore, "delete_version", failing_delete)


def test_a_failed_ttl_stamp_is_reported_not_swallowed(lookup_env, monkeypatch):
    first = load(lookup_env, V1).manifest["version"]
    _deny_update_item(monkeypatch)
    outcome = load(lookup_env, V2, name="employees-2.csv")
    assert outcome.status == SUCCEEDED, outcome.failure
    (report,) = outcome.manifest["retirement_incomplete"]
    assert report["version"] == first
    assert report["ttl_backstop"] == "failed: AccessDeniedException: no dynamodb:UpdateItem"
    recorded = store(lookup_env).manifests("employees")[0]
    assert recorded["retirement_incomplete"][0]["ttl_backstop"].startswith("failed")


def test_handler_logs_and_counts_an_incomplete_retirement(lookup_env, monkeypatch, caplog):
    lookup_loader.handler(lookup_env.put_csv(V1), LambdaContext())
    first = store(lookup_env).current_version("employees")
    _deny_update_item(monkeypatch)
    counted: list[str] = []
    original = Metrics.add_metric

    def spy(self, name, *args, **kwargs):
        counted.append(name)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(Metrics, "add_metric", spy)
    result = lookup_loader.handler(lookup_env.put_csv(V2, "employees-2.csv"), LambdaContext())
    assert result["status"] == SUCCEEDED
    (warning,) = [r for r in caplog.records if r.getMessage() == "lookup retirement incomplete"]
    assert warning.dataset == "employees" and warning.retiring_version == first
    assert warning.version == result["manifest"]["version"]
    assert warning.ttl_backstop.startswith("failed: AccessDeniedException")
    assert {"LookupRetirementsIncomplete", "LookupTtlBackstopFailed"} <= set(counted)


def test_a_successful_retirement_writes_no_ttl_stamps(lookup_env):
    calls = []
    lookup_env.dynamodb.meta.events.register(
        "before-call.dynamodb.UpdateItem", lambda **kw: calls.append(kw)
    )
    load(lookup_env, V1)
    assert load(lookup_env, V2, name="employees-2.csv").status == SUCCEEDED
    assert calls == []


# Keys that look like the store's own key parts: the legacy layout put a key named "keys" into
# the key index ("<dataset>#<version>#keys"); none may collide with anything now.
LOOKALIKES = ["keys", "i", "d", "d#i", "i#d", "#", "##", "#current", "part#0000", "manifest#x"]


def test_keys_that_look_like_storage_keys_do_not_collide(lookup_env):
    rows = "".join(f"{key},M{n},N{n},,,,\n" for n, key in enumerate(LOOKALIKES))
    first = load(lookup_env, HEADER + rows)
    assert first.status == SUCCEEDED, first.failure
    lookups = store(lookup_env)
    keys, cursor = lookups.list_keys("employees", limit=1000)
    assert (sorted(keys), cursor) == (sorted(LOOKALIKES), None)
    for n, key in enumerate(LOOKALIKES):
        assert lookups.get_member("employees", key, f"M{n}")["facts"]["name"] == f"N{n}"
    # The next load counts exactly the keys that vanished, and leaves nothing of the old one.
    second = load(lookup_env, HEADER + "keys,M0,N0,,,,\n", name="employees-2.csv")
    assert second.status == SUCCEEDED, second.failure
    assert second.manifest["keys_deleted"] == len(LOOKALIKES) - 1
    assert lookups.list_keys("employees")[0] == ["keys"]
    assert version_items(lookup_env, first.manifest["version"]) == []


def test_a_legacy_layout_version_keeps_serving_until_the_next_load_retires_it(lookup_env):
    legacy = "20261123T060002123Z-a1b2c3"  # a version id as the legacy loader wrote them
    members = {"E9": {"M": {"name": {"S": "Old"}}}}
    for pk, sk, extra in [
        (f"employees#{legacy}#Engineering", "part#0000", {"members": {"M": members}}),
        (f"employees#{legacy}#keys", "Engineering", {}),
    ]:
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "parts": {"N": "1"}, **extra}
        lookup_env.dynamodb.put_item(TableName=TABLE, Item=item)
    store(lookup_env).switch_pointer("employees", legacy, None, "2026-11-23T06:00:02Z", {})
    assert (data_pk("employees", legacy, "x"), index_pk("employees", legacy)) == (
        f"employees#{legacy}#x",
        f"employees#{legacy}#keys",
    )
    assert store(lookup_env).get_member("employees", "Engineering", "E9")["facts"] == {
        "name": "Old"
    }
    assert store(lookup_env).list_keys("employees")[0] == ["Engineering"]
    outcome = load(lookup_env, V1)
    assert outcome.status == SUCCEEDED, outcome.failure
    assert outcome.manifest["previous_version"] == legacy
    assert version_items(lookup_env, legacy) == [], "retired in its own layout"
    assert part_sk(0) == "part#0000"


def test_handler_reports_a_late_older_upload_as_skipped(lookup_env):
    older = lookup_env.put_csv(V1, "a.csv")
    newer = lookup_env.put_csv(V2, "b.csv")
    assert lookup_loader.handler(newer, LambdaContext())["status"] == SUCCEEDED
    late = lookup_loader.handler(older, LambdaContext())
    assert late["status"] == SKIPPED
    detail_types = [e["detail-type"] for e in lookup_env.events()]
    assert detail_types == ["Lookup Load Succeeded", "Lookup Load Skipped"]


class Crash(BaseException):
    """The function's process dies (timeout, out of memory): no cleanup code runs."""


class CrashingStore(LookupStore):
    def put_version(self, dataset, version, partitions, written, policy=None, stats=None):
        super().put_version(dataset, version, itertools.islice(partitions, 2), written, policy)
        raise Crash

    def delete_version(self, *args, **kwargs):
        raise Crash  # dead already: the cleanup never runs


def test_a_load_that_died_mid_write_is_swept_by_a_later_load(lookup_env, monkeypatch):
    live = load(lookup_env, V1).manifest["version"]
    with pytest.raises(Crash):
        load_event(lookup_env, lookup_env.put_csv(V2, "crashed.csv"), store_class=CrashingStore)
    versions = {i["pk"]["S"].split("#")[1] for i in lookup_env.items() if "#" in i["pk"]["S"]}
    (abandoned,) = versions - {live}
    assert version_items(lookup_env, abandoned), "the crash left items behind"
    assert store(lookup_env).current_version("employees") == live

    # Soon after, the crashed load might still be running: a load leaves its version alone.
    second = load(lookup_env, V1, name="again.csv")
    assert second.status == SUCCEEDED and version_items(lookup_env, abandoned)
    # Later than any load can run: the next load deletes it, and its registry entry.
    clock = loader.time.time() + loader.SWEEP_AFTER_SECONDS + 60
    monkeypatch.setattr(loader, "_epoch", lambda: clock)
    third = load(lookup_env, V2, name="later.csv")
    assert third.status == SUCCEEDED, third.failure
    assert version_items(lookup_env, abandoned) == []
    registered = [v for v, _ in store(lookup_env).registered_versions("employees")]
    assert registered == [third.manifest["version"]], "only the live version stays registered"
    assert "retirement_incomplete" not in third.manifest


def test_an_undeclared_dataset_records_its_failure_for_the_waiting_publisher(lookup_env):
    event = lookup_env.put_csv(V1, dataset="staff")
    outcome = load_event(lookup_env, event)
    assert outcome.status == FAILED and outcome.manifest["error"]["rule"] == "unknown_dataset"
    (recorded,) = store(lookup_env).manifests("staff")
    assert (
        recorded["status"] == FAILED and recorded["source"]["key"] == "lookup/staff/employees.csv"
    )
    # A name no contract could declare is not made into a storage key: nothing is written.
    before = len(lookup_env.items())
    assert load_event(lookup_env, lookup_env.put_csv(V1, dataset="Bad#Name")).status == FAILED
    assert len(lookup_env.items()) == before


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def count_requests(client) -> list[str]:
    sent: list[str] = []
    client.meta.events.register(
        "before-send.dynamodb.*",
        lambda request, **_: sent.append(request.headers["X-Amz-Target"].decode()),
    )
    return sent


def test_a_reader_resolves_the_pointer_once_per_ttl_then_reads_one_request(lookup_env):
    load(lookup_env, V1)
    clock = Clock()
    lookups = LookupStore(TABLE, lookup_env.dynamodb, pointer_ttl=1.0, clock=clock)
    sent = count_requests(lookup_env.dynamodb)
    lookups.get_partition("employees", "Engineering")
    assert [s.rsplit(".", 1)[1] for s in sent] == ["GetItem", "GetItem"]
    sent.clear()
    clock.now += 0.9
    assert sorted(lookups.get_partition("employees", "Sales")["members"]) == ["S001", "S002"]
    assert [s.rsplit(".", 1)[1] for s in sent] == ["GetItem"], "the pointer is remembered"
    sent.clear()
    clock.now += 0.2
    lookups.get_partition("employees", "Sales")
    assert [s.rsplit(".", 1)[1] for s in sent] == ["GetItem", "GetItem"], "and read again after"


def test_a_remembered_pointer_of_a_retired_version_falls_back_to_the_live_one(lookup_env):
    old = load(lookup_env, V1).manifest["version"]
    lookups = LookupStore(TABLE, lookup_env.dynamodb, pointer_ttl=60.0, clock=Clock())
    assert lookups.get_partition("employees", "Sales")["version"] == old
    new = load(lookup_env, V2, name="employees-2.csv").manifest["version"]
    # Within the TTL, but the old version's items are gone: the consistent read finds the new one.
    engineering = lookups.get_partition("employees", "Engineering")
    assert engineering["version"] == new and sorted(engineering["members"]) == ["E001", "E003"]
    assert lookups.get_partition("employees", "Sales") is None  # not in V2
    assert lookups.live_version("employees") == new, "the fallback refreshed what it remembers"


def test_an_unknown_dataset_is_not_remembered(lookup_env):
    lookups = LookupStore(TABLE, lookup_env.dynamodb, pointer_ttl=60.0, clock=Clock())
    assert lookups.get_partition("employees", "Sales") is None
    load(lookup_env, V1)
    assert sorted(lookups.get_partition("employees", "Sales")["members"]) == ["S001", "S002"]
