"""DynamoDB patch: item attributes serialised directly instead of through moto's generic walk.

moto 5.2's response serialiser walks every value against the botocore shape and, for every member
of a structure, tries several attribute aliases on the Python object. A DynamoDB item is a tree of
``AttributeValue`` structures of ten members each, so a GetItem of one lookup partition (20
members of 6 attributes) asked for about 1,200 members and took ~20 ms of the emulator's single
interpreter (``bench/api_bench.py``): the emulator, not the code under test, set the pace of every
local DynamoDB read.

``AttributeValue`` needs none of that: by the time it is serialised, moto has already turned the
item into DynamoDB's wire form (``dynamo_to_dict``: ``{"S": "x"}``, ``{"M": {...}}``, bytes for
``B``). This patch converts such a value with the same rules the generic serialiser applies,
member by member in the model's order (strings through ``str``, blobs base64, lists and maps
recursively, ``None`` members left out), and falls back to the generic walk for anything that is
not a plain dict. The contract test compares both serialisations of every attribute type, nested,
byte for byte.
"""

from __future__ import annotations

import base64
from typing import Any

# Services whose models name DynamoDB's attribute shape "AttributeValue" (streams' GetRecords
# returns the same tree).
SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
SHAPE = "AttributeValue"

_original: Any = None


class _Generic(Exception):
    """A value the fast path does not handle: serialise it the generic way."""


def _convert(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _Generic
        return attribute_value(value, shape)
    if kind == "string":
        return str(value) if value not in (None, {}, []) else value  # as _serialize_type_string
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else value
        return base64.b64encode(raw).strip().decode("utf-8")
    if kind == "boolean":
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise _Generic
        return [_convert(item, shape.member) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise _Generic
        # A None entry: the generic structure serialiser writes nothing for it; keep that.
        return {k: _convert(v, shape.value) for k, v in value.items() if v is not None}
    raise _Generic  # numbers, timestamps...: not in AttributeValue, leave them to moto


def attribute_value(value: dict[str, Any], shape: Any) -> dict[str, Any]:
    """One ``AttributeValue`` in wire form, members in the model's order, None members left out."""
    members = shape.members
    if len(value) == 1:  # what moto holds: exactly one type key
        ((name, item),) = value.items()
        if name in members:
            return {} if item is None else {name: _convert(item, members[name])}
    out: dict[str, Any] = {}
    for name, member in members.items():
        item = value.get(name)
        if item is not None:
            out[name] = _convert(item, member)
    return out


def apply() -> None:
    global _original
    from moto.core.serialize import BaseJSONSerializer

    if _original is not None:
        return
    _original = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(
        self: Any, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        if (
            key
            and shape.name == SHAPE
            and isinstance(value, dict)
            and self.operation_model.service_model.service_name in SERVICES
        ):
            try:
                converted = attribute_value(value, shape)
            except _Generic:
                pass
            else:
                serialized[self.get_serialized_name(shape, key)] = converted
                return
        _original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure


def generic_serialize_type_structure() -> Any:
    """moto's own method (the contract test serialises with it to compare)."""
    from moto.core.serialize import BaseJSONSerializer

    return _original or BaseJSONSerializer._serialize_type_structure
