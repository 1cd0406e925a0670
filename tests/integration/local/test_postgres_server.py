"""The local PostgreSQL server: starts on loopback with a password, survives a restart, stops."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from headwater.local.postgres import PostgresError, Server, find_binaries, unreachable_parent


def test_find_binaries_has_the_server_programs() -> None:
    directory = find_binaries()
    for name in ("initdb", "pg_ctl", "postgres"):
        assert (directory / name).is_file()


def test_binaries_override_that_lacks_them_is_skipped_for_the_next_place(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER_POSTGRES_BIN", "/nonexistent")
    assert find_binaries() != Path("/nonexistent")


def test_fresh_database_fixture_is_empty_and_writable(
    postgres_server,
    postgres_db,
) -> None:
    database = postgres_db["dbname"]
    assert postgres_db["host"] == "127.0.0.1"
    assert postgres_db["sslmode"] == "disable"
    postgres_server.execute("CREATE TABLE t (id int PRIMARY KEY)", database)
    postgres_server.execute("INSERT INTO t VALUES (1), (2)", database)
    assert postgres_server.execute("SELECT count(*) FROM t", database) == [(2,)]
    # The session server runs without durability (tests only).
    assert postgres_server.execute("SELECT current_setting('fsync')") == [("off",)]
    assert postgres_server.execute("SELECT current_setting('synchronous_commit')") == [("off",)]
    assert postgres_server.execute("SELECT current_setting('full_page_writes')") == [("off",)]


def test_server_lifecycle_loopback_password_and_restart() -> None:
    root = Path(tempfile.mkdtemp(prefix="hw-pg-"))
    root.chmod(0o755)
    # First start not durable (tests only: initdb skips its fsyncs), then durable after restart.
    server = Server(root / "pg", durable=False)
    try:
        assert not server.running()
        server.start()
        assert server.running()
        info = json.loads((root / "pg" / "headwater.json").read_text())
        assert stat.S_IMODE((root / "pg" / "headwater.json").stat().st_mode) == 0o600
        port = info["port"]
        assert server.execute("SELECT current_setting('listen_addresses')") == [("127.0.0.1",)]
        assert server.execute("SELECT current_setting('fsync')") == [("off",)]
        assert (root / "pg" / f".s.PGSQL.{port}").exists()
        # A wrong password is refused: the server does not trust loopback connections.
        from adbc_driver_postgresql import dbapi

        with pytest.raises(Exception, match="password authentication failed"):
            dbapi.connect(f"postgresql://headwater:wrong@127.0.0.1:{port}/postgres?sslmode=disable")
        server.start()  # already running: no-op
        server.execute("CREATE TABLE kept (v text)")
        server.execute("INSERT INTO kept VALUES ('x')")
        server.stop()
        assert not server.running()
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0
        server = Server(root / "pg")  # durable by default
        server.start()  # same cluster, same port, same data
        assert server.port == port
        assert server.execute("SELECT current_setting('fsync')") == [("on",)]
        assert server.execute("SELECT v FROM kept") == [("x",)]
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def open_dir():
    """A directory under the system temp folder that any user may enter (pytest's tmp_path is
    private to the user running the tests)."""
    root = Path(tempfile.mkdtemp(prefix="hw-pg-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_a_directory_holding_something_else_is_refused(open_dir) -> None:
    (open_dir / "pg" / "cluster").mkdir(parents=True)
    (open_dir / "pg" / "cluster" / "stray").write_text("x")
    with pytest.raises(PostgresError, match="not empty"):
        Server(open_dir / "pg").start()


def test_a_parent_the_server_user_cannot_enter_is_found(open_dir) -> None:
    # When the tests run as root the server runs as another user: its data directory must be
    # reachable by that user, and start() says which directory is not.
    private = open_dir / "private"
    (private / "inner").mkdir(parents=True)
    private.chmod(0o700)
    stranger = os.getuid() + 12345
    assert unreachable_parent(private / "inner" / "pg", stranger, stranger) == private
    private.chmod(0o711)
    assert unreachable_parent(private / "inner" / "pg", stranger, stranger) is None
    assert unreachable_parent(private / "inner" / "pg", os.getuid(), os.getgid()) is None
