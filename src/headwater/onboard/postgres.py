"""Read a declared PostgreSQL table as Arrow record batches, through the ADBC driver.

The data path (chosen by benchmark, see bench/README.md): ADBC's PostgreSQL driver runs a query
as ``COPY (<query>) TO STDOUT (FORMAT binary)`` and decodes the stream into Arrow record batches
of about ``BATCH_HINT_BYTES``; each batch is converted to the table's target schema
(``TablePlan.arrow_schema``) and handed on, so memory stays bounded whatever the table's size.

Type mapping (PostgreSQL -> Arrow), NULL always null:

- int2/int4/int8 -> int16/int32/int64; float4/float8 -> float32/float64 (NaN and +-Infinity kept:
  Arrow floats represent them); bool -> bool;
- numeric(p,s) -> decimal128(p,s) (p <= 38) or decimal256(p,s) (p <= 76). numeric without a
  precision (or with p > 76, a negative scale or a scale above the precision, which Parquet's
  decimal cannot hold) -> string: its exact decimal text, as PostgreSQL prints it, because such a
  column has no fixed scale (each value keeps its own, up to 16383 digits after the point), and
  any fixed decimal type or a float would round or overflow some value. Lossless; readers parse
  the text when they need a number. Numeric NaN and +-Infinity have no decimal representation:
  they are rejected (``UnrepresentableValue``), in both the decimal and the string case;
- text, varchar, char (padding kept) -> string; bytea -> binary; uuid -> string (canonical
  8-4-4-4-12 lower case, selected as ``uuid::text``: ADBC would deliver 16 bytes in an
  extension type); json, jsonb -> string (the document's text);
- date -> date32; timestamp -> timestamp[us]; timestamptz -> timestamp[us, UTC]; time ->
  time64[us]. PostgreSQL's ``infinity``/``-infinity`` (and timestamps beyond year 294247) do not
  fit: ADBC wraps them silently into bogus values far before 4713 BC, which ``stream`` detects
  and rejects (``UnrepresentableValue``) instead of writing a wrong date;
- interval -> month_day_nano_interval; arrays of the above -> list<...>: one dimension (ADBC
  would flatten a multi-dimensional value, losing its shape: rejected, ``UnrepresentableValue``);
- a domain reads as its base type; any other type (enums, inet, money, xml, arrays of those,
  user types, ...) is selected as ``column::text`` -> string, PostgreSQL's own text form.

SQL: identifiers always double-quoted (``"`` doubled); the values of a query (keyset position,
key range bounds, the incremental low watermark) are typed literals, ``E'...'::<type>`` with
``'`` and ``\\`` doubled. They are not bind parameters because ADBC runs a query with bound
parameters as one prepared statement and returns its whole result as a single batch (the table
in memory), while a query without parameters streams through COPY. The values never come from an
event: they are key values read from the table itself or the stored high-water mark.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import itertools
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from headwater.onboard.declarations import TableDecl

# ADBC's PostgreSQL driver cuts its record batches at about this many bytes (its default is 16
# MB); a few MB keeps the worker's memory flat and the Parquet row groups reasonable.
BATCH_HINT_BYTES = 4 << 20
BATCH_HINT_OPTION = "adbc.postgresql.batch_size_hint_bytes"
APPLICATION_NAME = "headwater-onboard"
CONNECT_TIMEOUT_SECONDS = 10

# PostgreSQL's own range for date and timestamp (4713 BC .. 5874897 AD / 294276 AD), in Arrow's
# units since 1970-01-01. ADBC converts from PostgreSQL's epoch (2000-01-01) by adding the
# difference without an overflow check, so PostgreSQL's infinity (the type's maximum) wraps to a
# large negative value, below these minimums.
PG_EPOCH_DAYS = 10957
PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400_000_000
MIN_DATE_DAYS = -2_451_545 + PG_EPOCH_DAYS  # 4713-11-24 BC
MIN_TIMESTAMP_MICROS = -211_813_488_000_000_000 + PG_EPOCH_MICROS  # 4714-11-24 00:00 BC
# What ADBC makes of PostgreSQL's infinity and -infinity (the type's max and min, shifted).
_I32, _I64 = 2**32, 2**64
DATE_INFINITY = (2**31 - 1 + PG_EPOCH_DAYS) - _I32
DATE_MINUS_INFINITY = -(2**31) + PG_EPOCH_DAYS
TIMESTAMP_INFINITY = (2**63 - 1 + PG_EPOCH_MICROS) - _I64
TIMESTAMP_MINUS_INFINITY = -(2**63) + PG_EPOCH_MICROS

INTEGER_TYPES = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64()}
SIMPLE_TYPES: Mapping[str, pa.DataType] = {
    **INTEGER_TYPES,
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "bytea": pa.binary(),
    "interval": pa.month_day_nano_interval(),
    "time": pa.time64("us"),
}
# Column kinds that need converting from what ADBC delivers.
KIND_BY_TYPE = {
    "numeric": "numeric",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "json",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamp",
}
# Key columns must have a total order that survives a round trip through a literal.
KEY_TYPES = frozenset(
    {*INTEGER_TYPES, "numeric", "text", "varchar", "bpchar", "uuid", "date", "timestamp"}
    | {"timestamptz", "bytea", "bool", "float4", "float8"}
)
NUMERIC_SPECIALS = ("nan", "inf", "-inf", "NaN", "Infinity", "-Infinity")


# -- errors ----------------------------------------------------------------------------------
class ExtractionError(Exception):
    """A declared table cannot be read as declared (a declaration or database problem)."""


class TableNotFound(ExtractionError):
    pass


class UnrepresentableValue(ExtractionError):
    """A value that the column's target type cannot hold (numeric NaN/Infinity, date or
    timestamp infinity): rejected explicitly rather than written wrong."""

    def __init__(self, column: str, value_kind: str, target: str = "") -> None:
        self.column = column
        self.value_kind = value_kind
        where = f" ({target})" if target else ""
        super().__init__(
            f"column {column!r} holds {value_kind}, which its target type{where} cannot "
            "represent: the table is refused rather than written with a wrong value"
        )


class ConnectionFailed(ExtractionError):
    pass


# -- connection ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionSettings:
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    sslmode: str = "require"

    def __repr__(self) -> str:
        return (
            f"ConnectionSettings(host={self.host!r}, port={self.port}, "
            f"database={self.database!r}, user={self.user!r}, password='***', "
            f"sslmode={self.sslmode!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> ConnectionSettings:
        """From a Secrets Manager secret's JSON (the AWS RDS shape: host, port, dbname or
        database, username or user, password; optional sslmode). Errors name keys, not values."""
        fields, missing = secret_fields(secret, default_port=5432)
        sslmode = secret.get("sslmode", "require")
        allowed = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
        if sslmode not in allowed:
            missing.append(f"sslmode (one of {', '.join(allowed)})")
        if missing:
            raise ValueError(f"database secret lacks or has an invalid {', '.join(missing)}")
        return cls(
            fields["host"],
            fields["port"],
            fields["database"],
            fields["user"],
            fields["password"],
            sslmode,
        )

    def uri(self) -> str:
        """The libpq URI ADBC connects with (holds the password: never log it)."""
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{quote(self.host, safe='')}:{int(self.port)}/{quote(self.database, safe='')}"
            f"?sslmode={quote(self.sslmode, safe='')}&connect_timeout={CONNECT_TIMEOUT_SECONDS}"
            f"&application_name={APPLICATION_NAME}"
        )


def secret_fields(
    secret: Mapping[str, Any], *, default_port: int | None
) -> tuple[dict[str, Any], list[str]]:
    """A connection's fields from a Secrets Manager secret's JSON (the AWS RDS shape: host,
    port, dbname or database, username or user, password), with what is missing or invalid:
    problems name keys, never values."""
    fields: dict[str, Any] = {
        "host": secret.get("host"),
        "database": secret.get("dbname", secret.get("database")),
        "user": secret.get("username", secret.get("user")),
        "password": secret.get("password"),
    }
    labels = {"database": "dbname or database", "user": "username or user"}
    problems = [labels.get(k, k) for k, v in fields.items() if not isinstance(v, str) or not v]
    port = secret.get("port", default_port)
    try:
        fields["port"] = None if port is None else int(port)
    except (TypeError, ValueError):
        problems.append("port (an integer)")
    return fields, problems


@contextlib.contextmanager
def connect(settings: ConnectionSettings) -> Iterator[Any]:
    """An ADBC DB-API connection (autocommit: each query is its own snapshot, no transaction
    left open). A failure to connect is a ConnectionFailed without the password in it."""
    from adbc_driver_postgresql import dbapi

    try:
        conn = dbapi.connect(settings.uri(), autocommit=True)
    except Exception as exc:
        message = str(exc).replace(settings.password, "***") if settings.password else str(exc)
        raise ConnectionFailed(
            f"could not connect to {settings.host}:{settings.port}/{settings.database} as "
            f"{settings.user}: {message.strip()}"
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def _query(conn: Any, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """A small catalog query (bind parameters are fine here: its result is a few rows)."""
    with contextlib.closing(conn.cursor()) as cursor:
        cursor.execute(sql, parameters=parameters)
        return [tuple(row) for row in cursor.fetchall()]


# -- SQL -------------------------------------------------------------------------------------
def quote_identifier(name: str) -> str:
    if "\x00" in name:
        raise ValueError("an identifier cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def literal_text(value: Any) -> str:
    """The PostgreSQL input text of a key or watermark value (parsed by the column's type)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot use a {type(value).__name__} as a key or watermark value")


def encode_key(values: Sequence[Any]) -> list[int | str]:
    """A key (``TablePlan.last_key``) as JSON-safe values for a checkpoint: integers as they
    are, anything else as PostgreSQL's input text of the value. ``stream(after=...)`` takes either
    form: every value is cast to its column's type in the SQL."""
    return [
        v if isinstance(v, int) and not isinstance(v, bool) else literal_text(v) for v in values
    ]


def quote_literal(value: Any, type_sql: str) -> str:
    """``E'<text>'::<type>``: the E form reads backslashes the same way whatever the server's
    standard_conforming_strings, and doubling ``\\`` and ``'`` leaves no way out of the string."""
    text = literal_text(value)
    if "\x00" in text:
        raise ValueError("a value cannot contain NUL")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'::" + type_sql


# -- plan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # pg_type.typname (arrays: the element's, with is_array)
    type_sql: str  # format_type(): "numeric(12,2)", "timestamp with time zone", "integer[]"
    typmod: int
    not_null: bool
    arrow_type: pa.DataType
    kind: str  # plain | numeric | uuid | json | date | timestamp | text (selected as ::text)
    is_array: bool = False

    @property
    def precision(self) -> int | None:
        if self.pg_type != "numeric" or self.typmod < 4:
            return None
        return ((self.typmod - 4) >> 16) & 0xFFFF

    @property
    def scale(self) -> int | None:
        if self.pg_type != "numeric" or self.typmod < 4:
            return None
        raw = (self.typmod - 4) & 0x7FF
        return raw - 0x800 if raw & 0x400 else raw  # 11-bit signed (negative scales, PG 15)

    @property
    def select_expr(self) -> str:
        quoted = quote_identifier(self.name)
        if self.kind == "text":
            return f"{quoted}::text AS {quoted}"
        if self.kind == "uuid":  # ADBC's uuid is 16 bytes; PostgreSQL prints the canonical text
            return f"{quoted}::text{'[]' if self.is_array else ''} AS {quoted}"
        return quoted


def _target(pg_type: str, typmod: int) -> tuple[pa.DataType, str]:
    """(Arrow type, conversion kind) of one (element) type; see the module docstring."""
    if pg_type in SIMPLE_TYPES:
        return SIMPLE_TYPES[pg_type], "plain"
    if pg_type == "numeric":
        if typmod >= 4:
            precision = ((typmod - 4) >> 16) & 0xFFFF
            raw = (typmod - 4) & 0x7FF
            scale = raw - 0x800 if raw & 0x400 else raw
            if 0 <= scale <= precision <= 38:
                return pa.decimal128(precision, scale), "numeric"
            if 0 <= scale <= precision <= 76:
                return pa.decimal256(precision, scale), "numeric"
        return pa.string(), "numeric"
    if pg_type in ("uuid", "json", "jsonb"):
        return pa.string(), KIND_BY_TYPE[pg_type]
    if pg_type == "date":
        return pa.date32(), "date"
    if pg_type == "timestamp":
        return pa.timestamp("us"), "timestamp"
    if pg_type == "timestamptz":
        return pa.timestamp("us", tz="UTC"), "timestamp"
    return pa.string(), "text"


@dataclass(frozen=True)
class TablePlan:
    decl: TableDecl
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field(c.name, c.arrow_type, metadata={"postgresql:type": c.type_sql})
                for c in self.columns
            ]
        )

    @property
    def array_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.is_array)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def from_sql(self) -> str:
        return f"{quote_identifier(self.decl.schema)}.{quote_identifier(self.decl.table)}"

    def _conditions(
        self,
        after: Sequence[Any] | None = None,
        range_lo: Any = None,
        range_hi: Any = None,
        low_watermark: Any = None,
    ) -> list[str]:
        conditions = [f"({self.decl.filter})"] if self.decl.filter else []
        keys = [self.column(k) for k in self.key]
        if after is not None:
            if len(after) != len(keys):
                raise ValueError(f"after has {len(after)} values, the key {len(keys)} columns")
            left = ", ".join(quote_identifier(c.name) for c in keys)
            right = ", ".join(
                quote_literal(v, c.type_sql) for v, c in zip(after, keys, strict=True)
            )
            conditions.append(f"({left}) > ({right})")
        if range_lo is not None or range_hi is not None:
            if len(keys) != 1:
                raise ValueError("key ranges need a single key column")
            name = quote_identifier(keys[0].name)
            if range_lo is not None:
                conditions.append(f"{name} >= {quote_literal(range_lo, keys[0].type_sql)}")
            if range_hi is not None:
                conditions.append(f"{name} < {quote_literal(range_hi, keys[0].type_sql)}")
        if low_watermark is not None:
            if self.decl.cursor is None:
                raise ValueError(f"{self.decl.qualified} has no cursor column")
            cursor = self.column(self.decl.cursor)
            conditions.append(
                f"{quote_identifier(cursor.name)} > {quote_literal(low_watermark, cursor.type_sql)}"
            )
        return conditions

    def select_sql(
        self,
        after: Sequence[Any] | None = None,
        range_lo: Any = None,
        range_hi: Any = None,
        low_watermark: Any = None,
    ) -> str:
        """``SELECT <columns> FROM <table> [WHERE (<filter>) AND (<key>) > (<after>) AND
        <key> >= <lo> AND <key> < <hi> AND <cursor> > <low_watermark>] ORDER BY <key>``.

        ``after``: the last key read (keyset continuation, exclusive); ``range_lo`` inclusive,
        ``range_hi`` exclusive; ``low_watermark`` exclusive (the caller subtracts the lookback
        window from the stored mark: rows changed in the window are read again, by design).
        """
        columns = ", ".join(
            [c.select_expr for c in self.columns]
            # ADBC flattens a multi-dimensional array into one list (its shape lost): each array
            # column brings its dimension count, checked and dropped by convert_batch.
            + [f"array_ndims({quote_identifier(c.name)})" for c in self.array_columns]
        )
        # Quoted identifiers and quoted literals only (see the module docstring).
        sql = f"SELECT {columns} FROM {self.from_sql}"  # noqa: S608
        conditions = self._conditions(after, range_lo, range_hi, low_watermark)
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return sql + " ORDER BY " + ", ".join(quote_identifier(k) for k in self.key)

    def last_key(self, batch: pa.RecordBatch) -> tuple[Any, ...]:
        """The key of a (converted) batch's last row: the ``after`` to continue from (store it
        with ``encode_key``)."""
        if batch.num_rows == 0:
            raise ValueError("an empty batch has no last key")
        return tuple(batch.column(k)[batch.num_rows - 1].as_py() for k in self.key)


