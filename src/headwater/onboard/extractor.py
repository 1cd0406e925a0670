"""The port the dispatcher and worker read a source through, and its PostgreSQL adapter.

The orchestration needs five things of a source: the catalog (``list_tables``), a table's plan
(``describe``: key columns and Arrow schema), the bounds of its key (``key_bounds``, to split it
into ranges) and a stream of record batches in key order from a keyset position, within a key
range, from a cursor value on (``stream``). ``PostgresExtractor`` implements it with
``headwater.onboard.postgres``; tests may give any object with the same methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Extractor(Protocol):
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
