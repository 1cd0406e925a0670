"""The local PostgreSQL server: starts on loopback with a password, survives a restart, stops."""

from __future__ import annotations

import json
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from headwater.local.postgres import PostgresError, Server, find_binaries
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401


def test_find_binaries_has_the_server_programs() -> None:
    directory = find_binaries()
    for name in ("initdb", "pg_ctl", "postgres"):
        assert (directory / name).is_file()


def test_binaries_override_that_lacks_them_is_skipped_for_the_next_place(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER_POSTGRES_BIN", "/nonexistent")
    assert find_binaries() != Path("/nonexistent")


def test_fresh_database_fixture_is_empty_and_writable(
    postgres_server,  # noqa: F811 - the fixture imported above
    postgres_db,  # noqa: F811
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
    server = Server(root / "pg")
    try:
        assert not server.running()
        server.start()
        assert server.running()
        info = json.loads((root / "pg" / "headwater.json").read_text())
        assert stat.S_IMODE((root / "pg" / "headwater.json").stat().st_mode) == 0o600
        port = info["port"]
        assert server.execute("SELECT current_setting('listen_addresses')") == [("127.0.0.1",)]
        assert server.execute("SELECT current_setting('fsync')") == [("on",)]  # durable by default
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
        server.start()  # same cluster, same port, same data
        assert server.port == port
        assert server.execute("SELECT v FROM kept") == [("x",)]
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_directory_holding_something_else_is_refused(tmp_path) -> None:
    (tmp_path / "pg" / "cluster").mkdir(parents=True)
    (tmp_path / "pg" / "cluster" / "stray").write_text("x")
    with pytest.raises(PostgresError, match="not empty"):
        Server(tmp_path / "pg").start()
