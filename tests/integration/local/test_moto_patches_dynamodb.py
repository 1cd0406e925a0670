"""Contract tests for ``moto_patches.dynamodb``: items serialise exactly as moto's generic walk
would serialise them, every attribute type, nested, and read back through boto3 unchanged."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from headwater.local.moto_patches import dynamodb as patch

pytestmark = pytest.mark.integration

EVERY_TYPE = {
    "pk": {"S": "p"},
    "sk": {"S": "s"},
    "empty": {"S": ""},
    "unicode": {"S": "Zoë ✓"},
    "n": {"N": "-12.50"},
    "b": {"B": base64.b64encode(b"\x00\xffbin").decode()},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [base64.b64encode(b"\x01").decode(), base64.b64encode(b"\x02").decode()]},
    "null": {"NULL": True},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "empty_map": {"M": {}},
    "empty_list": {"L": []},
    "m": {
        "M": {
            "inner": {"M": {"deep": {"L": [{"S": "x"}, {"N": "1"}, {"B": "AAE="}]}}},
            "flag": {"BOOL": False},
            "set": {"SS": ["z"]},
        }
    },
    "l": {"L": [{"M": {"k": {"NULL": True}}}, {"L": [{"BS": ["AQ=="]}]}, {"S": "tail"}]},
}


def _serialize(operation: str, result: dict, generic: bool, monkeypatch) -> str:
    from moto.core.responses import XFormedAttributePicker
    from moto.core.serialize import BaseJSONSerializer, get_serializer_class
    from moto.core.utils import get_service_model

    with monkeypatch.context() as m:
        if generic:
            m.setattr(
                BaseJSONSerializer,
                "_serialize_type_structure",
                patch.generic_serialize_type_structure(),
            )
        model = get_service_model("dynamodb")
        serializer = get_serializer_class("dynamodb", model.protocol)(
            operation_model=model.operation_model(operation),
            value_picker=XFormedAttributePicker(),
        )
        return serializer.serialize(result)["body"]


def _as_moto_holds_it(item: dict) -> dict:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import dynamo_to_dict

    return {name: dynamo_to_dict(DynamoType(value)) for name, value in item.items()}


@pytest.mark.parametrize("operation", ["GetItem", "Query"])
def test_items_serialise_exactly_as_the_generic_walk(operation, emulator, monkeypatch):
    # ``emulator`` applied the patches; the generic walk is moto's own method, kept by the patch.
    item = _as_moto_holds_it(EVERY_TYPE)
    result = {"Item": item} if operation == "GetItem" else {"Items": [item, item], "Count": 2}
    fast = _serialize(operation, result, generic=False, monkeypatch=monkeypatch)
    generic = _serialize(operation, result, generic=True, monkeypatch=monkeypatch)
    from moto.core.serialize import BaseJSONSerializer

    installed = BaseJSONSerializer._serialize_type_structure
    assert installed is not patch.generic_serialize_type_structure(), "the patch is not installed"
    assert fast == generic
    assert '"B": "AP9iaW4="' in fast and '"BOOL": false' in fast  # not vacuously equal


def test_every_attribute_type_reads_back_through_the_emulator(aws, unique):
    ddb = aws("dynamodb")
    table = f"attrs-{unique}"
    ddb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {name: _client_form(value) for name, value in EVERY_TYPE.items()}
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
    queried = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert queried == [got]
    assert got["b"] == {"B": b"\x00\xffbin"}
    assert sorted(got["bs"]["BS"]) == [b"\x01", b"\x02"]
    assert got["m"]["M"]["inner"]["M"]["deep"]["L"][2] == {"B": b"\x00\x01"}
    assert Decimal(got["n"]["N"]) == Decimal("-12.5")
    for name in (
        "empty",
        "unicode",
        "null",
        "yes",
        "no",
        "empty_map",
        "empty_list",
        "l",
        "ss",
        "m",
    ):
        assert _same(got[name], item[name]), name


def _client_form(value: dict) -> dict:
    """boto3 takes binary attributes as bytes (it base64-encodes them itself)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _client_form(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_client_form(v) for v in inner]}
    return value


def _same(a: dict, b: dict) -> bool:
    (ta, va), (tb, vb) = next(iter(a.items())), next(iter(b.items()))
    if ta in ("SS", "NS", "BS"):
        return ta == tb and sorted(va) == sorted(vb)
    return a == b
