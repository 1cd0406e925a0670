"""``headwater openapi``: write the REST API's OpenAPI document (docs/openapi.json by default).

The document is generated from every capability's API routes (``headwater.handlers.openapi``), so it
cannot list a route the API does not have; tests/unit/test_lookup_openapi.py fails when the
committed file is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from headwater.cli.errors import CommandError

DEFAULT_OUT = Path("docs/openapi.json")


def render() -> str:
    from headwater.handlers.openapi import document

    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "openapi",
        help="write the REST API's OpenAPI document (every capability, merged)",
        description="Write the OpenAPI 3 document of the REST API, generated from every "
        "capability's routes.",
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help=f"output file, '-' for stdout (default: {DEFAULT_OUT})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = render()
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out}")
    return 0
