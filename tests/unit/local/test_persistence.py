"""The emulator journal's pieces: which requests are writes, the record format, determinism."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from headwater.local.persistence import determinism, durability_from_env, journal
from headwater.local.persistence.requests import Kind, classify

pytestmark = pytest.mark.unit


def env(method: str, path: str = "/", query: str = "", **headers: str) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("environ", "body", "kind"),
    [
        (env("GET", "/bucket/key"), b"", Kind.READ),
        (env("HEAD", "/bucket/key"), b"", Kind.READ),
        (env("PUT", "/bucket/key"), b"data", Kind.WRITE),
        (env("DELETE", "/bucket/key"), b"", Kind.WRITE),
        (env("POST", "/bucket", "delete"), b"<Delete/>", Kind.WRITE),
        (env("POST", "/bucket/key", "select&select-type=2"), b"<x/>", Kind.READ),
        (env("POST", x_amz_target="DynamoDB_20120810.GetItem"), b"{}", Kind.READ),
        (env("POST", x_amz_target="DynamoDB_20120810.Query"), b"{}", Kind.READ),
        (env("POST", x_amz_target="DynamoDB_20120810.BatchGetItem"), b"{}", Kind.READ),
        (env("POST", x_amz_target="DynamoDB_20120810.PutItem"), b"{}", Kind.WRITE),
        (env("POST", x_amz_target="DynamoDB_20120810.BatchWriteItem"), b"{}", Kind.WRITE),
        (env("POST", x_amz_target="AmazonSQS.SendMessage"), b"{}", Kind.WRITE),
        (env("POST", x_amz_target="AmazonSQS.ReceiveMessage"), b"{}", Kind.RECEIVE),
        (env("POST", x_amz_target="AmazonSQS.GetQueueAttributes"), b"{}", Kind.READ),
        (env("POST", x_amz_target="TrentService.Decrypt"), b"{}", Kind.READ),
        (env("POST", x_amz_target="TrentService.CreateKey"), b"{}", Kind.WRITE),
        (env("POST", x_amz_target="AWSEvents.PutEvents"), b"{}", Kind.WRITE),
        (
            env("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData"),
            b"",
            Kind.WRITE,
        ),
        (
            env("POST", "/service/GraniteServiceVersion20100801/operation/GetMetricData"),
            b"",
            Kind.READ,
        ),
        ({**env("POST"), "CONTENT_TYPE": FORM}, b"Action=Publish&TopicArn=x", Kind.WRITE),
        ({**env("POST"), "CONTENT_TYPE": FORM}, b"Action=ListTopics", Kind.READ),
        ({**env("POST"), "CONTENT_TYPE": FORM}, b"Action=AssumeRole", Kind.READ),
        (env("POST", "/", "Action=CreateRole&RoleName=r"), b"", Kind.WRITE),
        (env("POST", "/2015-03-31/functions/f/invocations"), b"{}", Kind.READ),
        (env("POST", "/2015-03-31/functions"), b"{}", Kind.WRITE),
        (env("PATCH", "/restapis/abc/stages/v1"), b"{}", Kind.WRITE),
        (env("POST", "/moto-api/reset"), b"", Kind.WRITE),
    ],
)
def test_classify(environ, body, kind):
    assert classify(environ, body) is kind


def test_records_round_trip_and_a_torn_tail_is_cut(tmp_path):
    path = tmp_path / "journal.bin"
    writer = journal.Journal(path)
    writer.open()
    writer.append({"n": 1}, b"first")
    writer.append({"n": 2}, b"\x00" * 100)
    writer.close()
    whole = path.read_bytes()
    path.write_bytes(whole + journal.encode({"n": 3}, b"third")[:-2])  # killed mid-write

    records, valid_end = journal.read(path)
    assert [(r.meta, r.body) for r in records] == [({"n": 1}, b"first"), ({"n": 2}, b"\x00" * 100)]
    assert valid_end == len(whole)

    writer.open(valid_end)
    writer.append({"n": 4}, b"after")
    writer.close()
    assert [r.meta["n"] for r in journal.read(path)[0]] == [1, 2, 4]
    (aside,) = tmp_path.glob("journal.bin.torn-*")
    assert aside.read_bytes() == journal.encode({"n": 3}, b"third")[:-2]


def test_a_damaged_record_ends_the_readable_part(tmp_path):
    path = tmp_path / "journal.bin"
    first, second = journal.encode({"n": 1}, b"a"), journal.encode({"n": 2}, b"b")
    damaged = bytearray(second)
    damaged[-1] ^= 0xFF
    path.write_bytes(first + bytes(damaged))
    records, valid_end = journal.read(path)
    assert [r.meta for r in records] == [{"n": 1}]
    assert valid_end == len(first)


def test_a_seeded_request_draws_the_same_identifiers_whatever_other_threads_draw():
    determinism.install()
    from moto.moto_api._internal import mock_random

    def identifiers() -> list[str]:
        return [str(mock_random.uuid4()), mock_random.get_random_hex(8), str(uuid.uuid4())]

    with determinism.request(seed=42, instant=1000.0):
        first = identifiers()
        assert determinism.now() == 1000.0

    noise = threading.Event()

    def draw_noise() -> None:
        while not noise.is_set():
            mock_random.uuid4()
            uuid.uuid4()

    thread = threading.Thread(target=draw_noise)
    thread.start()
    try:
        with determinism.request(seed=42, instant=2000.0):
            second = identifiers()
    finally:
        noise.set()
        thread.join()
    assert first == second
    assert determinism.now() is None
    assert identifiers() != first  # outside a request: real randomness again


def test_moto_clocks_read_the_request_instant():
    determinism.install()
    import moto.sqs.models as sqs_models
    from moto.core import utils

    determinism.freeze_clocks(("moto.sqs.",))
    assert sqs_models.unix_time is not utils.unix_time
    assert determinism.freeze_clocks(("moto.sqs.",)) == 0  # already frozen: nothing replaced

    with determinism.request(seed=1, instant=1234.5):
        assert sqs_models.unix_time() == 1234.5
        assert sqs_models.unix_time_millis() == 1234500.0
        assert determinism.wall_time() == 1234.5
        assert [determinism.request_counter() for _ in range(3)] == [0, 1, 2]
    assert determinism.request_counter() is None
    assert abs(sqs_models.unix_time() - 1234.5) > 1000


@pytest.mark.parametrize(
    ("value", "mode"), [(None, "os"), ("", "os"), ("fsync", "fsync"), ("MEMORY", "memory")]
)
def test_durability_setting(value, mode):
    environ = {} if value is None else {"HEADWATER_LOCAL_DURABILITY": value}
    assert durability_from_env(environ) == mode


def test_durability_setting_rejects_other_values():
    with pytest.raises(ValueError, match="one of os, fsync, memory"):
        durability_from_env({"HEADWATER_LOCAL_DURABILITY": "always"})


def test_encoded_metadata_is_json(tmp_path):
    record = journal.encode({"env": {"PATH_INFO": "/x"}, "seed": 7, "t": 1.5}, b"body")
    assert json.loads(record[12 : 12 + int.from_bytes(record[:4], "big")]) == {
        "env": {"PATH_INFO": "/x"},
        "seed": 7,
        "t": 1.5,
    }
