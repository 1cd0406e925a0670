"""The portable path against a real PostgreSQL: SQLAlchemy 2.1's ``yield_per`` trap (counted in
rows fetched from psycopg's server-side cursor), and one mixed table read through SQLAlchemy +
psycopg and through ADBC, compared column by column where the two paths' types agree."""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
import pyarrow as pa
import pytest
import sqlalchemy as sa

from headwater.onboard import postgres as pg
from headwater.onboard.declarations import TableDecl
from headwater.onboard.portable import PortableExtractor, url_from_secret

ROWS = 1000


class CountingServerCursor(psycopg.ServerCursor):
    """psycopg's server-side cursor, counting the rows it fetches from the server."""

    fetched = 0

    def fetchone(self) -> Any:
        row = super().fetchone()
        CountingServerCursor.fetched += row is not None
        return row

    def fetchmany(self, size: int = 0) -> list[Any]:
        rows = super().fetchmany(size)
        CountingServerCursor.fetched += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        rows = super().fetchall()
        CountingServerCursor.fetched += len(rows)
        return rows


def counting_engine(settings: dict[str, Any]) -> sa.Engine:
    engine = sa.create_engine(url_from_secret("postgresql", "psycopg", settings))

    @sa.event.listens_for(engine, "connect")
    def count(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.server_cursor_factory = CountingServerCursor

    return engine


def test_text_yield_per_option_is_ignored_result_yield_per_streams(
    postgres_server, postgres_db
) -> None:
    name = postgres_db["dbname"]
    postgres_server.execute("CREATE TABLE t (id int PRIMARY KEY, v text)", name)
    postgres_server.execute(
        f"INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g", name
    )
    engine = counting_engine(postgres_db)
    query = sa.text("SELECT id, v FROM t ORDER BY id")
    try:
        with engine.connect() as conn:
            # The trap: the yield_per execution option on a text() statement. It opens a
            # server-side cursor, but the first partition is the whole result.
            CountingServerCursor.fetched = 0
            result = conn.execute(query.execution_options(yield_per=100))
            first = next(result.partitions())
            assert (len(first), CountingServerCursor.fetched) == (ROWS, ROWS)
            result.close()
            conn.rollback()
            # What the portable path does: stream_results and the result's own yield_per.
            CountingServerCursor.fetched = 0
            result = conn.execution_options(stream_results=True).execute(query).yield_per(100)
            partitions = result.partitions()
            first = next(partitions)
            assert (len(first), CountingServerCursor.fetched) == (100, 100)
            next(partitions)
            assert CountingServerCursor.fetched == 200
            result.close()
            conn.rollback()
        # The extractor streams the same way: one batch's rows fetched per batch.
        reader = PortableExtractor(engine)
        plan = reader.describe(TableDecl("public", "t"))
        CountingServerCursor.fetched = 0
        batches = reader.stream(plan, batch_rows=64)
        assert next(batches).num_rows == 64
        assert CountingServerCursor.fetched == 64
        batches.close()
        reader.close()
    finally:
        engine.dispose()


MIXED = """
CREATE TABLE mixed (
  id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, n numeric(12,2), nbig numeric(50,10),
  nfree numeric, f4 real, f8 float8, t text, vc varchar(20), ch char(3), b bytea, u uuid,
  j json, jb jsonb, d date, ts timestamp, tz timestamptz, ai int[], at text[],
  an numeric(6,2)[], bo bool, iv interval, other inet, updated_at timestamptz NOT NULL
)"""
MIXED_ROWS = r"""
INSERT INTO mixed VALUES
 (1, -32768, -2147483648, -9223372036854775808, -9999999999.99,
  1234567890123456789012345678901234567890.0123456789, 0.000000000000000000001,
  'NaN', 'Infinity', 'héllo ''quoted'' \ back', '', 'ab', '\x00ff10',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"a": [1, 2.5, "x"]}', '{"b": {"c": null}}',
  '0001-01-01', '1970-01-01 00:00:00', '2024-02-29 23:59:59.999999+05:30', '{1,NULL,3}',
  '{a,"b c",""}', '{1.50,NULL}', true, '1 year 2 mons 3 days 04:05:06.7', '192.168.0.1/24',
  '2024-01-01 00:00+00'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 00:00+00')
"""
MIXED_GENERATED = r"""
INSERT INTO mixed
SELECT g, (g % 30000)::int2, g * 7, g::int8 * 1000003,
  ((g * 7919) % 100000000)::numeric / 100 * (1 - 2 * (g % 2)), g::numeric * 123456789.0123456789,
  g::numeric / 7, (g / 7.0)::real, (g::float8 / 3) * 10 ^ (g % 40 - 20), md5(g::text),
  left(md5(g::text), 20), 'z', decode(md5(g::text), 'hex'), md5(g::text)::uuid,
  json_build_object('g', g), jsonb_build_object('g', g, 'h', array[g, g]),
  date '2000-01-01' + g, timestamp '2000-01-01' + g * interval '1 minute 1.000001 second',
  timestamptz '2000-01-01 00:00+00' + g * interval '1 hour 0.5 second',
  array[g, g + 1], array[md5(g::text)], array[(g % 1000)::numeric / 4], g % 2 = 0,
  make_interval(months => g % 13, days => g % 31), ('10.0.' || (g % 256) || '.1')::inet,
  timestamptz '2024-01-01 00:00+00' + g * interval '1 minute'
FROM generate_series(3, 400) g
"""
# Where the paths' types differ, by design: PostgreSQL's interval holds months, which the
# portable path's duration cannot, so it reads it as text; ADBC has Arrow's month_day_nano.
DIFFERENT = {"iv"}


def values(table: pa.Table, name: str) -> list[Any]:
    """A column's values, NaN as a marker (NaN equals nothing, itself included)."""
    return ["NaN" if v != v else v for v in table.column(name).to_pylist()]


@pytest.fixture
def mixed(postgres_server, postgres_db):
    name = postgres_db["dbname"]
    for sql in (MIXED, MIXED_ROWS, MIXED_GENERATED):
        postgres_server.execute(sql, name)
    return postgres_db


def test_portable_and_adbc_read_the_same_table_alike(mixed) -> None:
    decl = TableDecl("public", "mixed", mode="incremental", cursor="updated_at")
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(pg.connect(pg.ConnectionSettings.from_secret(mixed)))
        adbc_plan = pg.describe(conn, decl)
        adbc = pa.Table.from_batches(
            list(pg.stream(conn, adbc_plan, batch_rows=100)), schema=adbc_plan.arrow_schema
        )
        reader = stack.enter_context(
            PortableExtractor(url_from_secret("postgresql", "psycopg", mixed))
        )
        plan = reader.describe(decl)
        portable = pa.Table.from_batches(
            list(reader.stream(plan, batch_rows=100)), schema=plan.arrow_schema
        )
        assert plan.key == adbc_plan.key == ("id",)
        assert portable.num_rows == adbc.num_rows == 400
        for name in adbc.column_names:
            if name in DIFFERENT:
                continue
            assert portable.schema.field(name).type == adbc.schema.field(name).type, name
            assert values(portable, name) == values(adbc, name), name
        # The interval as PostgreSQL's text; inet has no mapping on either path: its text.
        assert portable.column("iv").to_pylist()[:2] == ["1 year 2 mons 3 days 04:05:06.7", None]
        assert plan.arrow_schema.field("other").metadata[b"headwater.source_type"] == b"INET"
        assert portable.column("other").to_pylist()[0] == "192.168.0.1/24"
        # Keyset, range and incremental reads select the same rows on both paths.
        since = portable.column("updated_at")[300].as_py()
        options = {"after": (17,), "key_range": (10, 390), "since": since}
        left = pa.Table.from_batches(list(reader.stream(plan, **options)), schema=plan.arrow_schema)
        right = pa.Table.from_batches(
            list(pg.stream(conn, adbc_plan, **options)), schema=adbc_plan.arrow_schema
        )
        assert left.column("id").to_pylist() == right.column("id").to_pylist()
        assert left.column("id").to_pylist() == list(range(302, 390))
        assert reader.key_bounds(plan) == pg.key_bounds(conn, adbc_plan) == (1, 400)
        assert reader.list_tables("public") == pg.list_tables(conn, "public") == ["public.mixed"]


def test_numeric_nan_is_refused_on_both_paths(postgres_server, postgres_db) -> None:
    name = postgres_db["dbname"]
    postgres_server.execute("CREATE TABLE t (id int PRIMARY KEY, n numeric(6,2), f numeric)", name)
    postgres_server.execute("INSERT INTO t VALUES (1, 'NaN', 1), (2, 1, 'NaN')", name)
    with PortableExtractor(url_from_secret("postgresql", "psycopg", postgres_db)) as reader:
        plan = reader.describe(TableDecl("public", "t", columns=("id", "n")))
        with pytest.raises(pg.UnrepresentableValue, match="'n' holds decimal NaN"):
            list(reader.stream(plan))
        plan = reader.describe(TableDecl("public", "t", columns=("id", "f")))
        with pytest.raises(pg.UnrepresentableValue, match="'f' holds numeric NaN"):
            list(reader.stream(plan))
