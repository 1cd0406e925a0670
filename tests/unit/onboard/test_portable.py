"""The SQLAlchemy portable path end to end on SQLite (stdlib driver, a file database): every
mapped type and NULL, the unmapped type read as text and saying so, keyset continuation (single
and composite keys), key ranges, incremental reads, bounded fetches, the declaration's driver
choice and the factory."""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from headwater.onboard import portable
from headwater.onboard.declarations import DeclarationError, TableDecl, parse_source_documents
from headwater.onboard.extractor import PostgresExtractor, open_extractor
from headwater.onboard.portable import PortableExtractor, url_from_secret
from headwater.onboard.postgres import (
    ConnectionFailed,
    ExtractionError,
    TableNotFound,
    UnrepresentableValue,
    split_key_range,
)

MIXED = """
CREATE TABLE mixed (
  id INTEGER PRIMARY KEY, small SMALLINT, big BIGINT, flag BOOLEAN, price NUMERIC(12, 2),
  wide DECIMAL(40, 3), loose NUMERIC, ratio REAL, dbl DOUBLE, name VARCHAR(20), body TEXT,
  data BLOB, born DATE, seen DATETIME, at TIME, doc JSON, odd, updated_at DATETIME NOT NULL
)"""
EXPECTED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("small", pa.int64()),  # SQLite stores any integer in up to 8 bytes
        ("big", pa.int64()),
        ("flag", pa.bool_()),
        ("price", pa.decimal128(12, 2)),
        ("wide", pa.decimal256(40, 3)),
        ("loose", pa.string()),
        ("ratio", pa.float64()),  # SQLite's REAL is a double
        ("dbl", pa.float64()),
        ("name", pa.string()),
        ("body", pa.string()),
        ("data", pa.binary()),
        ("born", pa.date32()),
        ("seen", pa.timestamp("us")),
        ("at", pa.time64("us")),
        ("doc", pa.string()),
        ("odd", pa.string()),
        pa.field("updated_at", pa.timestamp("us"), nullable=False),
    ]
)
BASE = dt.datetime(2024, 1, 1)