# -- catalog ---------------------------------------------------------------------------------
LIST_TABLES_SQL = """
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

# Types are matched by name in pg_catalog only (a user type called "int4" elsewhere is not
# int4); a domain reads as its base type (one level), with the domain's typmod.
COLUMNS_SQL = """
SELECT a.attname,
       CASE WHEN b.typnamespace = 'pg_catalog'::regnamespace THEN b.typname ELSE '' END,
       b.typcategory,
       CASE WHEN e.typnamespace = 'pg_catalog'::regnamespace THEN e.typname ELSE '' END,
       format_type(a.atttypid, a.atttypmod),
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       a.attnotnull, c.oid::int8
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_catalog.pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

PRIMARY_KEY_SQL = """
SELECT a.attname FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = $1::oid AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""


def list_tables(conn: Any, schema: str) -> list[str]:
    """The base tables of ``schema`` (partitioned tables once, not their partitions), as
    ``schema.table``, sorted."""
    return [f"{schema}.{row[0]}" for row in _query(conn, LIST_TABLES_SQL, (schema,))]


def describe(conn: Any, decl: TableDecl) -> TablePlan:
    """The plan to read ``decl``: its columns from the catalog (declared ones, in declared order,
    or all), their target types, and the key (declared, else the primary key)."""
    rows = _query(conn, COLUMNS_SQL, (decl.schema, decl.table))
    if not rows:
        raise TableNotFound(f"table {decl.qualified!r} does not exist (or has no columns)")
    catalog: dict[str, Column] = {}
    for name, typname, category, element, type_sql, typmod, not_null, _oid in rows:
        is_array = category == "A"
        arrow_type, kind = _target(element if is_array else typname, typmod)
        if is_array:
            arrow_type = pa.list_(arrow_type) if kind != "text" else pa.string()
        catalog[name] = Column(
            name,
            element if is_array else typname,
            type_sql,
            typmod,
            bool(not_null),
            arrow_type,
            kind,
            is_array and kind != "text",
        )
    oid = rows[0][7]
    wanted, key = columns_and_key(
        decl, catalog, lambda: [row[0] for row in _query(conn, PRIMARY_KEY_SQL, (oid,))]
    )
    for name in key:
        column = catalog[name]
        if column.is_array or column.kind == "text" or column.pg_type not in KEY_TYPES:
            raise ExtractionError(
                f"{decl.qualified}: key column {name!r} has type {column.type_sql}, "
                "which cannot order a keyset"
            )
        if not column.not_null:
            raise ExtractionError(
                f"{decl.qualified}: key column {name!r} may be null: a key must be NOT NULL"
            )
    if decl.ranges > 1 and (len(key) != 1 or catalog[key[0]].pg_type not in INTEGER_TYPES):
        raise ExtractionError(
            f"{decl.qualified}: ranges = {decl.ranges} needs a single integer key column"
        )
    if decl.cursor is not None:
        cursor = catalog[decl.cursor]
        if cursor.is_array or cursor.kind == "text" or cursor.pg_type not in KEY_TYPES:
            raise ExtractionError(f"{decl.qualified}: cursor {decl.cursor!r} is not orderable")
    return TablePlan(decl, tuple(catalog[c] for c in wanted), key)


def columns_and_key(
    decl: TableDecl, catalog: Collection[str], primary_key: Callable[[], Sequence[str]]
) -> tuple[list[str], tuple[str, ...]]:
    """The columns to read and the key to order them by, for either read path: the declared
    columns (default all) and key (default the primary key, which ``primary_key`` reads and the
    columns must include); every name checked against the table's ``catalog``."""
    wanted = list(decl.columns) if decl.columns is not None else list(catalog)
    needed = [*wanted, *(decl.key or ()), *([decl.cursor] if decl.cursor else [])]
    unknown = [c for c in needed if c not in catalog]
    if unknown:
        raise ExtractionError(f"{decl.qualified}: no such column(s) {sorted(set(unknown))}")
    if decl.key is not None:
        return wanted, tuple(decl.key)
    key = tuple(primary_key())
    if not key:
        raise ExtractionError(
            f"{decl.qualified} has no primary key: declare key = [...] (columns whose values "
            "are unique and not null) so it can be read in key order and continued"
        )
    missing = [k for k in key if k not in wanted]
    if missing:
        raise ExtractionError(
            f"{decl.qualified}: columns must include the primary key column(s) {missing}"
        )
    return wanted, key


