"""The port the dispatcher and worker read a source through, and its PostgreSQL adapter.

The orchestration needs five things of a source: the catalog (``list_tables``), a table's plan
(``describe``: key columns and Arrow schema), the bounds of its key (``key_bounds``, to split it
into ranges) and a stream of record batches in key order from a keyset position, within a key
range, from a cursor value on (``stream``). ``PostgresExtractor`` implements it with
``headwater.onboard.postgres`` (ADBC), ``headwater.onboard.portable.PortableExtractor`` with
SQLAlchemy; ``open_extractor`` picks one from the source's declaration. Tests may give any
object with the same methods. ``secrets``: values to redact from error texts (the password).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol


class Extractor(Protocol):
    secrets: tuple[str, ...]

    def list_tables(self, schema: str) -> list[str]: ...

    def describe(self, decl: Any) -> Any: ...

    def key_bounds(self, plan: Any) -> tuple[Any, Any]: ...

    def stream(
        self,
        plan: Any,
        *,
        after: tuple[Any, ...] | None,
        key_range: tuple[Any, Any] | None,
        since: Any,
        batch_rows: int,
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...


class PostgresExtractor:
    """One connection, opened on first use: a re-dispatch that finds its run never connects."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._conn: Any = None
        self._context: Any = None
        self.secrets: tuple[str, ...] = (settings.password,) if settings.password else ()

    def _connection(self) -> Any:
        if self._conn is None:
            from headwater.onboard import postgres

            self._context = postgres.connect(self._settings)
            self._conn = self._context.__enter__()
        return self._conn

    def list_tables(self, schema: str) -> list[str]:
        from headwater.onboard import postgres

        return postgres.list_tables(self._connection(), schema)

    def describe(self, decl: Any) -> Any:
        from headwater.onboard import postgres

        return postgres.describe(self._connection(), decl)

    def key_bounds(self, plan: Any) -> tuple[Any, Any]:
        from headwater.onboard import postgres

        return postgres.key_bounds(self._connection(), plan)

    def stream(
        self,
        plan: Any,
        *,
        after: tuple[Any, ...] | None,
        key_range: tuple[Any, Any] | None,
        since: Any,
        batch_rows: int,
    ) -> Iterator[Any]:
        from headwater.onboard import postgres

        return postgres.stream(
            self._connection(),
            plan,
            after=after,
            key_range=key_range,
            since=since,
            batch_rows=batch_rows,
        )

    def close(self) -> None:
        if self._context is not None:
            context, self._context, self._conn = self._context, None, None
            context.__exit__(None, None, None)

    def __enter__(self) -> PostgresExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_extractor(source: Any, secret: Mapping[str, Any]) -> Extractor:
    """The extractor of ``source`` (a ``declarations.Source``) with its connection secret:
    ADBC for ``driver = "adbc"`` (PostgreSQL), SQLAlchemy for ``driver = "sqlalchemy"``. Nothing
    connects until it is used. SQLAlchemy is imported only here, for the sources that use it."""
    if source.driver == "adbc":
        from headwater.onboard.postgres import ConnectionSettings

        return PostgresExtractor(ConnectionSettings.from_secret(secret))
    if source.driver == "sqlalchemy":
        from headwater.onboard.portable import PortableExtractor, url_from_secret

        return PortableExtractor(url_from_secret(source.engine, source.dbapi, secret))
    raise ValueError(f"source {source.name!r}: unknown driver {source.driver!r}")
