"""Local-mode defaults for this process: endpoint, credentials, region and Terraform outputs.

With ``ENV=local`` (the default when ENV is unset) a fresh shell should be enough to run any
command: the emulator's endpoint comes from the running local mode (``local.json`` in the state
directory, as ``headwater local status`` reads it), the credentials are the emulator's test ones,
and the outputs come from the local Terraform state that ``setup.sh`` keeps under the state
directory. Nothing is done when ENV names a real environment, or when the user already chose an
endpoint or a profile: then boto3 resolves everything the usual way, and an AWS target is never
pointed at the emulator by accident.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from headwater.local import state

LOCAL_ENV = "local"
# What the emulator accepts (any credentials; moto's default account and region).
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
DEFAULT_REGION = "us-east-1"


def is_local(environ: MutableMapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get("ENV", LOCAL_ENV) == LOCAL_ENV


def apply(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Point this process at the running local mode; the endpoint set, or None.

    Only with ENV=local, no AWS_ENDPOINT_URL and no AWS_PROFILE, and only when the local mode
    runs (else AWS calls fail later with a clear message from the command itself). Credentials
    and region already set are kept.
    """
    environ = os.environ if environ is None else environ
    if not is_local(environ) or environ.get("AWS_ENDPOINT_URL") or environ.get("AWS_PROFILE"):
        return None
    from headwater.local import daemon

    # daemon.status, not local.json alone: after a crash the file names a dead endpoint.
    endpoint = daemon.status(state.state_paths(environ.get(state.STATE_DIR_ENV))).endpoint
    if not endpoint:
        return None
    environ["AWS_ENDPOINT_URL"] = endpoint
    # Test credentials only as a pair: a half-set pair is the user's business, and leaving
    # their real keys alone here is harmless because the endpoint is the emulator.
    if not environ.get("AWS_ACCESS_KEY_ID") and not environ.get("AWS_SECRET_ACCESS_KEY"):
        environ.update(TEST_CREDENTIALS)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    environ.setdefault("AWS_DEFAULT_REGION", region)
    environ.setdefault("AWS_REGION", region)
    return endpoint


def local_tfstate(environ: MutableMapping[str, str] | None = None) -> Path:
    """Where ``setup.sh`` keeps the local Terraform state (``local/terraform.tfstate``)."""
    environ = os.environ if environ is None else environ
    return state.state_paths(environ.get(state.STATE_DIR_ENV)).root / "local" / "terraform.tfstate"


def default_outputs(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """The outputs a command reads when given no ``--outputs``: the local state, with ENV=local."""
    if not is_local(environ):
        return None
    path = local_tfstate(environ)
    return path if path.is_file() else None


def target_hint(environ: MutableMapping[str, str] | None = None) -> str:
    """Why boto3 may have no endpoint, region or credentials here: a hint for error lines."""
    environ = os.environ if environ is None else environ
    if is_local(environ) and not environ.get("AWS_ENDPOINT_URL"):
        return "the local mode is not running (start it: ./setup.sh deploy)"
    return "set AWS_REGION and credentials, or AWS_PROFILE"
