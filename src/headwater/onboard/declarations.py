"""Onboard sources: which database tables land in S3, declared as data in the repository.

One TOML file per source in ``headwater/datasets/onboard/`` (``$ONBOARD_DIR`` points at another
directory). A source names its engine (and optionally the ``driver`` that reads it: ``adbc``, the
default for PostgreSQL, or ``sqlalchemy``, the portable path and every other engine's default;
``dbapi`` names SQLAlchemy's DB-API module), its tables (``[[tables]]``, by ``schema.table``)
and whole schemas (``[[schemas]]``, tables matched by ``include``/``exclude`` patterns against
the database's catalog). Only what is declared here is ever read: work messages name a table,
and the worker looks it up with ``Source.table``, which refuses anything not declared
(``UndeclaredTable``). No SQL arrives in events; a table's optional ``filter`` is SQL written in
this repository.

Names of schemas, tables and columns are PostgreSQL identifiers, always quoted when used in SQL
(so a name holding a quote or a semicolon is an odd name, never SQL); they may not hold ``/``
(they are parts of S3 keys), control characters, or more than 63 bytes (PostgreSQL's limit).

Every problem of every file is collected and raised as one ``DeclarationError`` listing them all.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.contracts import declarations
from headwater.contracts.rules import ContractError

SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
# A key prefix in the landing bucket: relative, '/'-terminated, no empty or dot segments.
TARGET_PREFIX = re.compile(r"(?:[A-Za-z0-9_=-][A-Za-z0-9_.=-]*/)+\Z")
# The database a source is: its SQLAlchemy dialect name. PostgreSQL reads through ADBC by default
# (the benchmarked path); every engine can read through SQLAlchemy (headwater.onboard.portable),
# whose DB-API driver the user adds to the lambda-onboard group (sqlite's is in the stdlib).
ENGINES = ("postgresql", "mysql", "mariadb", "mssql", "oracle", "sqlite")
DRIVERS = ("adbc", "sqlalchemy")
ADBC_ENGINES = ("postgresql",)
# A SQLAlchemy DB-API name ("pymysql", "psycopg", "oracledb", "pyodbc" ...): the "+dbapi" of a URL.
DBAPI_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
MODES = ("full", "incremental")
DEFAULT_LOOKBACK_SECONDS = 900
MAX_RANGES = 64
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1


class DeclarationError(ContractError):
    """Onboard declarations are invalid; ``problems`` lists every one, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{len(problems)} problem(s) in onboard declarations:\n"
            + "\n".join(f"- {p}" for p in problems)
        )


class UndeclaredTable(LookupError):
    """A table that the source does not declare (or excludes) was asked for."""

    def __init__(self, source: str, qualified: str) -> None:
        self.source = source
        self.qualified = qualified
        super().__init__(f"table {qualified!r} is not declared by onboard source {source!r}")


