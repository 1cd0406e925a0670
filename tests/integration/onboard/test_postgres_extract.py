"""Extraction from a real PostgreSQL through ADBC: types and NULLs, rejected values, keyset
continuation, key ranges, incremental reads, an empty and a million-row table, odd names."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import itertools
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from headwater.local.postgres import Server
from headwater.onboard import postgres as pg
from headwater.onboard.declarations import TableDecl


class Database:
    def __init__(self, server: Server, settings: dict[str, Any]) -> None:
        self.server, self.settings = server, settings
        self.name = settings["dbname"]
        self._stack = contextlib.ExitStack()
        self.conn = self._stack.enter_context(
            pg.connect(pg.ConnectionSettings.from_secret(settings))
        )

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self.server.execute(sql, self.name)

    def plan(self, table: str, **fields: Any) -> pg.TablePlan:
        schema, _, name = table.partition(".")
        return pg.describe(self.conn, TableDecl(schema, name, **fields))

    def rows(self, plan: pg.TablePlan, **options: Any) -> pa.Table:
        batches = list(pg.stream(self.conn, plan, **options))
        return pa.Table.from_batches(batches, schema=plan.arrow_schema)


@pytest.fixture
def db(postgres_server, postgres_db):
    database = Database(postgres_server, postgres_db)
    yield database
    database._stack.close()


# -- types -----------------------------------------------------------------------------------
MIXED = """
CREATE TABLE mixed (
  id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, n numeric(12,2), nbig numeric(50,10),
  nfree numeric, f4 real, f8 float8, t text, vc varchar(20), ch char(3), b bytea, u uuid,
  j json, jb jsonb, d date, ts timestamp, tz timestamptz, iv interval, ai int[], at text[],
  an numeric(6,2)[], bo bool, other inet
)"""
# Hand-picked edges, a row of NULLs in every column, then generated rows.
MIXED_ROWS = r"""
INSERT INTO mixed VALUES
 (1, -32768, -2147483648, -9223372036854775808, -9999999999.99,
  1234567890123456789012345678901234567890.0123456789, 0.000000000000000000001,
  'NaN', 'Infinity', 'héllo ''quoted'' \ back', '', 'ab', '\x00ff10',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '{"a": [1, 2.5, "x"]}', '{"b": {"c": null}}', '0001-01-01', '1970-01-01 00:00:00',
  '2024-02-29 23:59:59.999999+05:30', '1 year 2 mons 3 days 04:05:06.7', '{1,NULL,3}',
  '{a,"b c",""}', '{1.50,NULL}', true, '192.168.0.1/24'),
 (2, 32767, 2147483647, 9223372036854775807, 9999999999.99, -1, 123456789012345678901234567890,
  '-Infinity', 'NaN', '', 'x', '', '', '00000000-0000-0000-0000-000000000000',
  'null', '[]', '9999-12-31', '2262-04-11 23:47:16.854775', '1900-01-01 00:00:00+00',
  '-1 days -00:00:01', '{}', '{}', '{}', false, '::1'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
"""
MIXED_GENERATED = r"""
INSERT INTO mixed
SELECT g, (g % 30000)::int2, g * 7, g::int8 * 1000003,
  ((g * 7919) % 100000000)::numeric / 100 * (1 - 2 * (g % 2)), g::numeric * 123456789.0123456789,
  g::numeric / 7, (g / 7.0)::real, (g::float8 / 3) * 10 ^ (g % 40 - 20), md5(g::text),
  left(md5(g::text), 20), 'z',
  decode(md5(g::text), 'hex'), md5(g::text)::uuid,
  json_build_object('g', g), jsonb_build_object('g', g, 'h', array[g, g]),
  date '2000-01-01' + g, timestamp '2000-01-01' + g * interval '1 minute 1.000001 second',
  timestamptz '2000-01-01 00:00+00' + g * interval '1 hour 0.5 second',
  make_interval(months => g % 13, days => g % 31, secs => g / 7.0),
  array[g, g + 1], array[md5(g::text)], array[(g % 1000)::numeric / 4],
  g % 2 = 0, ('10.0.' || (g % 256) || '.1')::inet
FROM generate_series(4, 400) g
"""


def pg_text(value: Any, column: pg.Column) -> str | None:
    """A converted value as PostgreSQL's text output of the column (reference: col::text)."""
    if value is None:
        return None
    if column.is_array:
        element = dataclasses.replace(column, is_array=False)
        inner = [pg_text(v, element) if v is not None else "NULL" for v in value]
        return "{" + ",".join(_array_quote(v) for v in inner) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"  # bool::text (psql shows t/f)
    if isinstance(value, float):
        # PostgreSQL prints the shortest text that reads back exactly (12+), with its own
        # exponent threshold: compare the numbers that text stands for.
        return float_text(value, column.pg_type)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = str(value)  # PostgreSQL drops the fraction's trailing zeros
        return text.rstrip("0") if value.microsecond else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def float_text(value: float, pg_type: str) -> str:
    return repr(float(np.float32(value)) if pg_type == "float4" else float(value))


def _array_quote(text: str) -> str:
    if text == "NULL":
        return text
    if text == "" or any(c in text for c in ' {},"\\'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def reference_sql(plan: pg.TablePlan) -> str:
    """Every column as PostgreSQL's own text; timestamptz in UTC, intervals left out (checked
    against the inserted values: their text is not Arrow's)."""
    exprs = []
    for c in plan.columns:
        q = pg.quote_identifier(c.name)
        if c.pg_type == "timestamptz":
            exprs.append(f"({q} AT TIME ZONE 'UTC')::text")
        elif c.pg_type == "interval":
            exprs.append(
                f"(extract(year from {q}) * 12 + extract(month from {q}))::text || ' ' || "
                f"extract(day from {q})::text || ' ' || "
                f"(extract(epoch from {q}) - extract(epoch from date_trunc('day', {q})))::text"
            )
        elif c.pg_type == "bpchar":  # ::text drops char(n)'s padding; the value keeps it
            exprs.append(f"rpad({q}::text, {c.typmod - 4})")
        else:
            exprs.append(f"{q}::text")
    return f"SELECT {', '.join(exprs)} FROM mixed ORDER BY mixed.id"


def interval_text(value: Any) -> str | None:
    if value is None:
        return None
    seconds = decimal.Decimal(value.nanoseconds) / decimal.Decimal(10**9)
    return f"{value.months} {value.days} {seconds.normalize():f}"


def test_every_type_and_null_round_trips_as_postgresql_prints_it(db) -> None:
    db.execute(MIXED)
    db.execute(MIXED_ROWS)
    db.execute(MIXED_GENERATED)
    plan = db.plan("public.mixed")
    assert [(f.name, str(f.type)) for f in plan.arrow_schema] == [
        ("id", "int32"),
        ("i2", "int16"),
        ("i4", "int32"),
        ("i8", "int64"),
        ("n", "decimal128(12, 2)"),
        ("nbig", "decimal256(50, 10)"),
        ("nfree", "string"),
        ("f4", "float"),
        ("f8", "double"),
        ("t", "string"),
        ("vc", "string"),
        ("ch", "string"),
        ("b", "binary"),
        ("u", "string"),
        ("j", "string"),
        ("jb", "string"),
        ("d", "date32[day]"),
        ("ts", "timestamp[us]"),
        ("tz", "timestamp[us, tz=UTC]"),
        ("iv", "month_day_nano_interval"),
        ("ai", "list<item: int32>"),
        ("at", "list<item: string>"),
        ("an", "list<item: decimal128(6, 2)>"),
        ("bo", "bool"),
        ("other", "string"),
    ]
    assert plan.arrow_schema.field("n").metadata == {b"postgresql:type": b"numeric(12,2)"}
    table = db.rows(plan, batch_rows=64)
    expected = db.execute(reference_sql(plan))
    assert table.num_rows == len(expected) == 400
    for name, column in zip(table.column_names, plan.columns, strict=True):
        values = table.column(name).to_pylist()
        position = table.column_names.index(name)
        for row, (value, reference) in enumerate(zip(values, expected, strict=True)):
            got = interval_text(value) if column.pg_type == "interval" else pg_text(value, column)
            want = reference[position]
            if column.pg_type in ("float4", "float8") and want is not None:
                want = float_text(float(want), column.pg_type)
            if column.pg_type == "interval" and want is not None:
                want = " ".join(
                    [*want.split(" ")[:2], f"{decimal.Decimal(want.split(' ')[2]).normalize():f}"]
                )
            assert got == want, (name, row + 1, value, reference[position])
    # NULL stays null in every column, and float NaN/Infinity are kept.
    nulls = table.slice(2, 1).to_pylist()[0]
    assert [k for k, v in nulls.items() if v is not None] == ["id"]
    assert np.isnan(table.column("f4")[0].as_py()) and table.column("f8")[0].as_py() == np.inf
    assert table.column("u")[0].as_py() == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@pytest.mark.parametrize(
    ("type_sql", "value", "kind"),
    [
        ("numeric(10,2)", "'NaN'", "numeric NaN"),
        ("numeric", "'Infinity'", "numeric Infinity"),
        ("numeric", "'-Infinity'", "numeric -Infinity"),
        ("numeric", "'NaN'", "numeric NaN"),
        ("numeric(4,1)[]", "'{1.5,NaN}'", "numeric NaN"),
        ("timestamp", "'infinity'", "timestamp infinity"),
        ("timestamp", "'-infinity'", "timestamp -infinity"),
        ("timestamptz", "'infinity'", "timestamptz infinity"),
        ("date", "'infinity'", "date infinity"),
        ("date", "'-infinity'", "date -infinity"),
        ("timestamp", "'294276-01-01'", "timestamp a value beyond"),
        ("timestamp[]", "'{2020-01-01,infinity}'", "timestamp infinity"),
        ("int[]", "'{{1,2},{3,4}}'", "a 2-dimensional array"),
    ],
)
def test_unrepresentable_values_are_rejected_naming_the_column(db, type_sql, value, kind) -> None:
    db.execute(f"CREATE TABLE bad (id int PRIMARY KEY, fine text, odd_col {type_sql})")
    db.execute("INSERT INTO bad SELECT g, 'x', NULL FROM generate_series(1, 100) g")
    db.execute(f"INSERT INTO bad VALUES (101, 'x', {value})")
    plan = db.plan("public.bad")
    with pytest.raises(pg.UnrepresentableValue, match=f"column 'odd_col' holds {kind}") as caught:
        db.rows(plan)
    assert caught.value.column == "odd_col"
    # Without the bad row the same table reads fine.
    assert db.rows(plan, key_range=(None, 101)).num_rows == 100


def test_domains_read_as_their_base_type_and_other_types_as_text(db) -> None:
    db.execute("CREATE DOMAIN money2 AS numeric(8,2) CHECK (VALUE >= 0)")
    db.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
    db.execute("CREATE SCHEMA other")
    db.execute("CREATE TYPE other.int4 AS (a int, b text)")  # not pg_catalog's int4
    db.execute(
        "CREATE TABLE extra (id int PRIMARY KEY, m money2, e mood, ea mood[], c other.int4, "
        "tt timetz, bits bit(4))"
    )
    db.execute(
        "INSERT INTO extra VALUES (1, 12.5, 'happy', '{sad,happy}', '(1,x)', '12:00+02', "
        "B'1010'), (2, NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    plan = db.plan("public.extra")
    assert [str(f.type) for f in plan.arrow_schema][1:] == ["decimal128(8, 2)", *["string"] * 5]
    assert db.rows(plan).to_pylist()[0] == {
        "id": 1,
        "m": decimal.Decimal("12.50"),
        "e": "happy",
        "ea": "{sad,happy}",
        "c": "(1,x)",
        "tt": "12:00:00+02",
        "bits": "1010",
    }


def test_adbc_traps_this_path_depends_on(db) -> None:
    """Pins ADBC 1.13's behaviour that stream() corrects: if an upgrade changes one, this fails
    and the conversion (or the literal SQL) must be revisited."""
    db.execute(
        "CREATE TABLE traps (id int PRIMARY KEY, n numeric(8,2), ts timestamp, tz timestamptz, "
        "d date, u uuid, j jsonb)"
    )
    db.execute(
        "INSERT INTO traps VALUES (1, 'NaN', 'infinity', '-infinity', 'infinity', "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{}'), "
        "(2, 1.5, NULL, NULL, '-infinity', NULL, NULL)"
    )
    with contextlib.closing(db.conn.cursor()) as cursor:
        cursor.execute("SELECT n, ts, tz, d, u, j FROM traps ORDER BY id")
        raw = cursor.fetch_arrow_table()
    # numeric arrives as an opaque extension type over its text; NaN as 'nan'.
    assert isinstance(raw.schema.field("n").type, pa.BaseExtensionType)
    assert raw.schema.field("n").type.storage_type == pa.string()
    assert raw.column("n").combine_chunks().storage.to_pylist() == ["nan", "1.50"]
    # infinity wraps silently into a value before PostgreSQL's first date.
    assert raw.column("ts").cast(pa.int64()).to_pylist()[0] == pg.TIMESTAMP_INFINITY
    assert raw.column("tz").cast(pa.int64()).to_pylist()[0] == pg.TIMESTAMP_MINUS_INFINITY
    assert raw.column("d").cast(pa.int32()).to_pylist() == [
        pg.DATE_INFINITY,
        pg.DATE_MINUS_INFINITY,
    ]
    assert pg.TIMESTAMP_INFINITY < pg.MIN_TIMESTAMP_MICROS and pg.DATE_INFINITY < pg.MIN_DATE_DAYS
    # uuid and jsonb arrive as extension types (uuid over 16 bytes).
    assert raw.schema.field("u").type.extension_name == "arrow.uuid"
    assert raw.schema.field("j").type.extension_name == "arrow.json"
    # A query with bind parameters comes back as one batch (the whole result in memory): why
    # stream() writes its values as quoted literals.
    db.execute(
        "CREATE TABLE many AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 60000) g"
    )
    with contextlib.closing(db.conn.cursor()) as cursor:
        cursor.adbc_statement.set_options(**{pg.BATCH_HINT_OPTION: str(64 << 10)})
        cursor.execute("SELECT * FROM many WHERE id > $1", parameters=(0,))
        assert len(list(cursor.fetch_record_batch())) == 1
        cursor.execute("SELECT * FROM many WHERE id > 0")
        assert len(list(cursor.fetch_record_batch())) > 10


# -- continuation, ranges, incremental --------------------------------------------------------
def make_keyed(db, rows: int = 1000) -> None:
    db.execute(
        "CREATE TABLE keyed (region text, n int, v text, updated timestamptz NOT NULL, "
        "PRIMARY KEY (region, n))"
    )
    db.execute(
        "INSERT INTO keyed SELECT (ARRAY['o''brien', 'back\\slash', 'x'', DROP TABLE keyed; --',"
        f" 'plain'])[1 + g % 4], g, md5(g::text), timestamptz '2024-01-01' + g * interval '1 s' "
        f"FROM generate_series(1, {rows}) g"
    )


def test_keyset_continuation_returns_the_rest_exactly_once(db) -> None:
    make_keyed(db)
    plan = db.plan("public.keyed")
    assert plan.key == ("region", "n")
    everything = db.rows(plan)
    assert everything.num_rows == 1000
    batches = pg.stream(db.conn, plan, batch_rows=128)
    first = [next(batches) for _ in range(3)]
    batches.close()
    after = plan.last_key(first[-1])
    rest = db.rows(plan, after=after, batch_rows=128)
    combined = pa.Table.from_batches([*first, *rest.to_batches()], schema=plan.arrow_schema)
    assert combined.equals(everything)
    keys = list(zip(combined["region"].to_pylist(), combined["n"].to_pylist(), strict=True))
    assert keys == sorted(set(keys), key=lambda k: (k[0].encode(), k[1]))
    # From every batch boundary (each of the four regions, quote and backslash ones included).
    boundaries = list(pg.stream(db.conn, plan, batch_rows=100))
    assert {b.column("region")[-1].as_py() for b in boundaries} == {
        "o'brien",
        "back\\slash",
        "x', DROP TABLE keyed; --",
        "plain",
    }
    for i, batch in enumerate(boundaries):
        rest = db.rows(plan, after=plan.last_key(batch))
        assert rest.equals(pa.Table.from_batches(boundaries[i + 1 :], schema=plan.arrow_schema))
    # Continuing after the last key yields nothing; the injection-looking key stayed a value.
    assert db.rows(plan, after=plan.last_key(everything.to_batches()[-1])).num_rows == 0
    assert db.execute("SELECT count(*) FROM keyed") == [(1000,)]


def test_a_checkpointed_key_of_any_key_type_continues_exactly(db) -> None:
    db.execute(
        "CREATE TABLE ck (at timestamptz, b bytea, n numeric(6,2), u uuid, d date, v int, "
        "PRIMARY KEY (at, b, n, u, d))"
    )
    db.execute(
        "INSERT INTO ck SELECT timestamptz '2024-01-01 00:00:00.5+00' + (g / 4) * interval '1 us',"
        " decode(lpad(to_hex(g % 3), 2, '0') || '5c27', 'hex'), (g % 5) / 4.0, md5(g::text)::uuid,"
        " date '2024-01-01' + g % 2, g FROM generate_series(1, 40) g"
    )
    plan = db.plan("public.ck")
    everything = db.rows(plan)
    batches = list(pg.stream(db.conn, plan, batch_rows=7))
    for i, batch in enumerate(batches):
        stored = json.loads(json.dumps(pg.encode_key(plan.last_key(batch))))
        rest = db.rows(plan, after=stored)
        assert rest.equals(everything.slice(min(7 * (i + 1), everything.num_rows)))


def test_key_ranges_cover_the_table_exactly_once(db) -> None:
    db.execute("CREATE TABLE ranged (id bigint PRIMARY KEY, v int)")
    db.execute("INSERT INTO ranged SELECT g * 3 - 50, g FROM generate_series(1, 5000) g")
    plan = db.plan("public.ranged", ranges=3, filter="v % 5 <> 0")
    expected = [g * 3 - 50 for g in range(1, 5001) if g % 5 != 0]
    low, high = pg.key_bounds(db.conn, plan)
    assert (low, high) == (expected[0], expected[-1])
    ranges = pg.split_key_range(low, high, 3)
    assert len(ranges) == 3 and ranges[0][0] is None and ranges[-1][1] is None
    parts = [db.rows(plan, key_range=r, batch_rows=500) for r in ranges]
    # A range continued after its checkpoint reads the rest of that range only.
    middle = parts[1]["id"].to_pylist()
    rest = db.rows(plan, key_range=ranges[1], after=(middle[99],))["id"].to_pylist()
    assert rest == middle[100:]
    assert all(p.num_rows > 1000 for p in parts)
    ids = list(itertools.chain.from_iterable(p["id"].to_pylist() for p in parts))
    assert ids == expected
    # More ranges than keys: one range per key at most; no bounds: one unbounded range.
    assert pg.split_key_range(1, 2, 8) == [(None, 2), (2, None)]
    assert pg.split_key_range(None, None, 4) == [(None, None)]


def test_incremental_reads_rows_changed_after_the_watermark(db) -> None:
    make_keyed(db, rows=100)
    plan = db.plan("public.keyed", mode="incremental", cursor="updated")
    mark = dt.datetime(2024, 1, 1, 0, 1, 0, tzinfo=dt.UTC)  # rows 61.. are newer
    newer = db.rows(plan, since=mark)
    assert sorted(newer["n"].to_pylist()) == list(range(61, 101))
    db.execute("UPDATE keyed SET updated = now(), v = 'changed' WHERE n = 5")
    changed = db.rows(plan, since=mark)
    assert sorted(changed["n"].to_pylist()) == [5, *range(61, 101)]
    assert "WHERE \"updated\" > E'2024-01-01T00:01:00+00:00'::timestamp with time zone" in (
        plan.select_sql(low_watermark=mark)
    )


def test_empty_table_yields_no_batches(db) -> None:
    db.execute("CREATE TABLE empty_table (id int PRIMARY KEY, v text)")
    plan = db.plan("public.empty_table")
    assert list(pg.stream(db.conn, plan)) == []
    assert pg.key_bounds(db.conn, plan) == (None, None)
    assert pg.list_tables(db.conn, "public") == ["public.empty_table"]


def test_a_million_rows_stream_in_bounded_batches_in_key_order(db) -> None:
    db.execute(
        "CREATE TABLE big AS SELECT g::int8 AS id, md5(g::text) AS v, (g % 1000)::numeric(8,2) "
        "AS amount, timestamptz '2024-01-01' + g * interval '1 s' AS at "
        "FROM generate_series(1, 1000000) g"
    )
    db.execute("ALTER TABLE big ADD PRIMARY KEY (id)")
    plan = db.plan("public.big")
    rows, batches, previous = 0, 0, 0
    for batch in pg.stream(db.conn, plan, batch_rows=50_000):
        assert 0 < batch.num_rows <= 50_000
        ids = batch.column("id")
        assert ids[0].as_py() == previous + 1
        assert pc.all(pc.equal(pc.subtract(ids.slice(1), ids.slice(0, len(ids) - 1)), 1)).as_py()
        previous = ids[-1].as_py()
        rows += batch.num_rows
        batches += 1
    assert (rows, previous) == (1_000_000, 1_000_000)
    assert batches >= 20  # ADBC's ~4 MB batches, not the table at once
    # The server reads in key order through the index (a sort would produce every row before
    # sending the first), and stopping early (a worker's time budget) cancels its COPY (else the
    # connection reads the rest of the table before its next query). A sequence counts the rows
    # the server produced (sequences ignore transactions); the view's planner would sort.
    db.execute("CREATE SEQUENCE produced")
    db.execute("CREATE VIEW counted AS SELECT * FROM big WHERE nextval('produced') > 0")
    counted = dataclasses.replace(plan, decl=TableDecl("public", "counted"))
    early = pg.stream(db.conn, counted, batch_rows=1000)
    assert next(early).column("id")[0].as_py() == 1
    early.close()
    assert db.rows(plan, after=(999_998,))["id"].to_pylist() == [999_999, 1_000_000]
    ((produced,),) = db.execute("SELECT last_value FROM produced")
    assert produced < 500_000


# -- names, declarations against the catalog, connections -------------------------------------
def test_odd_names_are_quoted_never_executed(db) -> None:
    table = 'we"ird; DROP TABLE victim; --'
    column = 'o\'dd "col"'
    db.execute("CREATE TABLE victim (id int)")
    db.execute(
        f"CREATE TABLE {pg.quote_identifier(table)} "
        f'({pg.quote_identifier(column)} int PRIMARY KEY, "x" text)'
    )
    db.execute(f"INSERT INTO {pg.quote_identifier(table)} VALUES (1, 'a'), (2, 'b')")
    assert pg.list_tables(db.conn, "public") == ["public.victim", f"public.{table}"]
    plan = db.plan(f"public.{table}", columns=(column, "x"))
    assert db.rows(plan, after=(1,)).to_pylist() == [{column: 2, "x": "b"}]
    assert db.rows(plan, key_range=(None, 2)).num_rows == 1
    assert db.execute("SELECT count(*) FROM victim") == [(0,)]
    # A name that does not exist is just a missing table.
    with pytest.raises(pg.TableNotFound):
        db.plan("public.victim; DROP TABLE victim")


def test_declarations_that_do_not_fit_the_catalog_are_refused(db) -> None:
    db.execute("CREATE TABLE nokey (id int, tag text, n int NOT NULL, j jsonb)")
    db.execute("CREATE TABLE keyed (id int PRIMARY KEY, name text NOT NULL)")
    cases = [
        ("public.missing", {}, pg.TableNotFound, "does not exist"),
        ("public.keyed", {"columns": ("id", "nope")}, pg.ExtractionError, r"no such column\(s\)"),
        ("public.keyed", {"columns": ("name",)}, pg.ExtractionError, "include the primary key"),
        ("public.nokey", {}, pg.ExtractionError, "has no primary key"),
        ("public.nokey", {"key": ("id",)}, pg.ExtractionError, "may be null"),
        ("public.nokey", {"key": ("j",)}, pg.ExtractionError, "cannot order a keyset"),
        ("public.keyed", {"key": ("name",), "ranges": 2}, pg.ExtractionError, "integer key"),
    ]
    for table, fields, error, message in cases:
        with pytest.raises(error, match=message):
            db.plan(table, **fields)
    assert db.plan("public.nokey", key=("n",)).key == ("n",)


def test_connection_settings_hide_the_password(db) -> None:
    secret = dict(db.settings, password="wrong-S3cret!")
    settings = pg.ConnectionSettings.from_secret(secret)
    assert "S3cret" not in repr(settings) and "S3cret" not in str(settings)
    assert "S3cret" in settings.uri()
    with pytest.raises(pg.ConnectionFailed) as caught, pg.connect(settings):
        pass
    assert "password authentication failed" in str(caught.value)
    assert "S3cret" not in str(caught.value) and caught.value.__cause__ is None
    rds = {"host": "h", "port": "5432", "database": "d", "user": "u", "password": "p"}
    assert pg.ConnectionSettings.from_secret(rds).sslmode == "require"
    with pytest.raises(ValueError, match="host, password, port") as missing:
        pg.ConnectionSettings.from_secret({"dbname": "dbvalue", "username": "u", "port": "x1"})
    assert "dbvalue" not in str(missing.value) and "x1" not in str(missing.value)