# -- streaming -------------------------------------------------------------------------------
def stream(
    conn: Any,
    plan: TablePlan,
    *,
    after: Sequence[Any] | None = None,
    key_range: tuple[Any, Any] | None = None,
    since: Any = None,
    batch_rows: int = 65536,
) -> Iterator[pa.RecordBatch]:
    """The table's rows in key order, as batches of at most ``batch_rows`` rows already in
    ``plan.arrow_schema``. ``after``: continue after this key; ``key_range=(lo, hi)``: lo <= key
    < hi (None: unbounded); ``since``: rows whose cursor is above this (incremental). An empty
    selection yields nothing. Raises UnrepresentableValue naming the column."""
    lo, hi = key_range if key_range is not None else (None, None)
    sql = plan.select_sql(after, lo, hi, since)
    with contextlib.closing(conn.cursor()) as cursor:
        # Read in key order through the key's index rather than sort the table first: a sort
        # sends nothing until it is done (a huge table would never send a row within a worker's
        # time budget, and every continuation would sort again) and spills to the source
        # database's disk. Costs only: the planner still sorts when no index fits.
        cursor.execute("SET enable_sort = off")
        cursor.adbc_statement.set_options(**{BATCH_HINT_OPTION: str(BATCH_HINT_BYTES)})
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        finished = False
        try:
            for raw in reader:
                if raw.num_rows == 0:
                    continue
                batch = convert_batch(raw, plan)
                for start in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(start, batch_rows)
            finished = True
        finally:
            if not finished:
                # Stopped early (time budget, an error): cancel the COPY, else the connection
                # reads the rest of the table before its next query.
                with contextlib.suppress(Exception):
                    cursor.adbc_cancel()