def identifier_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a schema, table or column name here; None when it can."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return f"longer than {MAX_IDENTIFIER_BYTES} bytes (PostgreSQL's identifier limit)"
    if "/" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "may not contain '/' or control characters"
    return None


@dataclass(frozen=True)
class TableDecl:
    schema: str
    table: str
    columns: tuple[str, ...] | None = None  # None: every column, in catalog order
    filter: str | None = None
    mode: str = "full"
    cursor: str | None = None
    lookback_seconds: int = DEFAULT_LOOKBACK_SECONDS
    key: tuple[str, ...] | None = None  # None: the primary key from the catalog
    ranges: int = 1

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class SchemaDecl:
    name: str
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    mode: str = "full"
    cursor: str | None = None
    lookback_seconds: int = DEFAULT_LOOKBACK_SECONDS

    def matches(self, table: str) -> bool:
        return any(fnmatch.fnmatchcase(table, p) for p in self.include) and not any(
            fnmatch.fnmatchcase(table, p) for p in self.exclude
        )

    def table_decl(self, table: str) -> TableDecl:
        return TableDecl(
            schema=self.name,
            table=table,
            mode=self.mode,
            cursor=self.cursor,
            lookback_seconds=self.lookback_seconds,
        )


@dataclass(frozen=True)
class Source:
    name: str
    engine: str
    description: str
    target_prefix: str
    tables: tuple[TableDecl, ...] = ()
    schemas: tuple[SchemaDecl, ...] = ()
    file: str = field(default="", compare=False)
    # How rows are read: "adbc" (PostgreSQL only, its default) or "sqlalchemy" (any engine, the
    # default for every other); ``dbapi`` picks SQLAlchemy's DB-API module (None: its default).
    driver: str = "adbc"
    dbapi: str | None = None

    def table(self, qualified: str) -> TableDecl:
        """The declaration of ``schema.table``: named in [[tables]], or matched by a [[schemas]]
        entry (include and not exclude); else UndeclaredTable."""
        for decl in self.tables:
            if decl.qualified == qualified:
                return decl
        schema, dot, table = qualified.partition(".")
        if dot and table and identifier_problem(table) is None:
            for entry in self.schemas:
                if entry.name == schema and entry.matches(table):
                    return entry.table_decl(table)
        raise UndeclaredTable(self.name, qualified)

    def resolve(self, catalog_tables: Iterable[str]) -> list[TableDecl]:
        """Every table to onboard: the named ones (declaration order), then the catalog's tables
        matched by a schema entry and not named (sorted). A named table missing from the catalog
        stays in the list: its worker fails and the run reports it."""
        named = {decl.qualified for decl in self.tables}
        matched: list[TableDecl] = []
        for qualified in sorted(set(catalog_tables) - named):
            schema, _, table = qualified.partition(".")
            for entry in self.schemas:
                if entry.name == schema and entry.matches(table):
                    matched.append(entry.table_decl(table))
                    break
        return [*self.tables, *matched]


# -- parsing ---------------------------------------------------------------------------------
class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.found.append(f"{self.file}: {where}: {problem}")


def _string(data: Mapping[str, Any], key: str, where: str, problems: _Problems) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        problems.add(f"{where}.{key}", "must be a string")
        return None
    return value


def _unknown(data: Mapping[str, Any], allowed: set[str], where: str, problems: _Problems) -> None:
    for key in sorted(set(data) - allowed):
        problems.add(f"{where}.{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _names(value: Any, where: str, problems: _Problems) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        problems.add(where, "must be a non-empty list of names")
        return None
    for i, name in enumerate(value):
        if (problem := identifier_problem(name)) is not None:
            problems.add(f"{where}[{i}]", problem)
            return None
    if len(set(value)) != len(value):
        problems.add(where, "lists a name twice")
        return None
    return tuple(value)


def _mode_fields(
    raw: Mapping[str, Any], where: str, problems: _Problems
) -> tuple[str, str | None, int]:
    mode = raw.get("mode", "full")
    if mode not in MODES:
        problems.add(f"{where}.mode", f"must be one of {', '.join(MODES)}")
        mode = "full"
    cursor = raw.get("cursor")
    if cursor is not None and (problem := identifier_problem(cursor)) is not None:
        problems.add(f"{where}.cursor", problem)
        cursor = None
    if mode == "incremental" and cursor is None and "cursor" not in raw:
        problems.add(f"{where}.cursor", "required with mode = 'incremental'")
    if mode == "full" and "cursor" in raw:
        problems.add(f"{where}.cursor", "only with mode = 'incremental'")
    lookback = raw.get("lookback_seconds", DEFAULT_LOOKBACK_SECONDS)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or not 0 <= lookback <= 86400:
        problems.add(f"{where}.lookback_seconds", "an integer from 0 to 86400")
        lookback = DEFAULT_LOOKBACK_SECONDS
    elif mode == "full" and "lookback_seconds" in raw:
        problems.add(f"{where}.lookback_seconds", "only with mode = 'incremental'")
    return mode, cursor, lookback


TABLE_FIELDS = {
    "name",
    "columns",
    "filter",
    "mode",
    "cursor",
    "lookback_seconds",
    "key",
    "ranges",
}
SCHEMA_FIELDS = {"name", "include", "exclude", "mode", "cursor", "lookback_seconds"}
SOURCE_FIELDS = {"name", "engine", "driver", "dbapi", "description", "target_prefix"}


def _parse_table(raw: Any, where: str, problems: _Problems) -> TableDecl | None:
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        return None
    before = len(problems.found)
    _unknown(raw, TABLE_FIELDS, where, problems)
    name = raw.get("name")
    schema, dot, table = name.partition(".") if isinstance(name, str) else ("", "", "")
    if not dot:
        problems.add(f"{where}.name", "required: 'schema.table'")
    else:
        for part, label in ((schema, "schema"), (table, "table")):
            if (problem := identifier_problem(part)) is not None:
                problems.add(f"{where}.name", f"{label} name {problem}")
    columns = _names(raw.get("columns"), f"{where}.columns", problems)
    key = _names(raw.get("key"), f"{where}.key", problems)
    row_filter = _string(raw, "filter", where, problems)
    if row_filter is not None and (not row_filter.strip() or ";" in row_filter):
        problems.add(f"{where}.filter", "must be one SQL predicate (non-empty, no ';')")
    mode, cursor, lookback = _mode_fields(raw, where, problems)
    ranges = raw.get("ranges", 1)
    if isinstance(ranges, bool) or not isinstance(ranges, int) or not 1 <= ranges <= MAX_RANGES:
        problems.add(f"{where}.ranges", f"an integer from 1 to {MAX_RANGES}")
        ranges = 1
    elif ranges > 1 and key is not None and len(key) != 1:
        problems.add(f"{where}.ranges", "key ranges need a single key column")
    if columns is not None:
        for label, needed in (("key", key or ()), ("cursor", (cursor,) if cursor else ())):
            missing = [c for c in needed if c not in columns]
            if missing:
                problems.add(f"{where}.columns", f"must include the {label} column(s) {missing}")
    if len(problems.found) > before:
        return None
    return TableDecl(schema, table, columns, row_filter, mode, cursor, lookback, key, ranges)


def _parse_schema(raw: Any, where: str, problems: _Problems) -> SchemaDecl | None:
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        return None
    before = len(problems.found)
    _unknown(raw, SCHEMA_FIELDS, where, problems)
    name = raw.get("name")
    if (problem := identifier_problem(name)) is not None or "." in str(name):
        problems.add(f"{where}.name", problem or "a schema name, without '.'")
    patterns: dict[str, tuple[str, ...]] = {}
    for key, default in (("include", ["*"]), ("exclude", [])):
        value = raw.get(key, default)
        if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
            problems.add(f"{where}.{key}", "must be a list of fnmatch patterns")
            value = default
        patterns[key] = tuple(value)
    if not patterns["include"]:
        problems.add(f"{where}.include", "matches nothing: give at least one pattern")
    mode, cursor, lookback = _mode_fields(raw, where, problems)
    if len(problems.found) > before:
        return None
    return SchemaDecl(name, patterns["include"], patterns["exclude"], mode, cursor, lookback)


def parse_source(data: Mapping[str, Any], file: str) -> tuple[Source | None, list[str]]:
    """One parsed TOML document -> (Source or None, every problem found in it)."""
    problems = _Problems(file)
    _unknown(data, {"source", "tables", "schemas"}, "document", problems)
    header = data.get("source")
    if not isinstance(header, dict):
        problems.add("source", "required: a [source] table")
        header = {}
    _unknown(header, SOURCE_FIELDS, "source", problems)
    name = header.get("name")
    if not isinstance(name, str) or not SOURCE_NAME.match(name):
        problems.add("source.name", "required: [a-z][a-z0-9_]{0,39}")
        name = None
    engine = header.get("engine")
    if engine not in ENGINES:
        problems.add("source.engine", f"required, one of {', '.join(ENGINES)}")
    driver = header.get("driver", "adbc" if engine in ADBC_ENGINES else "sqlalchemy")
    if driver not in DRIVERS:
        problems.add("source.driver", f"one of {', '.join(DRIVERS)}")
    elif driver == "adbc" and engine in ENGINES and engine not in ADBC_ENGINES:
        problems.add(
            "source.driver",
            f"'adbc' reads {', '.join(ADBC_ENGINES)} only: engine {engine!r} reads through "
            "'sqlalchemy'",
        )
    dbapi = header.get("dbapi")
    if dbapi is not None and (not isinstance(dbapi, str) or not DBAPI_NAME.match(dbapi)):
        problems.add("source.dbapi", "a SQLAlchemy DB-API name, e.g. 'pymysql'")
    elif dbapi is not None and driver != "sqlalchemy":
        problems.add("source.dbapi", "only with driver = 'sqlalchemy'")
    description = _string(header, "description", "source", problems) or ""
    prefix = _string(header, "target_prefix", "source", problems)
    if prefix is None:
        prefix = f"{name}/" if name else ""
    elif not TARGET_PREFIX.match(prefix):
        problems.add("source.target_prefix", "a relative key prefix ending in '/', e.g. 'demo/'")
    raw_tables = data.get("tables", [])
    raw_schemas = data.get("schemas", [])
    tables: list[TableDecl] = []
    schemas: list[SchemaDecl] = []
    if not isinstance(raw_tables, list):
        problems.add("tables", "must be [[tables]] entries")
        raw_tables = []
    if not isinstance(raw_schemas, list):
        problems.add("schemas", "must be [[schemas]] entries")
        raw_schemas = []
    if not raw_tables and not raw_schemas:
        problems.add("tables", "declare at least one [[tables]] or [[schemas]] entry")
    for i, raw in enumerate(raw_tables):
        decl = _parse_table(raw, f"tables[{i}]", problems)
        if decl is not None:
            if decl.qualified in {t.qualified for t in tables}:
                problems.add(f"tables[{i}].name", f"{decl.qualified!r} is declared twice")
            tables.append(decl)
    for i, raw in enumerate(raw_schemas):
        entry = _parse_schema(raw, f"schemas[{i}]", problems)
        if entry is not None:
            if entry.name in {s.name for s in schemas}:
                problems.add(f"schemas[{i}].name", f"schema {entry.name!r} is declared twice")
            schemas.append(entry)
    if problems.found or name is None:
        return None, problems.found
    source = Source(
        name,
        engine,
        description,
        prefix,
        tuple(tables),
        tuple(schemas),
        file,
        driver=driver,
        dbapi=dbapi,
    )
    return source, []


def parse_source_documents(documents: Iterable[tuple[str, str]]) -> dict[str, Source]:
    """Every source of (file name, TOML text) pairs; one DeclarationError listing all problems."""
    found: dict[str, Source] = {}
    problems: list[str] = []
    for file, text in documents:
        try:
            (declaration,) = declarations.parse_documents([(file, text)])
        except ContractError as exc:
            problems.append(str(exc))
            continue
        source, found_problems = parse_source(declaration.data, file)
        problems += found_problems
        if source is None:
            continue
        if source.name in found:
            problems.append(
                f"{file}: source.name: {source.name!r} is also declared in "
                f"{found[source.name].file}"
            )
            continue
        found[source.name] = source
    if problems:
        raise DeclarationError(problems)
    return found


def load_sources(directory: str | os.PathLike[str] | None = None) -> dict[str, Source]:
    """Every onboard source from ``directory``, ``$ONBOARD_DIR`` or the package."""
    directory = directory or os.environ.get("ONBOARD_DIR") or None
    return parse_source_documents(declarations.read_documents("onboard", directory))
