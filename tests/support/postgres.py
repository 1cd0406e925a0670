"""A real PostgreSQL for the tests: one server per session, a fresh database per test.

Use: ``from tests.support.postgres import postgres_db, postgres_server  # noqa: F401`` in a test
module or conftest. The server runs from a short directory under the system temp folder (the unix
socket path has a 107-byte limit, and when the tests run as root the server runs as an
unprivileged user that must reach its directory: pytest's tmp folders are private to root).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.local.postgres import Server


def start_server() -> tuple[Server, Path]:
    root = Path(tempfile.mkdtemp(prefix="hw-pg-"))
    root.chmod(0o755)
    server = Server(root / "pg", durable=False)
    server.start()
    return server, root


def create_database(server: Server) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(server: Server, name: str) -> None:
    server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    server, root = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_server: Server) -> Iterator[dict[str, Any]]:
    """Connection settings (the AWS RDS secret's shape) of a fresh, empty database."""
    name = create_database(postgres_server)
    try:
        yield postgres_server.settings(name)
    finally:
        drop_database(postgres_server, name)
