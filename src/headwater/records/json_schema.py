"""One JSON Schema per record dataset, derived from its declaration and used twice.

API Gateway validates request bodies against models written in JSON Schema draft 4, so that is
the dialect: the same document is the route's model (the gateway refuses a bad body before any
Lambda runs) and what the handler validates with (every error, with its path and rule). Nothing
else describes a record's shape.

``record_schema`` is one record; ``request_schema`` is a POST body: one record, or an array of
1 to ``MAX_BATCH`` records. The record schema is inlined in both branches rather than referenced:
a model's ``$ref`` may only point at another model of the API by URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from headwater.records.declarations import MAX_BATCH, Field, RecordDataset

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
# Posted dates and timestamps are strings; draft 4's "format" is not enforced by API Gateway,
# so the shape is a pattern (the handler then parses the value itself).
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_LIMIT_KEYWORDS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
}


def field_schema(field: Field) -> dict[str, Any]:
    """The schema of one field; an optional field may also be null."""
    schema: dict[str, Any]
    if field.type == "string":
        schema = {"type": "string"}
    elif field.type == "int64":
        schema = {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}
    elif field.type == "float64":
        schema = {"type": "number"}
    elif field.type == "bool":
        schema = {"type": "boolean"}
    elif field.type == "date":
        schema = {"type": "string", "pattern": DATE_PATTERN}
    elif field.type == "timestamp":
        schema = {"type": "string", "pattern": TIMESTAMP_PATTERN}
    else:  # pragma: no cover - the declaration parser admits only the types above
        raise ValueError(f"unknown field type {field.type!r}")
    for key, value in field.limits.items():
        if key == "enum":
            schema["enum"] = list(value) + ([] if field.required else [None])
        else:
            schema[_LIMIT_KEYWORDS[key]] = value
    if not field.required:
        schema["type"] = [schema["type"], "null"]
    return schema


def record_schema(dataset: RecordDataset, *, standalone: bool = True) -> dict[str, Any]:
    """One record: an object with the declared fields only, the required ones present."""
    schema: dict[str, Any] = {"$schema": DRAFT_04} if standalone else {}
    schema.update(
        {
            "title": f"{dataset.dataset} record",
            "type": "object",
            "properties": {f.name: field_schema(f) for f in dataset.fields},
            "additionalProperties": False,
        }
    )
    if dataset.description:
        schema["description"] = dataset.description
    required = [f.name for f in dataset.fields if f.required]
    if required:  # draft 4: "required" must hold at least one name
        schema["required"] = required
    return schema


def request_schema(dataset: RecordDataset) -> dict[str, Any]:
    """A POST body: one record, or an array of 1 to MAX_BATCH records."""
    record = record_schema(dataset, standalone=False)
    return {
        "$schema": DRAFT_04,
        "title": f"{dataset.dataset} records",
        "oneOf": [
            record,
            {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": record},
        ],
    }


def model_document(dataset: RecordDataset) -> str:
    """The request schema as the API Gateway model's text (sorted keys: stable diffs)."""
    return json.dumps(request_schema(dataset), sort_keys=True, separators=(",", ":"))


def terraform_datasets(datasets: Mapping[str, RecordDataset]) -> dict[str, Any]:
    """The ``record_datasets`` Terraform variable: what the gateway needs of each dataset."""
    return {
        "record_datasets": {
            name: {"description": d.description, "schema": model_document(d)}
            for name, d in sorted(datasets.items())
        }
    }
