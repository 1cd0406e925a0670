"""headwater.tenancy: the denial rule (403 for an ungranted collection, 404 for someone else's
item) and the directory that resolves API key ids, on moto's in-process DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from headwater import tenancy
from headwater.tenancy import Caller, Denied, Directory, require_grant, require_owner
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

TABLE = "hw-tenancy"
ACME = Caller(subscriber="acme", internal=False, grants=frozenset({"employees"}), key_id="k1")
OPS = Caller(subscriber="ops", internal=True, grants=frozenset(), key_id="k2")


def test_a_granted_collection_passes_and_any_other_is_403():
    require_grant(ACME, "employees")
    for other in ("salaries", "Employees", "employees2", ""):
        with pytest.raises(Denied) as denied:
            require_grant(ACME, other)
        assert denied.value.status == 403
        assert denied.value.message == f"subscriber 'acme' is not granted dataset {other!r}"


def test_internal_callers_read_every_collection():
    for collection in ("employees", "salaries", "anything"):
        require_grant(OPS, collection)


def test_someone_elses_item_is_the_same_404_as_a_missing_one():
    require_owner(ACME, "acme", "record 'r1'")
    with pytest.raises(Denied) as other:
        require_owner(ACME, "globex", "record 'r1'")
    with pytest.raises(Denied) as missing:
        require_owner(ACME, None, "record 'r1'")
    assert (other.value.status, other.value.message) == (404, "unknown record 'r1'")
    assert (missing.value.status, missing.value.message) == (
        other.value.status,
        other.value.message,
    )


def test_internal_callers_see_every_item_but_not_missing_ones():
    require_owner(OPS, "globex", "record 'r1'")
    with pytest.raises(Denied) as missing:
        require_owner(OPS, None, "record 'r1'")
    assert missing.value.status == 404


def test_a_subscriber_item_of_unknown_kind_fails_closed():
    item = {"pk": {"S": "subscriber#x"}, "kind": {"S": "admin"}, "datasets": {"L": []}}
    with pytest.raises(ValueError, match="kind 'admin'"):
        tenancy.parse_subscriber(item)


class Counting:
    """The real (moto) client, counting the calls the directory makes."""

    def __init__(self, client):
        self.client, self.calls = client, 0

    def get_item(self, **kwargs):
        self.calls += 1
        return self.client.get_item(**kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tenancy_table(client, TABLE)
        put_subscriber(client, TABLE, "acme", datasets=("employees", "sales"))
        put_subscriber(client, TABLE, "ops", kind=tenancy.INTERNAL)
        put_key(client, TABLE, "key-acme", "acme")
        put_key(client, TABLE, "key-ops", "ops")
        yield client


def test_the_directory_resolves_keys_to_their_subscribers(dynamodb):
    directory = Directory(dynamodb, TABLE)
    assert directory.caller("key-acme") == Caller(
        "acme", False, frozenset({"employees", "sales"}), "key-acme"
    )
    ops = directory.caller("key-ops")
    assert ops.internal and ops.subscriber == "ops" and ops.may_read("anything")


def test_unknown_keys_and_orphans_are_denied_never_allowed(dynamodb):
    put_key(dynamodb, TABLE, "key-orphan", "gone")  # its subscriber was removed
    directory = Directory(dynamodb, TABLE)
    for key_id, words in (
        ("key-nobody", "belongs to no subscriber"),
        ("key-orphan", "unknown subscriber 'gone'"),
        (None, "carries no API key"),
        ("", "carries no API key"),
    ):
        with pytest.raises(Denied) as denied:
            directory.caller(key_id)
        assert denied.value.status == 403 and words in denied.value.message, key_id


def test_answers_are_cached_for_the_ttl_then_read_again(dynamodb):
    counting, clock = Counting(dynamodb), Clock()
    directory = Directory(counting, TABLE, ttl=60, clock=clock)
    assert directory.caller("key-acme").may_read("sales")
    assert counting.calls == 2  # the key's item, then its subscriber's
    for _ in range(100):
        directory.caller("key-acme")
    assert counting.calls == 2, "a warm function makes no AWS call per request"

    # A grant revoked in the directory applies once the TTL has passed, not before.
    put_subscriber(dynamodb, TABLE, "acme", datasets=("employees",))
    clock.now += 59
    assert directory.caller("key-acme").may_read("sales")
    clock.now += 2
    assert not directory.caller("key-acme").may_read("sales")
    assert counting.calls == 4


def test_denials_are_cached_too_and_expire(dynamodb):
    counting, clock = Counting(dynamodb), Clock()
    directory = Directory(counting, TABLE, ttl=60, clock=clock)
    for _ in range(3):
        with pytest.raises(Denied):
            directory.caller("key-new")
    assert counting.calls == 1
    put_key(dynamodb, TABLE, "key-new", "acme")
    clock.now += 61
    assert directory.caller("key-new").subscriber == "acme"


def test_a_rotated_key_works_until_its_expiry_even_from_the_cache(dynamodb):
    start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    wall = {"now": start}
    put_key(
        dynamodb, TABLE, "key-old", "acme", by="headwater-cli", expires=start + timedelta(hours=2)
    )
    counting, clock = Counting(dynamodb), Clock()
    directory = Directory(counting, TABLE, ttl=3600, clock=clock, now=lambda: wall["now"])
    assert directory.caller("key-old").expires == start + timedelta(hours=2)
    wall["now"] = start + timedelta(hours=2)  # its last valid instant
    assert directory.caller("key-old").subscriber == "acme"
    wall["now"] += timedelta(seconds=1)
    with pytest.raises(Denied) as denied:
        directory.caller("key-old")  # still cached (ttl one hour): the expiry applies anyway
    assert denied.value.status == 403
    assert "expired at 2026-12-02T14:00:00Z" in denied.value.message
    assert counting.calls == 2
    # Keys without an expiry are not affected.
    assert directory.caller("key-acme").expires is None


@pytest.mark.parametrize("stored", ["tomorrow", "", "2026-13-45T99:00:00Z"])
def test_an_unreadable_expiry_fails_closed(dynamodb, stored):
    item = tenancy.key_item("key-odd", "acme", "headwater-cli")
    dynamodb.put_item(TableName=TABLE, Item={**item, tenancy.EXPIRES: {"S": stored}})
    with pytest.raises(Denied) as denied:
        Directory(dynamodb, TABLE).caller("key-odd")
    assert denied.value.status == 403 and "expired" in denied.value.message
