"""Read a declared table through SQLAlchemy: the portable path for engines without ADBC.

A source with ``driver = "sqlalchemy"`` (every engine but PostgreSQL by default; PostgreSQL reads
through ADBC, the benchmarked path, see ``headwater.onboard.postgres``) is read by
``PortableExtractor``: the same methods as ``PostgresExtractor``, the same plan shape (key
columns, ``arrow_schema``, ``last_key``) and the same errors (``headwater.onboard.postgres``'s
``ExtractionError`` family), so the dispatcher and the worker do not know which one they hold.

- Catalog and columns come from SQLAlchemy's inspector and table reflection; the key is the
  primary key unless declared.
- Queries are SQLAlchemy Core ``select()`` statements: identifiers quoted by the dialect, key
  positions, range bounds and the low watermark as bind parameters of the column's type; the
  declared ``filter`` (SQL from this repository, never from an event) is wrapped in parentheses.
- Rows stream with bounded memory: ``stream_results=True`` (a server-side cursor where the
  dialect has one) and ``result.yield_per(batch_rows)``, one Arrow record batch per partition.
  ``execution_options(yield_per=n)`` is not enough: SQLAlchemy 2.1 ignores it for ``text()``
  statements, whose first partition is then the whole result (pinned by a test), so the result's
  own ``yield_per`` is what sets the batch size here.

Type mapping (SQLAlchemy's reflected type -> Arrow), NULL always null:

- integers sized from the type: TINYINT/SMALLINT/INTEGER/BIGINT -> int8/16/32/64 (unsigned
  MySQL types -> uint*); on SQLite every integer column is int64, because SQLite stores any
  integer in up to 8 bytes whatever the declared type; BOOLEAN -> bool;
- NUMERIC/DECIMAL(p,s) -> decimal128(p,s) (p <= 38) or decimal256 (p <= 76); without a precision
  (or beyond what Parquet's decimal holds) -> string, selected as text: the database's exact
  decimal text (the ADBC path's choice); decimal NaN and infinity are rejected
  (``UnrepresentableValue``). SQLite gives a column of a type it does not know NUMERIC affinity
  (SQLAlchemy reflects it as NUMERIC): such a column lands as its stored values' text;
- REAL/FLOAT(p <= 24) -> float32 and DOUBLE/FLOAT(p > 24) -> float64 (SQLite: float64, its only
  float; SQL Server FLOAT and Oracle FLOAT are doubles); NaN and infinity kept;
- strings, enums -> string; binary types -> binary; JSON and UUID -> string (selected as text);
- DATE -> date32; DATETIME/TIMESTAMP -> timestamp[us], with time zone -> timestamp[us, UTC];
  TIME -> time64[us]; INTERVAL -> duration[us] (PostgreSQL's interval holds months, which a
  duration cannot: read as text there); ARRAY of a mapped type -> list;
- any other type (reflected as NullType or a dialect's own type: inet, xml, geometry ...) is
  selected as text and its field says so: metadata ``headwater.read_as = text`` and
  ``headwater.source_type`` on the Arrow field (kept in the Parquet schema) and
  ``PortablePlan.notes``.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import sqlalchemy as sa

from headwater.onboard.declarations import TableDecl
from headwater.onboard.postgres import (
    ConnectionFailed,
    ExtractionError,
    TableNotFound,
    UnrepresentableValue,
    columns_and_key,
    secret_fields,
)

READ_AS_KEY = b"headwater.read_as"
SOURCE_TYPE_KEY = b"headwater.source_type"
# Arrow's decimal128 and decimal256 precision limits.
DECIMAL128_DIGITS = 38
DECIMAL256_DIGITS = 76
CONNECT_TIMEOUT_SECONDS = 10
# Kinds selected as text (CAST(... AS TEXT)): JSON, UUID, unmapped types, unscaled numerics.
TEXT_KINDS = frozenset({"text", "numeric_text"})
NUMERIC_SPECIALS = frozenset({"NaN", "nan", "Infinity", "-Infinity", "inf", "-inf"})


# -- connection ------------------------------------------------------------------------------
def url_from_secret(engine: str, dbapi: str | None, secret: Mapping[str, Any]) -> sa.URL:
    """The SQLAlchemy URL of a source from its secret (the RDS shape: host, port, dbname or
    database, username or user, password; SQLite: database = the file's path). The URL holds the
    password: SQLAlchemy masks it in its repr, and it is never logged. Errors name keys only."""
    drivername = f"{engine}+{dbapi}" if dbapi else engine
    database = secret.get("dbname", secret.get("database"))
    if engine == "sqlite":
        if not isinstance(database, str) or not database:
            raise ValueError("database secret lacks database (the SQLite file's path)")
        # Read-only: a wrong path fails to connect instead of creating an empty database, and
        # the source is never written to.
        return sa.URL.create(
            drivername,
            database=f"file:{quote(database)}",
            query={"mode": "ro", "uri": "true"},
        )
    fields, missing = secret_fields(secret, default_port=None)
    if missing:
        raise ValueError(f"database secret lacks or has an invalid {', '.join(missing)}")
    query = {}
    if engine == "postgresql" and "sslmode" in secret:
        query["sslmode"] = str(secret["sslmode"])
    return sa.URL.create(
        drivername,
        username=fields["user"],
        password=fields["password"],
        host=fields["host"],
        port=fields["port"],
        database=fields["database"],
        query=query,
    )


# -- type mapping ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PortableColumn:
    name: str
    source_type: str  # the reflected type as the dialect writes it: "NUMERIC(12, 2)"
    arrow_type: pa.DataType
    # "value": the driver's Python values as they are; "decimal": checked for NaN/infinity;
    # "binary": bytes-like; "text": selected as text (JSON, UUID, unmapped types);
    # "numeric_text": a numeric without a fixed scale, selected as text, NaN/infinity refused.
    kind: str
    nullable: bool
    note: str | None = None  # why a column is read as text (an unmapped type)

    @property
    def field(self) -> pa.Field:
        metadata = None
        if self.note is not None:
            metadata = {READ_AS_KEY: b"text", SOURCE_TYPE_KEY: self.source_type.encode()}
        return pa.field(self.name, self.arrow_type, nullable=self.nullable, metadata=metadata)


INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 32, "BIGINT": 64}


def _integer(type_: Any, dialect: str) -> pa.DataType:
    if dialect == "sqlite":
        return pa.int64()
    name = type(type_).__name__.upper()
    if isinstance(type_, sa.BigInteger):
        bits = 64
    elif isinstance(type_, sa.SmallInteger):
        bits = INTEGER_BITS.get(name, 16)
    else:
        bits = INTEGER_BITS.get(name, 32)
    if getattr(type_, "unsigned", False):
        return {8: pa.uint8(), 16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}[bits]
    return {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[bits]


def _float(type_: Any, dialect: str) -> pa.DataType:
    name = type(type_).__name__.upper()
    precision = getattr(type_, "precision", None)
    if dialect == "sqlite" or isinstance(type_, sa.Double) or "DOUBLE" in name:
        return pa.float64()
    if dialect == "oracle":
        return pa.float32() if name == "BINARY_FLOAT" else pa.float64()
    if dialect == "mssql":
        return pa.float32() if name == "REAL" else pa.float64()
    return pa.float32() if precision is None or precision <= 24 else pa.float64()


def _decimal(type_: Any) -> pa.DataType | None:
    p, s = type_.precision, type_.scale
    if p is None or p < 1 or (s or 0) < 0 or (s or 0) > p:
        return None
    s = s or 0
    if p <= DECIMAL128_DIGITS:
        return pa.decimal128(p, s)
    if p <= DECIMAL256_DIGITS:
        return pa.decimal256(p, s)
    return None


def map_type(type_: Any, dialect: str) -> tuple[pa.DataType, str, str | None]:
    """(Arrow type, kind, note) of a reflected SQLAlchemy type on ``dialect``; see the module
    docstring. A note says why a column is read as text."""
    if isinstance(type_, sa.Boolean):
        return pa.bool_(), "value", None
    if isinstance(type_, sa.Integer):
        return _integer(type_, dialect), "value", None
    if isinstance(type_, sa.Float):
        return _float(type_, dialect), "value", None
    if isinstance(type_, sa.Numeric):
        target = _decimal(type_)
        if target is None:
            # No fixed scale to keep: the value's exact text, as the database prints it (on
            # SQLite, whose NUMERIC affinity also holds any text, the value as stored).
            return pa.string(), "numeric_text", None
        return target, "decimal", None
    if isinstance(type_, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if type_.timezone else None), "value", None
    if isinstance(type_, sa.Date):
        return pa.date32(), "value", None
    if isinstance(type_, sa.Time):
        return pa.time64("us"), "value", None
    if isinstance(type_, sa.Interval):
        if dialect == "postgresql":
            return pa.string(), "text", "PostgreSQL's interval holds months: read as text"
        return pa.duration("us"), "value", None
    if isinstance(type_, sa.JSON | sa.Uuid):
        return pa.string(), "text", None
    if isinstance(type_, sa.String):  # Text, Unicode, Enum, CHAR, VARCHAR ...
        return pa.string(), "value", None
    if isinstance(type_, sa.types._Binary):
        return pa.binary(), "binary", None
    if isinstance(type_, sa.ARRAY):
        item, kind, _note = map_type(type_.item_type, dialect)
        if kind in ("value", "binary", "decimal") and type_.dimensions in (None, 1):
            return pa.list_(item), kind, None
    return pa.string(), "text", "no Arrow mapping for this type: read as text"


# -- plan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PortablePlan:
    """What to read of a table and how (the ``TablePlan`` of the portable path)."""

    decl: TableDecl
    columns: tuple[PortableColumn, ...]
    key: tuple[str, ...]
    table: sa.Table = field(repr=False)
    dialect: str = "default"

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([c.field for c in self.columns])

    @property
    def notes(self) -> tuple[str, ...]:
        """Every column read as text for want of a mapping, and why."""
        return tuple(
            f"{self.decl.qualified}.{c.name} ({c.source_type}): {c.note}"
            for c in self.columns
            if c.note is not None
        )

    def column(self, name: str) -> PortableColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def select(
        self,
        after: Sequence[Any] | None = None,
        range_lo: Any = None,
        range_hi: Any = None,
        low_watermark: Any = None,
    ) -> sa.Select[Any]:
        """``SELECT <columns> FROM <table> WHERE (<filter>) AND <key> > <after> AND <key> >= <lo>
        AND <key> < <hi> AND <cursor> > <low_watermark> ORDER BY <key>``, values bound. A
        composite key's position is ``(k1 > v1) OR (k1 = v1 AND k2 > v2) ...`` (portable: not
        every engine compares row values)."""
        c = self.table.c
        selected = [_selected(c[col.name], col, self.dialect) for col in self.columns]
        conditions: list[Any] = []
        if self.decl.filter:
            conditions.append(sa.text(f"({self.decl.filter})"))
        keys = [c[k] for k in self.key]
        if after is not None:
            if len(after) != len(keys):
                raise ValueError(f"after has {len(after)} values, the key {len(keys)} columns")
            alternatives = []
            for i, (column, value) in enumerate(zip(keys, after, strict=True)):
                equal = [keys[j] == after[j] for j in range(i)]
                alternatives.append(sa.and_(*equal, column > value))
            conditions.append(sa.or_(*alternatives))
        if range_lo is not None or range_hi is not None:
            if len(keys) != 1:
                raise ValueError("key ranges need a single key column")
            if range_lo is not None:
                conditions.append(keys[0] >= range_lo)
            if range_hi is not None:
                conditions.append(keys[0] < range_hi)
        if low_watermark is not None:
            if self.decl.cursor is None:
                raise ValueError(f"{self.decl.qualified} has no cursor column")
            conditions.append(c[self.decl.cursor] > low_watermark)
        return sa.select(*selected).where(*conditions).order_by(*keys)

    def last_key(self, batch: pa.RecordBatch) -> tuple[Any, ...]:
        if batch.num_rows == 0:
            raise ValueError("an empty batch has no last key")
        return tuple(batch.column(k)[batch.num_rows - 1].as_py() for k in self.key)

    def to_batch(self, rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
        """Rows (as the driver returned them, in ``columns`` order) -> a batch in
        ``arrow_schema``; a value the column's type cannot hold raises UnrepresentableValue."""
        values = list(zip(*rows, strict=True)) if rows else [() for _ in self.columns]
        arrays = [_array(v, column) for v, column in zip(values, self.columns, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)


def _selected(column: Any, portable_column: PortableColumn, dialect: str) -> Any:
    """A column as selected: text kinds as ``CAST(... AS TEXT)`` (the database's own text form),
    except on SQLite, whose values are already text, numbers or blobs (its CAST of a REAL keeps
    15 digits only): read there as stored, without SQLAlchemy's result processing, and turned
    into text in Python (``_text``)."""
    if portable_column.kind not in TEXT_KINDS:
        return column
    if dialect == "sqlite":
        return sa.type_coerce(column, sa.types.NullType()).label(portable_column.name)
    return sa.cast(column, sa.Text()).label(portable_column.name)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back to the same double
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def _decimal_special(values: Sequence[Any]) -> str | None:
    for value in values:
        items = value if isinstance(value, list) else (value,)
        for item in items:
            if isinstance(item, decimal.Decimal) and not item.is_finite():
                return "decimal NaN" if item.is_nan() else f"decimal {item}"
            if isinstance(item, float) and (item != item or item in (float("inf"), -float("inf"))):
                return f"decimal {item}"
    return None


def _array(values: Sequence[Any], column: PortableColumn) -> pa.Array:
    target = column.arrow_type
    if column.kind in TEXT_KINDS:
        values = [_text(v) for v in values]
        if column.kind == "numeric_text":
            special = next((v for v in values if v in NUMERIC_SPECIALS), None)
            if special is not None:
                kind = "NaN" if special.lower() == "nan" else special
                raise UnrepresentableValue(column.name, f"numeric {kind}", str(target))
    elif column.kind == "binary" and not pa.types.is_list(target):
        values = [v if v is None or isinstance(v, bytes) else bytes(v) for v in values]
    elif column.kind == "decimal":
        special = _decimal_special(values)
        if special is not None:
            raise UnrepresentableValue(column.name, special, str(target))
    try:
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError) as exc:
        raise UnrepresentableValue(
            column.name, f"a value out of the type's range ({exc})", str(target)
        ) from exc


