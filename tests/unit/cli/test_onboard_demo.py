"""The onboard demo's database on a real PostgreSQL (tests/support/postgres.py), and
``headwater local postgres up|status|down`` (and ``local down``) on a server of their own."""

from __future__ import annotations

import contextlib
import math
import shutil
import stat
import tempfile
import uuid
from pathlib import Path

import pytest

from headwater import cli
from headwater.cli import local_postgres, onboard_demo
from tests.support.postgres import create_database, drop_database, postgres_server  # noqa: F401

ROWS = 3000


def query(settings: dict, sql: str) -> list[tuple]:
    connection = onboard_demo._connect(settings, autocommit=True)
    try:
        with contextlib.closing(connection.cursor()) as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


@pytest.fixture
def demo_db(postgres_server):  # noqa: F811
    name = f"demo_{uuid.uuid4().hex[:12]}"
    user = f"u_{uuid.uuid4().hex[:12]}"
    try:
        yield name, user
    finally:
        drop_database(postgres_server, name)
        postgres_server.execute(f'DROP ROLE IF EXISTS "{user}"')


def test_the_demo_schema_holds_what_a_faithful_copy_must_keep(postgres_server, demo_db):  # noqa: F811
    name, user = demo_db
    settings = onboard_demo.ensure_demo_database(postgres_server, ROWS, database=name, user=user)
    counts = query(
        settings,
        "SELECT (SELECT count(*) FROM public.events), (SELECT count(*) FROM public.customers), "
        "(SELECT count(*) FROM public.products), (SELECT count(*) FROM public.empty_table), "
        "(SELECT count(*) FROM public.orders)",
    )
    assert counts == [(ROWS, 1000, 300, 0, 2000)]
    # Every nullable column has NULLs and values.
    nullable = {
        "events": ["user_id", "amount", "score", "payload", "tags", "note", "flag"],
        "customers": ["email", "created", "balance", "avatar", "uid"],
        "products": ["price", "weight", "dims", "active", "added"],
        "orders": ["customer_id", "total"],
    }
    for table, columns in nullable.items():
        counts = ", ".join(
            f"count(*) FILTER (WHERE {column} IS NULL), count({column})" for column in columns
        )
        (row,) = query(settings, f"SELECT {counts} FROM public.{table}")
        for column, nulls, values in zip(columns, row[::2], row[1::2], strict=True):
            assert nulls > 0 and values > 0, (table, column)
    ((nan, inf, ninf),) = query(
        settings,
        "SELECT count(*) FILTER (WHERE score = 'NaN'), count(*) FILTER (WHERE score = "
        "'Infinity'), count(*) FILTER (WHERE score = '-Infinity') FROM public.events",
    )
    assert nan and inf and ninf
    ((weight_nan,),) = query(settings, "SELECT count(*) FROM public.products WHERE weight = 'NaN'")
    assert weight_nan
    notes = {row[0] for row in query(settings, "SELECT note FROM public.events WHERE id < 10")}
    assert "" in notes and any("\n" in (n or "") and '"' in n and "'" in n for n in notes if n)
    kinds = {row[0] for row in query(settings, "SELECT DISTINCT kind FROM public.events")}
    assert "démo ✓ 数据" in kinds
    ((null_elements, empty),) = query(
        settings,
        "SELECT count(*) FILTER (WHERE array_position(tags, NULL) IS NOT NULL), "
        "count(*) FILTER (WHERE cardinality(tags) = 0) FROM public.events",
    )
    assert null_elements and empty
    # No value a faithful copy must reject: numerics are finite, timestamps too.
    ((numeric_nan,),) = query(settings, "SELECT count(*) FROM public.events WHERE amount = 'NaN'")
    assert numeric_nan == 0
    keys = query(
        settings,
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indisprimary AND c.relnamespace = 'public'::regnamespace ORDER BY 1",
    )
    assert keys == [
        ("customers", "id"), ("empty_table", "id"), ("events", "id"), ("orders", "id"),
        ("products", "sku"),
    ]  # fmt: skip
    ((superuser,),) = query(settings, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    assert superuser is False
    assert math.isfinite(float(settings["port"])) and settings["sslmode"] == "disable"
    assert settings["dbname"] == name and settings["username"] == user


def test_the_demo_database_is_created_once(postgres_server, demo_db):  # noqa: F811
    name, user = demo_db
    settings = onboard_demo.ensure_demo_database(postgres_server, ROWS, database=name, user=user)
    query(settings, "INSERT INTO public.empty_table VALUES (1, 'kept') RETURNING id")
    again = onboard_demo.ensure_demo_database(postgres_server, ROWS, database=name, user=user)
    assert again == settings
    assert query(again, "SELECT v FROM public.empty_table") == [("kept",)]
    # Another row count is another demo: the tables are created again.
    onboard_demo.ensure_demo_database(postgres_server, 10, database=name, user=user)
    assert query(settings, "SELECT count(*) FROM public.events") == [(10,)]
    assert query(settings, "SELECT count(*) FROM public.empty_table") == [(0,)]
    # The password is the server's check, not decoration.
    with pytest.raises(Exception, match="password"):
        query({**settings, "password": "wrong"}, "SELECT 1")


def test_a_failed_creation_leaves_no_half_schema(postgres_server, demo_db):  # noqa: F811
    name, user = demo_db
    settings = onboard_demo.ensure_database(postgres_server, name, user, "pw")
    with pytest.raises(ValueError, match="non-negative"):
        onboard_demo.create_schema(settings, -1)
    statements = onboard_demo.schema_statements(5)
    broken = [*statements[:-2], "SELECT no_such_column FROM public.events", *statements[-2:]]
    connection = onboard_demo._connect(settings)
    with pytest.raises(Exception, match="no_such_column"), contextlib.closing(connection):
        cursor = connection.cursor()
        for statement in broken:
            cursor.execute(statement)
    assert query(settings, "SELECT to_regclass('public.events')") == [(None,)]


def test_demo_password_is_generated_once_and_private(tmp_path):
    first = local_postgres.demo_password(tmp_path)
    assert len(first) >= 24
    assert local_postgres.demo_password(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / local_postgres.DEMO_PASSWORD_FILE).stat().st_mode)
    assert mode == 0o600


