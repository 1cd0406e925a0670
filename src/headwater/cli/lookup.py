"""``headwater lookup publish|curl``: publish a lookup CSV and call the API as a subscriber would.

``publish`` uploads a CSV to ``s3://<raw bucket>/<prefix><dataset>/<file name>``, where the
loader picks it up; with ``--wait`` it follows the load through the table (the dataset's pointer
for a success, the load manifests for a failure or a skip) and reports rows, keys and duration,
the broken rule with its row and column, or that a newer upload is live so this one was skipped.

``curl`` prints a ready ``curl`` command against the local API front (``apis.json`` in the
state directory) with a real key value read from the emulator. The value is a secret: it goes to
stdout, for the user who asked, and nowhere else.

Table, bucket and API name come from flags or from ``--outputs`` (``terraform output -json`` of
the environment; ``setup.sh run`` writes ``$HEADWATER_STATE_DIR/<env>/outputs.json``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from headwater.cli.errors import CommandError
from headwater.cli.keys import key_value
from headwater.cli.outputs import read_outputs, setting
from headwater.progress import step

DEFAULT_PREFIX = "lookup/"
DEFAULT_DATASET = "employees"
DEFAULT_KEY_NAME = "demo"
# The demo's dataset, relative to the project root (where setup.sh runs).
EXAMPLE = Path("examples/lookup/employees.csv")
EXAMPLE_DATASET = "employees"
POLL_SECONDS = 0.5
_sleep = time.sleep  # module-level so tests can stand a loader in for the wait


def register(subparsers: Any) -> None:
    lookup = subparsers.add_parser(
        "lookup",
        help="publish lookup CSVs and print a ready curl command for the lookup API",
        description=__doc__.splitlines()[0],
    )
    commands = lookup.add_subparsers(dest="lookup_command", metavar="ACTION")

    publish = commands.add_parser("publish", help="upload a CSV as the dataset's next version")
    publish.add_argument("file", type=Path, help="the CSV file")
    publish.add_argument("--dataset", required=True, help="lookup dataset, e.g. employees")
    publish.add_argument("--bucket", help="raw bucket (default: raw_bucket of --outputs)")
    publish.add_argument(
        "--prefix", help=f"lookup root in the bucket (default: outputs or {DEFAULT_PREFIX})"
    )
    publish.add_argument("--table", help="lookup table (default: lookup_table of --outputs)")
    publish.add_argument("--outputs", type=Path, help="`terraform output -json` of the environment")
    publish.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for the load and report it (exit 1 when it failed, was "
        "skipped because a newer upload is live, or did not finish in time)",
    )
    publish.set_defaults(func=_publish)

    curl = commands.add_parser("curl", help="print a curl command for the local API with a key")
    curl.add_argument("--dataset", default=DEFAULT_DATASET, help="dataset (default employees)")
    curl.add_argument("--key", help="partition key (default: the dataset's first key)")
    curl.add_argument("--key-name", default=DEFAULT_KEY_NAME, help="API key name (default demo)")
    curl.add_argument("--api-name", help="REST API name (default: api_name of --outputs)")
    curl.add_argument("--table", help="lookup table, to pick a key (default: --outputs)")
    curl.add_argument("--stage", help="stage (default: the API's only stage)")
    curl.add_argument("--state-dir", type=Path, help="local state directory (apis.json)")
    curl.add_argument("--outputs", type=Path, help="`terraform output -json` of the environment")
    curl.set_defaults(func=_curl)

    demo = commands.add_parser(
        "demo",
        help="publish the example dataset, wait for its load, print a ready curl command",
        description="The lookup step of `headwater demo` (and `setup.sh run`).",
    )
    demo.add_argument(
        "--outputs", type=Path, required=True, help="`terraform output -json` of the environment"
    )
    add_demo_arguments(demo)
    demo.set_defaults(func=run_demo)

    lookup.set_defaults(func=lambda _args: _usage(lookup))


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults from the variables ./setup.sh documents (argparse converts string defaults).
    local = os.environ.get("ENV", "local") == "local"
    parser.add_argument(
        "--lookup-wait",
        type=float,
        default=os.environ.get("LOOKUP_WAIT", "120"),
        metavar="SECONDS",
        help="wait up to SECONDS for the example's load (default 120, or LOOKUP_WAIT)",
    )
    parser.add_argument(
        "--api-wait",
        type=float,
        # The local API front discovers new APIs every few seconds: give it time after an apply.
        default=os.environ.get("API_WAIT", "30" if local else "0"),
        metavar="SECONDS",
        help="retry building the curl command this long (default 30 for ENV=local, else 0: "
        "print a hint instead when there is no local front)",
    )


def _parse(argv: list[str]) -> argparse.Namespace:
    """This module's own parser: the demo runs the same actions a user would type."""
    parser = argparse.ArgumentParser(prog="headwater")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["lookup", *argv])


