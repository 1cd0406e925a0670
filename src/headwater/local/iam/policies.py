"""A function's role policies as Terraform created them in the emulator, handed to its workers.

The runner reads the role (from the function's configuration), its inline policies and the
default versions of its attached managed policies, and writes them with the function's identity
into one JSON file per function. The worker gets the file's path on its command line, not in its
environment (the handler must see exactly the environment AWS gives it), and re-reads the file
when it changes, so a policy edit reaches warm workers within one runner refresh.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from headwater.local.iam.arns import ACCOUNT
from headwater.local.state import write_atomically

log = logging.getLogger("headwater.local.iam")

# HEADWATER_LOCAL_IAM=off turns the checks off (debugging); anything else, or unset, is on.
SWITCH = "HEADWATER_LOCAL_IAM"


STATUS_FILE = "status.json"


def status_line(directory: Path) -> str | None:
    """``iam checks: on|off`` as the running daemon decided it, None when it has not said."""
    try:
        on = json.loads((directory / STATUS_FILE).read_text())["on"]
    except (OSError, ValueError, KeyError):
        return None
    if on:
        return f"iam checks: on (each function's calls against its role; {SWITCH}=off disables)"
    return f"iam checks: off ({SWITCH}=off when the local mode started)"


def enabled(environ: dict[str, str] | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get(SWITCH, "on")
    return value.strip().lower() not in ("off", "0", "false", "no")


def _document(value: Any) -> dict[str, Any]:
    # The IAM API returns documents URL-encoded (moto too); boto3 sometimes decodes them already.
    if isinstance(value, dict):
        return value
    return json.loads(unquote(value))


def role_documents(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """Inline and attached managed policy documents of a role, in a stable order."""
    documents = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for name in sorted(page["PolicyNames"]):
            policy = iam.get_role_policy(RoleName=role_name, PolicyName=name)
            documents.append(_document(policy["PolicyDocument"]))
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        for attached in sorted(page["AttachedPolicies"], key=lambda p: p["PolicyArn"]):
            arn = attached["PolicyArn"]
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            body = iam.get_policy_version(PolicyArn=arn, VersionId=version)
            documents.append(_document(body["PolicyVersion"]["Document"]))
    return documents


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::acct:role/path/name`` -> ``name``."""
    return role_arn.rsplit("/", 1)[-1]


def spec(
    function: str, role_arn: str, region: str, documents: list[dict], index_path: str
) -> dict[str, Any]:
    """What a worker needs to check its calls."""
    return {
        "function": function,
        "role_arn": role_arn,
        "principal_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name(role_arn)}/{function}",
        "account": ACCOUNT,
        "region": region,
        "documents": documents,
        "action_index": index_path,
    }


def write_spec(path: Path, content: dict[str, Any]) -> bool:
    """Write atomically; returns whether the content changed (unchanged files keep their mtime)."""
    text = json.dumps(content, sort_keys=True)
    if path.exists() and path.read_text() == text:
        return False
    write_atomically(path, text)
    return True


class PolicyFiles:
    """The runner's side: one spec file per function, kept in step with the role's policies.

    A role whose policies cannot be read is written with none: its calls are denied, and the log
    says why, rather than the function running unchecked.
    """

    def __init__(self, iam_client: Any, region: str, directory: Path | None = None) -> None:
        self.on = enabled()
        self._iam = iam_client
        self.region = region
        self._own_dir = directory is None
        self.directory = directory or Path(tempfile.mkdtemp(prefix="headwater-iam-"))
        self._index: str | None = None
        self._lock = threading.Lock()
        # For `headwater local status`, which runs in another process with another environment.
        self.directory.mkdir(parents=True, exist_ok=True)
        write_spec(self.directory / STATUS_FILE, {"on": self.on, "switch": SWITCH})

    def index_path(self) -> str:
        with self._lock:
            if self._index is None:
                from headwater.local.iam import actions

                self._index = str(actions.build_index(self.directory / "actions.json"))
            return self._index

    def path(self, function: str) -> Path:
        return self.directory / f"{function}.json"

    def write(self, function: str, role_arn: str) -> str | None:
        """(Re)write the function's spec; returns its path, or None when checks are off."""
        if not self.on:
            return None
        try:
            documents = role_documents(self._iam, role_name(role_arn)) if role_arn else []
        except Exception as exc:
            log.warning("IAM check: cannot read role %s of %s: %s", role_arn, function, exc)
            documents = []
        path = self.path(function)
        content = spec(function, role_arn, self.region, documents, self.index_path())
        if write_spec(path, content):
            log.info("IAM check: %s uses %d policies of %s", function, len(documents), role_arn)
        return str(path)

    def close(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:  # a stopped daemon checks nothing: status must not say otherwise
            (self.directory / STATUS_FILE).unlink(missing_ok=True)
