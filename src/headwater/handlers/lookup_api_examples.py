"""Examples of the lookup API's OpenAPI document: requests and answers on the demo dataset.

Every value is what the API really answers once ``examples/lookup/employees.csv`` is published as
the ``employees`` dataset (``./setup.sh run`` does): tests/unit/lookup/test_lookup_openapi.py
serves that file through the handler and compares. Only the version differs from a live
deployment's (it names the load), and so does the cursor, which names its version: sent to a
deployment, the example cursor gets the 410 of a listing whose version was replaced. Sent as
they are, the request examples get real answers (tests/e2e/lookup/test_lookup_schemathesis.py).

Values are plain data here; ``lookup_api`` attaches them to its route declarations, where
Powertools puts them in the generated document (parameters: ``openapi_examples``; responses: the
``examples`` of their content).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import Example

from headwater.lookup.store import encode_cursor

DATASET = "employees"
KEY = "Finance"
MEMBER = "F002"
LIMIT = 2
# A version as the loader names them (headwater.lookup.loader.new_version).
VERSION = "20261201T090000123Z-5f0c2a-k2"
CURSOR = encode_cursor(DATASET, VERSION, KEY)

# ---- request parameters ----------------------------------------------------------------------

PARAMETERS: dict[str, dict[str, Example]] = {
    "dataset": {"employees": Example(summary="the demo dataset", value=DATASET)},
    "key": {
        "department": Example(summary="a department of the demo dataset", value=KEY),
        "encoded": Example(
            summary="a key with a space and an ampersand (percent-encode it in the path)",
            value="Research & Development",
        ),
    },
    "member": {"employee": Example(summary="an employee id in that department", value=MEMBER)},
    "limit": {"small page": Example(summary="two keys a page", value=LIMIT)},
    # No cursor example: a cursor names the version of the listing it came from, so no fixed
    # value is ever a valid next page (the first page's example answer shows one).
}

# ---- response bodies -------------------------------------------------------------------------

_FINANCE = {
    "F001": {
        "name": "Luca Pacioli",
        "title": "Controller",
        "location": "Milan",
        "start_date": "2014-03-30",
        "salary_band": 6,
    },
    "F002": {
        "name": "Ayn Ökonom",
        "title": "Analyst",
        "location": "Zürich",
        "start_date": "2022-10-03",
        "salary_band": 3,
    },
}

KEY_PAGE = {
    "dataset": DATASET,
    "version": VERSION,
    "keys": ["Engineering", KEY],
    "next_cursor": CURSOR,
}
LAST_KEY_PAGE = {
    "dataset": DATASET,
    "version": VERSION,
    "keys": ["Research & Development", "Sales", "Support"],
    "next_cursor": None,
}
PARTITION = {"dataset": DATASET, "key": KEY, "version": VERSION, "members": _FINANCE}
MEMBER_FACTS = {
    "dataset": DATASET,
    "key": KEY,
    "member": MEMBER,
    "version": VERSION,
    "facts": _FINANCE[MEMBER],
}

# Error answers, by status: the function's own texts, and API Gateway's (403, 429).
ERRORS: dict[int, dict[str, str]] = {
    400: {"message": "limit: Input should be less than or equal to 1000"},
    403: {"message": "Forbidden"},
    404: {"message": "unknown key 'Marketing' in dataset 'employees'"},
    410: {
        "message": "dataset 'employees' was replaced since this listing started; "
        "restart it without a cursor"
    },
    429: {"message": "Too Many Requests"},
    503: {"message": "the dataset is being replaced; retry shortly"},
}


def ok(**examples: tuple[str, dict[str, Any]]) -> dict[str, Example]:
    """``name=(summary, body)`` -> the ``examples`` of a 200's content."""
    return {
        name: Example(summary=summary, value=body) for name, (summary, body) in examples.items()
    }


# Two causes of a 403: API Gateway's (no or unknown key) and the tenancy rule (headwater.tenancy).
NOT_GRANTED = {"message": "subscriber 'demo' is not granted dataset 'finance'"}


def error(status: int) -> dict[str, Example]:
    answers = {str(status): Example(value=ERRORS[status])}
    if status == 403:
        answers = {
            "missing_key": Example(
                summary="no or unknown API key (API Gateway)", value=ERRORS[403]
            ),
            "not_granted": Example(
                summary="the key's subscriber is not granted the dataset", value=NOT_GRANTED
            ),
        }
    return answers