def run_demo(args: argparse.Namespace, example: Path = EXAMPLE) -> int:
    """Publish the example dataset, wait for its load and print a ready curl command."""
    outputs_path, lookup_wait, api_wait = args.outputs, args.lookup_wait, args.api_wait
    if not read_outputs(outputs_path).get("lookup_table"):
        step("no lookup table in this environment: skipping the lookup example")
        return 0
    step(f"publishing {example} as the {EXAMPLE_DATASET} lookup dataset")
    publish = _parse(
        [
            *("publish", str(example), "--dataset", EXAMPLE_DATASET),
            *("--outputs", str(outputs_path), "--wait", str(lookup_wait)),
        ]
    )
    if _publish(publish) != 0:
        return 1
    curl = _parse(["curl", "--dataset", EXAMPLE_DATASET, "--outputs", str(outputs_path)])
    deadline = time.monotonic() + api_wait
    while True:
        try:
            command = curl_for(curl)
            break
        except CommandError as exc:
            if api_wait <= 0:
                step(
                    f"no local API front ({exc}): call $(terraform output -raw api_url) with a "
                    "key from `headwater keys list --show-value`"
                )
                return 0
            if time.monotonic() >= deadline:
                raise
            _sleep(2)
    print(f"\nLookup API, with the demo subscriber key:\n  {command}")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client(service: str) -> Any:
    from headwater import aws
    from headwater.cli import localenv

    try:
        return aws.client(service)
    except BotoCoreError as exc:  # NoRegionError in a fresh shell without the local mode
        raise CommandError(f"no AWS target: {exc}; {localenv.target_hint()}") from exc


# ---- publish -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uploaded:
    bucket: str
    key: str
    version_id: str | None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class LoadReport:
    status: str  # the manifest's: "succeeded", "failed" or "skipped" (headwater.lookup.loader)
    manifest: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        from headwater.lookup.loader import SUCCEEDED  # lazily: the loader pulls in boto3

        return self.status == SUCCEEDED


def _require_declared(dataset: str) -> None:
    """Fail before uploading a file no loader would load, when --wait would wait in vain. (Only
    then: without --wait an upload for declarations deployed from elsewhere stays possible.)"""
    from headwater.lookup.contracts import load_lookups

    declared = sorted(load_lookups())
    if dataset not in declared:
        raise CommandError(
            f"no lookup contract declares dataset {dataset!r} (declared: "
            f"{', '.join(declared) or 'none'}); add one under src/headwater/datasets/lookup/"
        )


def _publish(args: argparse.Namespace) -> int:
    from headwater.lookup.store import LookupStore

    if args.wait > 0:
        _require_declared(args.dataset)

    outputs = read_outputs(args.outputs)
    bucket = setting(args.bucket, outputs, "raw_bucket", "--bucket")
    prefix = args.prefix or outputs.get("lookup_key_prefix") or DEFAULT_PREFIX
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    if not args.file.is_file():
        raise CommandError(f"no such file: {args.file}")
    store = None
    seen: list[dict[str, Any]] = []
    if args.wait > 0:
        store = LookupStore(
            setting(args.table, outputs, "lookup_table", "--table"), _client("dynamodb")
        )
        # Manifests already recorded are not this load's: remember them to skip them.
        seen = _call("reading load manifests", store.manifests, args.dataset, 20)
    key = f"{prefix}{args.dataset}/{args.file.name}"
    response = _call(
        f"uploading to s3://{bucket}/{key}",
        _client("s3").put_object,
        Bucket=bucket,
        Key=key,
        Body=args.file.read_bytes(),
    )
    uploaded = Uploaded(bucket, key, response.get("VersionId"))
    print(f"published {args.file} to {uploaded.uri}", file=sys.stderr)
    if store is None:
        return 0
    report = wait_for_load(store, args.dataset, uploaded, seen, args.wait)
    if report is None:
        print(f"no load of {uploaded.uri} finished within {args.wait:g}s", file=sys.stderr)
        return 1
    print(describe(report))
    return 0 if report.succeeded else 1


def matches(manifest: dict[str, Any], uploaded: Uploaded) -> bool:
    """Whether a load manifest is about this upload (same object, same version when versioned)."""
    source = manifest.get("source") or {}
    if source.get("bucket") != uploaded.bucket or source.get("key") != uploaded.key:
        return False
    return uploaded.version_id is None or source.get("version_id") == uploaded.version_id