# -- the extractor ---------------------------------------------------------------------------
class PortableExtractor:
    """The ``Extractor`` port through SQLAlchemy. Takes a URL (``url_from_secret``) or an
    Engine; connects on first use (a re-dispatch that finds its run never connects) and ends
    every read's transaction when it is done (no transaction left open on the source)."""

    def __init__(self, url_or_engine: sa.URL | sa.Engine) -> None:
        if isinstance(url_or_engine, sa.Engine):
            self._engine, self._owned = url_or_engine, False
        else:
            self._engine, self._owned = _create_engine(url_or_engine), True
        password = self._engine.url.password
        self.secrets: tuple[str, ...] = (str(password),) if password else ()
        self._conn: sa.Connection | None = None

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            try:
                self._conn = self._engine.connect()
            except sa.exc.DBAPIError as exc:
                url = self._engine.url
                message = str(exc.orig) if exc.orig is not None else type(exc).__name__
                for secret in self.secrets:
                    message = message.replace(secret, "***")
                where = (
                    f"open {url.database}"
                    if url.get_backend_name() == "sqlite"
                    else f"connect to {url.host}:{url.port}/{url.database} as {url.username}"
                )
                raise ConnectionFailed(f"could not {where}: {message.strip()}") from None
        return self._conn

    def _end(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()

    def list_tables(self, schema: str) -> list[str]:
        """The base tables of ``schema`` (views excluded), as ``schema.table``, sorted."""
        try:
            names = sa.inspect(self._connection()).get_table_names(schema=schema)
        finally:
            self._end()
        return [f"{schema}.{name}" for name in sorted(names)]

    def describe(self, decl: TableDecl) -> PortablePlan:
        conn = self._connection()
        try:
            table = sa.Table(decl.table, sa.MetaData(), schema=decl.schema, autoload_with=conn)
            pk = [c.name for c in table.primary_key.columns]
        except sa.exc.NoSuchTableError:
            raise TableNotFound(f"table {decl.qualified!r} does not exist") from None
        finally:
            self._end()
        catalog: dict[str, PortableColumn] = {}
        for column in table.columns:
            arrow_type, kind, note = map_type(column.type, self.dialect)
            try:
                source_type = column.type.compile(dialect=self._engine.dialect)
            except sa.exc.CompileError:
                source_type = type(column.type).__name__
            catalog[column.name] = PortableColumn(
                column.name, source_type, arrow_type, kind, bool(column.nullable), note
            )
        wanted, key = columns_and_key(decl, catalog, lambda: pk)
        for name in (*key, *([decl.cursor] if decl.cursor else [])):
            column = catalog[name]
            role = "key column" if name in key else "cursor"
            if column.kind in TEXT_KINDS or pa.types.is_list(column.arrow_type):
                raise ExtractionError(
                    f"{decl.qualified}: {role} {name!r} has type {column.source_type}, which "
                    "cannot order a keyset on this path"
                )
            if name in key and column.nullable and name not in pk:
                raise ExtractionError(
                    f"{decl.qualified}: key column {name!r} may be null: a key must be NOT NULL"
                )
        if decl.ranges > 1 and (
            len(key) != 1 or not pa.types.is_integer(catalog[key[0]].arrow_type)
        ):
            raise ExtractionError(
                f"{decl.qualified}: ranges = {decl.ranges} needs a single integer key column"
            )
        # Key columns that a reflected primary key holds are NOT NULL whatever SQLite reports.
        columns = tuple(catalog[c] if c not in pk else _not_null(catalog[c]) for c in wanted)
        return PortablePlan(decl, columns, key, table, self.dialect)

    def key_bounds(self, plan: PortablePlan) -> tuple[Any, Any]:
        """(min, max) of the single key column among the declared rows; (None, None) if none."""
        if len(plan.key) != 1:
            raise ValueError("key bounds need a single key column")
        column = plan.table.c[plan.key[0]]
        query = sa.select(sa.func.min(column), sa.func.max(column))
        if plan.decl.filter:
            query = query.where(sa.text(f"({plan.decl.filter})"))
        try:
            low, high = self._connection().execute(query).one()
        finally:
            self._end()
        return low, high

    def stream(
        self,
        plan: PortablePlan,
        *,
        after: Sequence[Any] | None = None,
        key_range: tuple[Any, Any] | None = None,
        since: Any = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        """The table's rows in key order, ``batch_rows`` at most per batch, already in
        ``plan.arrow_schema``; the arguments as ``headwater.onboard.postgres.stream``'s."""
        lo, hi = key_range if key_range is not None else (None, None)
        query = plan.select(after, lo, hi, since)
        conn = self._connection()
        result = None
        try:
            result = conn.execution_options(stream_results=True).execute(query)
            # The result's own yield_per: the batch size and the server-side cursor's fetch size.
            for rows in result.yield_per(batch_rows).partitions():
                if rows:
                    yield plan.to_batch(rows)
        finally:
            # Stopped early or failed: close the (server-side) cursor, then end the transaction.
            if result is not None:
                result.close()
            self._end()

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
        if self._owned:
            self._engine.dispose()

    def __enter__(self) -> PortableExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _not_null(column: PortableColumn) -> PortableColumn:
    return PortableColumn(
        column.name, column.source_type, column.arrow_type, column.kind, False, column.note
    )


def _create_engine(url: sa.URL) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() in ("postgresql", "mysql", "mariadb"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    # One connection per extractor, none kept between invocations.
    return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