def key_bounds(conn: Any, plan: TablePlan) -> tuple[Any, Any]:
    """(min, max) of the single key column among the declared rows; (None, None) if none."""
    if len(plan.key) != 1:
        raise ValueError("key bounds need a single key column")
    name = quote_identifier(plan.key[0])
    sql = f"SELECT min({name}), max({name}) FROM {plan.from_sql}"  # noqa: S608 - quoted names
    if plan.decl.filter:
        sql += f" WHERE ({plan.decl.filter})"
    ((low, high),) = _query(conn, sql)
    return low, high


def split_key_range(low: int | None, high: int | None, ranges: int) -> list[tuple[Any, Any]]:
    """``ranges`` contiguous (lo, hi) ranges covering every key: the first starts unbounded and
    the last ends unbounded (rows inserted beyond the bounds since are still read once)."""
    if low is None or high is None or ranges <= 1:
        return [(None, None)]
    span = high - low + 1
    ranges = min(ranges, span)
    cuts = [low + span * i // ranges for i in range(1, ranges)]
    edges: list[Any] = [None, *cuts, None]
    return list(itertools.pairwise(edges))


# -- conversion ------------------------------------------------------------------------------
def convert_batch(batch: pa.RecordBatch, plan: TablePlan) -> pa.RecordBatch:
    for i, column in enumerate(plan.array_columns):
        dimensions = pc.max(batch.column(len(plan.columns) + i)).as_py()
        if dimensions is not None and dimensions > 1:
            raise UnrepresentableValue(
                column.name, f"a {dimensions}-dimensional array", str(column.arrow_type)
            )
    arrays = [
        _convert(batch.column(i), column.arrow_type, column, column.is_array)
        for i, column in enumerate(plan.columns)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=plan.arrow_schema)


def _storage(array: pa.Array) -> pa.Array:
    return array.storage if isinstance(array, pa.ExtensionArray) else array


def _convert(array: pa.Array, target: pa.DataType, column: Column, is_list: bool) -> pa.Array:
    if is_list:
        values = _convert(array.values, target.value_type, column, False)
        return pa.ListArray.from_arrays(array.offsets, values, type=target, mask=array.is_null())
    kind = column.kind
    array = _storage(array)
    if kind == "numeric":
        return _numeric(array, target, column)
    if kind == "date":
        _check_range(array, pa.int32(), MIN_DATE_DAYS, DATE_INFINITY, DATE_MINUS_INFINITY, column)
    elif kind == "timestamp":
        _check_range(
            array,
            pa.int64(),
            MIN_TIMESTAMP_MICROS,
            TIMESTAMP_INFINITY,
            TIMESTAMP_MINUS_INFINITY,
            column,
        )
    return array if array.type == target else array.cast(target)


def _numeric(array: pa.Array, target: pa.DataType, column: Column) -> pa.Array:
    if array.type != pa.string():
        array = array.cast(pa.string())
    specials = pc.is_in(array, value_set=pa.array(NUMERIC_SPECIALS))
    if pc.any(specials).as_py():
        found = pc.filter(array, specials)[0].as_py()
        kind = "numeric NaN" if found.lower() == "nan" else f"numeric {found.lower()}inity"
        raise UnrepresentableValue(column.name, kind.replace("infinity", "Infinity"), str(target))
    if pa.types.is_string(target):
        return array
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UnrepresentableValue(
            column.name, f"a numeric out of range ({exc})", str(target)
        ) from exc


def _check_range(
    array: pa.Array,
    storage: pa.DataType,
    minimum: int,
    infinity: int,
    minus_infinity: int,
    column: Column,
) -> None:
    if array.null_count == len(array):
        return
    values = array.view(storage)
    lowest = pc.min(values).as_py()
    if lowest is not None and lowest < minimum:
        bad = pc.filter(values, pc.less(values, minimum))
        if pc.any(pc.equal(bad, infinity)).as_py():
            kind = "infinity"
        elif pc.any(pc.equal(bad, minus_infinity)).as_py():
            kind = "-infinity"
        else:
            kind = "a value beyond the Arrow type's range"
        raise UnrepresentableValue(column.name, f"{column.pg_type} {kind}", str(column.arrow_type))