def wait_for_load(
    store: Any,
    dataset: str,
    uploaded: Uploaded,
    seen: list[dict[str, Any]],
    timeout: float,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> LoadReport | None:
    """Poll until the pointer names a version loaded from ``uploaded`` (success) or a new final
    manifest about it appears: failed, or skipped (a newer upload is live, so this one will never
    be: waiting longer is pointless); None when ``timeout`` seconds pass first."""
    from headwater.lookup.loader import FAILED, SKIPPED, SUCCEEDED

    sleep = sleep or _sleep
    deadline = clock() + timeout
    while True:
        pointer = _call("reading the dataset pointer", store.pointer, dataset, True)
        manifest = (pointer or {}).get("manifest") or {}
        if matches(manifest, uploaded):
            return LoadReport(SUCCEEDED, manifest)
        for recorded in _call("reading load manifests", store.manifests, dataset, 20):
            if recorded in seen or not matches(recorded, uploaded):
                continue
            if recorded.get("status") in (FAILED, SKIPPED):
                return LoadReport(recorded["status"], recorded)
        if clock() >= deadline:
            return None
        sleep(POLL_SECONDS)


def describe(report: LoadReport) -> str:
    from headwater.lookup.loader import SKIPPED

    manifest = report.manifest
    source = manifest.get("source") or {}
    where = f"s3://{source.get('bucket')}/{source.get('key')}"
    if report.succeeded:
        return (
            f"loaded {where} as {manifest.get('dataset')} version {manifest.get('version')}: "
            f"{manifest.get('rows')} rows, {manifest.get('keys_written')} keys written, "
            f"{manifest.get('keys_deleted')} deleted, in {manifest.get('duration_ms')} ms"
        )
    if report.status == SKIPPED:
        # Not an error in the file: the loader only ever moves a dataset to a later upload.
        return (
            f"load of {where} SKIPPED: {manifest.get('reason')}; version "
            f"{manifest.get('live_version')} is still served (publish again to make this file "
            "the newest upload)"
        )
    error = manifest.get("error") or {}
    place = []
    if error.get("row") is not None:
        place.append(f"row {error['row']}")
    if error.get("column") is not None:
        place.append(f"column {error['column']!r}")
    suffix = f" ({', '.join(place)})" if place else ""
    return (
        f"load of {where} FAILED: {error.get('rule')}: {error.get('message')}{suffix}; "
        "the previous version is still served"
    )


# ---- curl ----------------------------------------------------------------------------------


def _curl(args: argparse.Namespace) -> int:
    print(curl_for(args))
    return 0


def curl_for(args: argparse.Namespace) -> str:
    """The curl command ``lookup curl`` prints (CommandError when it cannot be built yet)."""
    from headwater.local import state
    from headwater.local.apigateway.front import read_apis

    outputs = read_outputs(args.outputs)
    api_name = setting(args.api_name, outputs, "api_name", "--api-name")
    apis = read_apis(state.state_paths(args.state_dir).root)
    api = apis.get(api_name)
    if api is None:
        raise CommandError(
            f"no local API front serves {api_name!r} (is local mode running? "
            "`headwater local status` lists the APIs it serves)"
        )
    stage = args.stage or _only_stage(api, api_name)
    key = args.key or _first_key(args, outputs)
    value = key_value(_client("apigateway"), args.key_name, outputs.get("api_key_ids") or {})
    return curl_command(api["url"], stage, args.dataset, key, value)


def _only_stage(api: dict[str, Any], name: str) -> str:
    stages = api.get("stages") or []
    if len(stages) != 1:
        found = ", ".join(stages) or "none"
        raise CommandError(f"API {name!r} has stages {found}: choose one with --stage")
    return stages[0]


def _first_key(args: argparse.Namespace, outputs: dict[str, Any]) -> str:
    from headwater.lookup.store import LookupStore

    table = setting(args.table, outputs, "lookup_table", "--table (or --key)")
    keys, _ = _call(
        "listing keys", LookupStore(table, _client("dynamodb")).list_keys, args.dataset, 1
    )
    if not keys:
        raise CommandError(f"dataset {args.dataset!r} has no current version: publish a file first")
    return keys[0]


def curl_command(base_url: str, stage: str, dataset: str, key: str, value: str) -> str:
    path = "/".join(quote(part, safe="") for part in ("lookups", dataset, key))
    url = f"{base_url.rstrip('/')}/{stage}/{path}"
    return f"curl -sS -H {shlex.quote(f'x-api-key: {value}')} {shlex.quote(url)}"


def _call(what: str, operation: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return operation(*args, **kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CommandError(
            f"{what}: {error.get('Code', 'error')}: {error.get('Message', exc)}"
        ) from exc
    except BotoCoreError as exc:
        raise CommandError(f"{what}: {exc}") from exc