def generated(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "small": i % 300 - 150,
        "big": i * 1_000_000_007,
        "flag": i % 2 == 0,
        "price": decimal.Decimal(i * 7919 % 100_000) / 100,
        "wide": decimal.Decimal(i) / 8,
        "loose": repr(i / 3) if i % 3 else str(i // 3),  # REAL or INTEGER as SQLite stores it
        "ratio": i / 7,
        "dbl": i * 1e10,
        "name": f"n{i}",
        "body": "é" * (i % 5),
        "data": bytes([i % 256, 0, 255]),
        "born": dt.date(2000, 1, 1) + dt.timedelta(days=i),
        "seen": BASE + dt.timedelta(seconds=i, microseconds=i),
        "at": dt.time(i % 24, i % 60, i % 60, i),
        "doc": f'{{"i": {i}}}',
        "odd": f"10.0.{i % 256}.1",
        "updated_at": BASE + dt.timedelta(minutes=i),
    }


EDGES: list[dict[str, Any]] = [
    {
        "id": 1,
        "small": -(2**63),
        "big": 2**63 - 1,
        "flag": True,
        "price": decimal.Decimal("-9999999999.99"),
        "wide": decimal.Decimal("0.125"),
        "loose": "1e-21",  # NUMERIC affinity: SQLite stores a REAL, read back exactly
        "ratio": float("inf"),
        "dbl": -0.0,
        "name": "héllo 'quoted' \\ back",
        "body": "",
        "data": b"",
        "born": dt.date(1, 1, 1),
        "seen": dt.datetime(1970, 1, 1),
        "at": dt.time(0, 0),
        "doc": '{"a": [1, 2.5, "x"]}',
        "odd": "::1",
        "updated_at": BASE,
    },
    {"id": 2, **{k: None for k in EXPECTED_SCHEMA.names[1:-1]}, "updated_at": BASE},
]
ROWS = [*EDGES, *(generated(i) for i in range(3, 301))]


def create(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(MIXED)
        conn.exec_driver_sql(
            "CREATE TABLE pairs (grp TEXT NOT NULL, n INTEGER NOT NULL, v TEXT, "
            "PRIMARY KEY (grp, n))"
        )
        conn.exec_driver_sql("CREATE TABLE nokey (v TEXT)")
        conn.exec_driver_sql("CREATE VIEW seen_view AS SELECT id FROM mixed")
        table = sa.Table("mixed", sa.MetaData(), autoload_with=conn)
        # Inserted as the text they hold ("odd" has no declared type: NullType; SQLAlchemy's
        # JSON type would encode a document's text as a JSON string).
        table.c.odd.type = sa.Text()
        table.c.doc.type = sa.Text()
        conn.execute(table.insert(), ROWS)
        pairs = sa.Table("pairs", sa.MetaData(), autoload_with=conn)
        conn.execute(
            pairs.insert(),
            [{"grp": g, "n": n, "v": f"{g}{n}"} for g in ("a", "b", "c") for n in range(5)],
        )
    return engine


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "source.db"
    create(path).dispose()
    return path


@pytest.fixture
def reader(database: Path):
    with PortableExtractor(url_from_secret("sqlite", None, {"database": str(database)})) as x:
        yield x


def read(reader: PortableExtractor, plan: Any, **options: Any) -> pa.Table:
    return pa.Table.from_batches(list(reader.stream(plan, **options)), schema=plan.arrow_schema)


def test_every_mapped_type_and_null_round_trips(reader: PortableExtractor) -> None:
    plan = reader.describe(TableDecl("main", "mixed"))
    assert plan.arrow_schema == EXPECTED_SCHEMA
    assert plan.key == ("id",)
    table = read(reader, plan, batch_rows=64)
    assert table.num_rows == len(ROWS)
    assert table.to_pylist() == ROWS
    # The all-NULL row stays null in every column (no 'None' strings, no zeros).
    assert all(
        v is None
        for k, v in table.slice(1, 1).to_pylist()[0].items()
        if k not in ("id", "updated_at")
    )


def test_unmapped_type_is_read_as_text_and_says_so(reader: PortableExtractor) -> None:
    plan = reader.describe(TableDecl("main", "mixed", columns=("id", "odd", "doc")))
    odd = plan.arrow_schema.field("odd")
    assert odd.type == pa.string()
    assert odd.metadata == {b"headwater.read_as": b"text", b"headwater.source_type": b"NullType"}
    assert plan.arrow_schema.field("doc").metadata is None  # JSON's text is its mapping
    assert plan.notes == (
        "main.mixed.odd (NullType): no Arrow mapping for this type: read as text",
    )
    assert read(reader, plan).column("odd").to_pylist()[:2] == ["::1", None]


def test_keyset_continuation_reads_the_rest_in_key_order(reader: PortableExtractor) -> None:
    plan = reader.describe(TableDecl("main", "mixed", columns=("id", "name")))
    batches = list(reader.stream(plan, batch_rows=7))
    assert {b.num_rows for b in batches[:-1]} == {7}
    first = batches[3]
    after = plan.last_key(first)
    rest = read(reader, plan, after=after, batch_rows=50)
    expected = [r["id"] for r in ROWS if r["id"] > after[0]]
    assert rest.column("id").to_pylist() == expected
    assert after == (28,)


def test_composite_key_continues_after_the_whole_key(reader: PortableExtractor) -> None:
    plan = reader.describe(TableDecl("main", "pairs"))
    assert plan.key == ("grp", "n")
    rest = read(reader, plan, after=("b", 3))
    assert rest.column("v").to_pylist() == ["b4", "c0", "c1", "c2", "c3", "c4"]
    with pytest.raises(ValueError, match="key ranges need a single key column"):
        read(reader, plan, key_range=("a", "b"))


def test_key_ranges_cover_every_row_once(reader: PortableExtractor) -> None:
    decl = TableDecl("main", "mixed", columns=("id",), ranges=3, filter="id <> 150")
    plan = reader.describe(decl)
    low, high = reader.key_bounds(plan)
    assert (low, high) == (1, 300)
    ranges = split_key_range(low, high, 3)
    parts = [read(reader, plan, key_range=r).column("id").to_pylist() for r in ranges]
    assert all(parts) and len(parts) == 3
    assert [i for part in parts for i in part] == [r["id"] for r in ROWS if r["id"] != 150]


def test_incremental_reads_rows_changed_since_the_mark(reader: PortableExtractor) -> None:
    decl = TableDecl(
        "main", "mixed", columns=("id", "updated_at"), mode="incremental", cursor="updated_at"
    )
    plan = reader.describe(decl)
    since = BASE + dt.timedelta(minutes=290)
    table = read(reader, plan, since=since)
    assert table.column("id").to_pylist() == list(range(291, 301))
    assert read(reader, plan, since=since, after=(295,)).num_rows == 5


def test_catalog_and_refusals(reader: PortableExtractor) -> None:
    assert reader.list_tables("main") == ["main.mixed", "main.nokey", "main.pairs"]
    with pytest.raises(TableNotFound):
        reader.describe(TableDecl("main", "absent"))
    with pytest.raises(ExtractionError, match="no primary key"):
        reader.describe(TableDecl("main", "nokey"))
    with pytest.raises(ExtractionError, match=r"no such column\(s\) \['nope'\]"):
        reader.describe(TableDecl("main", "mixed", columns=("id", "nope")))
    with pytest.raises(ExtractionError, match="must include the primary key"):
        reader.describe(TableDecl("main", "mixed", columns=("name",)))
    with pytest.raises(ExtractionError, match="cannot order a keyset"):
        reader.describe(TableDecl("main", "mixed", key=("odd",)))
    with pytest.raises(ExtractionError, match="may be null"):
        reader.describe(TableDecl("main", "mixed", key=("name",)))
    with pytest.raises(ExtractionError, match="needs a single integer key"):
        reader.describe(TableDecl("main", "pairs", ranges=2))


def test_values_a_type_cannot_hold_are_refused_naming_the_column() -> None:
    columns = (
        portable.PortableColumn("d", "NUMERIC(6, 2)", pa.decimal128(6, 2), "decimal", True),
        portable.PortableColumn("n", "NUMERIC", pa.string(), "numeric_text", True),
        portable.PortableColumn("i", "SMALLINT", pa.int16(), "value", True),
    )
    plan = portable.PortablePlan(TableDecl("s", "t"), columns, ("i",), sa.table("t"))
    ok = plan.to_batch([(decimal.Decimal("1.50"), "1e400", 1), (None, None, None)])
    assert ok.to_pylist() == [
        {"d": decimal.Decimal("1.50"), "n": "1e400", "i": 1},
        {"d": None, "n": None, "i": None},
    ]
    cases = [
        ((decimal.Decimal("NaN"), None, 1), "'d' holds decimal NaN"),
        ((decimal.Decimal("-Infinity"), None, 1), "'d' holds decimal -Infinity"),
        ((decimal.Decimal("12345.6"), None, 1), "'d' holds a value out of the type's range"),
        ((None, "NaN", 1), "'n' holds numeric NaN"),
        ((None, "-Infinity", 1), "'n' holds numeric -Infinity"),
        ((None, None, 40000), "'i' holds a value out of the type's range"),
    ]
    for row, message in cases:
        with pytest.raises(UnrepresentableValue, match=message):
            plan.to_batch([row])


class CountingCursor(sqlite3.Cursor):
    fetched = 0

    def fetchone(self) -> Any:
        row = super().fetchone()
        CountingCursor.fetched += row is not None
        return row

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = super().fetchmany(self.arraysize if size is None else size)
        CountingCursor.fetched += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        rows = super().fetchall()
        CountingCursor.fetched += len(rows)
        return rows


class CountingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = CountingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def test_stream_fetches_one_batch_at_a_time(database: Path) -> None:
    engine = sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(database, factory=CountingConnection)
    )
    reader = PortableExtractor(engine)
    plan = reader.describe(TableDecl("main", "mixed", columns=("id",)))
    CountingCursor.fetched = 0
    batches = reader.stream(plan, batch_rows=40)
    first = next(batches)
    assert first.num_rows == 40
    assert CountingCursor.fetched == 40  # not the table's 300 rows
    next(batches)
    assert CountingCursor.fetched == 80
    batches.close()
    reader.close()
    engine.dispose()


SOURCE = """
[source]
name = "shop"
engine = "{engine}"
{extra}

[[tables]]
name = "main.mixed"
"""


def source(engine: str, extra: str = "") -> Any:
    text = SOURCE.format(engine=engine, extra=extra)
    return parse_source_documents([("shop.toml", text)])["shop"]


def test_declaration_picks_the_driver_and_the_factory_follows(database: Path) -> None:
    pg = source("postgresql")
    assert (pg.driver, pg.dbapi) == ("adbc", None)
    secret = {"host": "db", "dbname": "d", "username": "u", "password": "pw-secret"}
    adbc = open_extractor(pg, secret)
    assert isinstance(adbc, PostgresExtractor) and adbc.secrets == ("pw-secret",)
    via_sqla = open_extractor(
        source("postgresql", 'driver = "sqlalchemy"\ndbapi = "psycopg"'), secret
    )
    assert isinstance(via_sqla, PortableExtractor) and via_sqla.secrets == ("pw-secret",)
    assert via_sqla.dialect == "postgresql"
    assert "pw-secret" not in repr(via_sqla._engine.url)
    mysql = source("mysql", 'dbapi = "pymysql"')
    assert (mysql.driver, mysql.dbapi) == ("sqlalchemy", "pymysql")
    url = url_from_secret("mysql", "pymysql", {**secret, "port": "3307"})
    assert (url.drivername, url.host, url.port, url.database) == ("mysql+pymysql", "db", 3307, "d")
    lite = open_extractor(source("sqlite"), {"database": str(database)})
    assert isinstance(lite, PortableExtractor) and lite.secrets == ()
    assert lite.list_tables("main")[0] == "main.mixed"
    lite.close()


def test_declaration_refuses_a_driver_the_engine_has_not() -> None:
    with pytest.raises(DeclarationError) as caught:
        parse_source_documents(
            [
                ("a.toml", SOURCE.format(engine="mysql", extra='driver = "adbc"')),
                ("b.toml", SOURCE.format(engine="sqlite", extra='driver = "odbc"')),
                ("c.toml", SOURCE.format(engine="postgresql", extra='dbapi = "psycopg"')),
                ("d.toml", SOURCE.format(engine="sqlite", extra='dbapi = "No Such"')),
            ]
        )
    problems = caught.value.problems
    assert problems[0].startswith("a.toml: source.driver: 'adbc' reads postgresql only")
    assert problems[1] == "b.toml: source.driver: one of adbc, sqlalchemy"
    assert problems[2] == "c.toml: source.dbapi: only with driver = 'sqlalchemy'"
    assert problems[3].startswith("d.toml: source.dbapi: a SQLAlchemy DB-API name")
    assert len(problems) == 4


def test_a_sqlite_source_is_opened_read_only(tmp_path: Path, database: Path) -> None:
    missing = tmp_path / "no such.db"
    with (
        PortableExtractor(url_from_secret("sqlite", None, {"database": str(missing)})) as reader,
        pytest.raises(ConnectionFailed, match=r"could not open file:.*no%20such\.db"),
    ):
        reader.list_tables("main")
    assert not missing.exists()  # not created
    reader = PortableExtractor(url_from_secret("sqlite", None, {"database": str(database)}))
    with reader._connection() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.exec_driver_sql("DELETE FROM mixed")
    reader.close()


def test_secret_errors_name_keys_never_values() -> None:
    with pytest.raises(ValueError, match="SQLite file's path"):
        url_from_secret("sqlite", None, {"password": "x"})
    with pytest.raises(ValueError) as caught:
        url_from_secret("mysql", None, {"host": "h", "password": "pw-secret", "port": "x"})
    assert "pw-secret" not in str(caught.value)
    assert "dbname or database" in str(caught.value) and "port" in str(caught.value)
