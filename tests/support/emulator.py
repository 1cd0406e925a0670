"""The patched emulator for tests and benchmarks, and what they create in it by hand.

The integration tier and bench/ both run the emulator in their own process and create the few
resources Terraform would (functions, roles); these helpers keep that in one place.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import zipfile
from collections.abc import Iterator
from typing import Any

REGION = "us-east-1"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_emulator(
    own_process: bool = False, persist_dir: Any = None, fsync: bool = False
) -> Iterator[Any]:
    """The patched moto server on a free loopback port, stopped on the way out; in this process,
    or (``own_process``) in a child process as the daemon runs it; ``persist_dir``: with the
    crash-safe journal there (None: state in memory)."""
    from headwater.local.emulator import Emulator

    if own_process:
        from headwater.local.emulator_process import EmulatorProcess

        emulator = EmulatorProcess(port=0, persist_dir=persist_dir, fsync=fsync)
    else:
        emulator = Emulator(port=0, persist_dir=persist_dir, fsync=fsync)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def use_emulator_environment(endpoint_url: str) -> None:
    """Point this process's headwater.aws clients at the emulator, as the runner does a worker."""
    from headwater import aws

    os.environ.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    aws.reset()


def make_client(service: str, endpoint_url: str) -> Any:
    """A client configured like headwater.aws's (standard retries), on its own session."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    ).client(
        service,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )


def code_zip(files: dict[str, str] | None = None) -> bytes:
    """A deployment zip. The runner imports handlers from the installed package (as the local
    environment's thin artifact does), so by default it holds one empty placeholder module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (files or {"placeholder.py": ""}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def lambda_role(iam: Any, role_name: str, statements: list[dict] | None = None) -> str:
    """The ARN of an IAM role Lambda may assume, created on first use (moto checks it exists).

    ``statements`` become its inline policy, as a module would grant them: the local mode checks
    every AWS call a function makes against its role, so a function that calls AWS needs them.
    """
    try:
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(
            RoleName=role_name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
        )
        arn = created["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(
            RoleName=role_name, PolicyName="function", PolicyDocument=json.dumps(document)
        )
    return arn


def lambda_proxy_uri(function_arn: str, region: str = REGION) -> str:
    """The integration URI API Gateway uses to invoke ``function_arn`` (AWS_PROXY)."""
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
