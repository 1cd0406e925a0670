"""``headwater records``: the records capability's commands.

``schemas`` writes ``terraform/environments/record_datasets.auto.tfvars.json``: one JSON Schema
per record dataset declaration, which every environment (the file is linked into each) passes to
the stack as ``record_datasets``, the API Gateway model of the dataset's POST route. The handler
derives the same schema from the same declaration at runtime, so the gateway and the code never
disagree. ``--check`` fails when the committed file is stale; ``scripts/build_artifact.py``
rewrites it on every build, so editing a declaration and deploying just works.

Actions are subcommands of one group: add one with ``actions.add_parser(...)`` in ``register``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from headwater.cli.errors import CommandError

# The repository's environments directory, from this file (src/headwater/cli/records.py).
ENVIRONMENTS_DIR = Path(__file__).resolve().parents[3] / "terraform" / "environments"
SCHEMAS_FILE = ENVIRONMENTS_DIR / "record_datasets.auto.tfvars.json"


def render_schemas(directory: str | Path | None = None) -> str:
    """The tfvars document of every declared record dataset, as written to SCHEMAS_FILE."""
    from headwater.records.declarations import load_record_datasets
    from headwater.records.json_schema import terraform_datasets

    try:
        datasets = load_record_datasets(directory)
    except Exception as exc:  # a declaration error names its file; show it as one line
        raise CommandError(f"invalid record dataset declaration: {exc}") from None
    return json.dumps(terraform_datasets(datasets), indent=2, sort_keys=True) + "\n"


def write_schemas(out: Path = SCHEMAS_FILE, directory: str | Path | None = None) -> bool:
    """Write the file if its content changed; True when it was (re)written."""
    text = render_schemas(directory)
    try:
        if out.is_file() and out.read_text(encoding="utf-8") == text:
            return False
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    return True


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "records",
        help="records: gateway schemas of the record datasets",
        description="Commands of the records capability (JSON records POSTed to the REST API).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    schemas = actions.add_parser(
        "schemas",
        help="write the record datasets' JSON Schemas for Terraform (record_datasets)",
        description="Derive one JSON Schema per record dataset declaration and write them as "
        "the Terraform variable record_datasets, loaded by every environment.",
    )
    schemas.add_argument(
        "--out",
        type=Path,
        default=SCHEMAS_FILE,
        help="output file (default: terraform/environments/record_datasets.auto.tfvars.json)",
    )
    schemas.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if the file is missing or differs from the declarations",
    )
    schemas.set_defaults(func=run_schemas)


def run_schemas(args: argparse.Namespace) -> int:
    out: Path = args.out
    if args.check:
        expected = render_schemas()
        try:
            current = out.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != expected:
            raise CommandError(
                f"{out} is stale or missing: run `headwater records schemas` and commit it"
            )
        print(f"{out} is up to date")
        return 0
    changed = write_schemas(out)
    print(f"{'wrote' if changed else 'unchanged'} {out}")
    return 0