def test_local_postgres_up_status_down_and_local_down(monkeypatch, capsys):
    # A state folder the server's user can reach when the tests run as root (see
    # tests/support/postgres.py).
    root = Path(tempfile.mkdtemp(prefix="hw-lpg-"))
    root.chmod(0o755)
    monkeypatch.setenv("HEADWATER_STATE_DIR", str(root))
    monkeypatch.setenv("ENV", "local")
    try:
        assert cli.main(["local", "postgres", "status"]) == 3
        assert local_postgres.summary_line() is None  # no data folder yet
        assert cli.main(["local", "postgres", "up"]) == 0
        assert "local PostgreSQL running at 127.0.0.1:" in capsys.readouterr().out
        port = local_postgres.server().port
        assert local_postgres.summary_line(root).startswith(
            f"postgresql://{local_postgres.DEMO_USER}@127.0.0.1:{port}/demo  "
        )
        assert (root / "local" / "postgres" / "cluster" / "PG_VERSION").is_file()
        assert cli.main(["local", "postgres", "up"]) == 0
        assert "already running" in capsys.readouterr().out
        assert cli.main(["local", "postgres", "status"]) == 0
        capsys.readouterr()
        # `local down` (what ./setup.sh destroy runs first) stops it.
        assert cli.main(["local", "down"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            "local mode was not running",
            "local PostgreSQL stopped",
        ]
        assert cli.main(["local", "postgres", "status"]) == 3
        assert local_postgres.summary_line(root) is None  # stopped: the summary leaves it out
        assert cli.main(["local", "postgres", "down"]) == 0
        assert "local PostgreSQL was not running" in capsys.readouterr().out
        assert not local_postgres.server().running()
    finally:
        local_postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
