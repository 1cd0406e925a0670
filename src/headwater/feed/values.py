"""Realistic column values for the synthetic source, chosen by dataset and column name.

Columns the generator does not know get a plausible value for their contract type, so a column
added to a contract still yields valid files without touching this module.
"""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

from headwater.feed.contracts import Column

Row = dict[str, Any]
_BASE62 = string.digits + string.ascii_letters

# (sku stem, typical unit price in EUR)
_PRODUCTS = [
    ("TSH-BLK", 19.90),
    ("TSH-WHT", 19.90),
    ("HOOD-NVY", 59.00),
    ("HOOD-GRY", 59.00),
    ("MUG-WHT", 12.50),
    ("CAP-RED", 24.00),
    ("SOCK-BLU", 9.95),
    ("BAG-CNV", 34.00),
    ("BTL-STL", 27.50),
    ("NB-A5", 7.80),
]
_SIZES = ["XS", "S", "M", "L", "XL"]
_CURRENCIES = [
    ("EUR", 1.0, 50),
    ("USD", 1.08, 25),
    ("GBP", 0.86, 12),
    ("SEK", 11.4, 8),
    ("CHF", 0.95, 5),
]
_COUPONS = ["WELCOME10", "BLACKFRIDAY", "SUMMER24", "FREESHIP", "VIP15"]
_EVENT_TYPES = [
    ("page_view", 55),
    ("search", 15),
    ("add_to_cart", 14),
    ("remove_from_cart", 4),
    ("checkout_started", 7),
    ("purchase", 5),
]
_WORDS_A = ["Midnight", "Golden", "Electric", "Silent", "Neon", "Paper", "Velvet", "Broken", "Wild"]
_WORDS_B = ["Rivers", "Skyline", "Heart", "Summer", "Echoes", "Lights", "Machine", "Garden", "Tide"]
_ARTISTS = [
    "The Lanterns",
    "Mira Sol",
    "Kasper Nyström",
    "Blue Harbour",
    "Aiko Tanaka",
    "Los Faros",
    "DJ Kestrel",
    "Nadia Okafor",
    "Ghost Orchard",
]


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class RowFactory:
    """Makes the rows of one file; ``index`` keeps ids unique across files of a run."""

    def __init__(self, rng: random.Random, day: dt.date, index: int) -> None:
        self.rng = rng
        self.day = day
        self.index = index
        self._clock = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) + dt.timedelta(
            seconds=rng.randint(0, 6 * 3600)
        )
        self._users = [f"u_{rng.getrandbits(32):08x}" for _ in range(8)]

    def rows(self, dataset: str, columns: tuple[Column, ...], count: int) -> list[Row]:
        return [self.row(dataset, columns, n) for n in range(count)]

    def row(self, dataset: str, columns: tuple[Column, ...], n: int) -> Row:
        row: Row = {}
        for column in columns:
            maker = _KNOWN.get((dataset, column.name))
            row[column.name] = maker(self, row, n) if maker else self.generic(column, n)
        return row

    def generic(self, column: Column, n: int) -> Any:
        rng = self.rng
        if column.nullable and rng.random() < 0.1:
            return None
        return {
            "string": lambda: f"{rng.choice(_WORDS_A).lower()}-{n}",
            "int64": lambda: rng.randint(0, 10_000),
            "float64": lambda: round(rng.uniform(0, 1000), 3),
            "bool": lambda: rng.random() < 0.5,
            "date": lambda: (self.day - dt.timedelta(days=rng.randint(0, 30))).isoformat(),
            "timestamp": lambda: self.tick(),
        }[column.type]()

    def tick(self) -> str:
        """Monotonic ISO-8601 UTC timestamps with milliseconds, as clickstream exports have."""
        self._clock += dt.timedelta(milliseconds=self.rng.randint(50, 90_000))
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    # -- sales -------------------------------------------------------------------------------
    def order_id(self, row: Row, n: int) -> int:
        return 1_000_000 * (self.index + 1) + n

    def sku(self, row: Row, n: int) -> str:
        stem, price = self.rng.choice(_PRODUCTS)
        row["_price"] = price
        size = self.rng.choice(_SIZES) if stem.startswith(("TSH", "HOOD", "SOCK")) else "OS"
        return f"{stem}-{size}"

    def currency(self, row: Row, n: int) -> str:
        return _weighted(self.rng, [(c[0], c[2]) for c in _CURRENCIES])

    def unit_price(self, row: Row, n: int) -> float:
        # Prices depend on the product; the currency column comes later, so convert there.
        return round(row.get("_price", 10.0) * self.rng.uniform(0.9, 1.1), 2)

    # -- events ------------------------------------------------------------------------------
    def event_value(self, row: Row, n: int) -> float | None:
        if row.get("event_type") in {"add_to_cart", "purchase", "checkout_started"}:
            return round(self.rng.uniform(5, 250), 2)
        return None

    # -- tracks ------------------------------------------------------------------------------
    def track_id(self, row: Row, n: int) -> str:
        return "".join(self.rng.choice(_BASE62) for _ in range(22))

    def release_date(self, row: Row, n: int) -> str | None:
        year = self.rng.randint(1965, self.day.year)
        shape = self.rng.random()
        if shape < 0.05:
            return None
        if shape < 0.2:  # Spotify reports year-only precision for older releases
            return str(year)
        return dt.date(year, self.rng.randint(1, 12), self.rng.randint(1, 28)).isoformat()


def _finish_sales(row: Row) -> None:
    rate = next(c[1] for c in _CURRENCIES if c[0] == row.get("currency"))
    if isinstance(row.get("unit_price"), float):
        row["unit_price"] = round(row["unit_price"] * rate, 2)
    row.pop("_price", None)


def finish(dataset: str, rows: list[Row]) -> list[Row]:
    """Drop helper fields and apply cross-column adjustments once every column is filled."""
    for row in rows:
        if dataset == "sales" and "currency" in row:
            _finish_sales(row)
        row.pop("_price", None)
    return rows


_Maker = Callable[[RowFactory, Row, int], Any]
_KNOWN: dict[tuple[str, str], _Maker] = {
    ("sales", "order_id"): RowFactory.order_id,
    ("sales", "order_date"): lambda f, r, n: (
        f.day - dt.timedelta(days=f.rng.randint(0, 6))
    ).isoformat(),
    ("sales", "customer_id"): lambda f, r, n: f"C-{f.rng.randint(1, 99_999):05d}",
    ("sales", "sku"): RowFactory.sku,
    ("sales", "quantity"): lambda f, r, n: _weighted(
        f.rng, [(1, 60), (2, 22), (3, 9), (5, 5), (10, 4)]
    ),
    ("sales", "unit_price"): RowFactory.unit_price,
    ("sales", "currency"): RowFactory.currency,
    ("sales", "coupon"): lambda f, r, n: f.rng.choice(_COUPONS) if f.rng.random() < 0.2 else None,
    ("events", "event_id"): lambda f, r, n: str(uuid.UUID(int=f.rng.getrandbits(128), version=4)),
    ("events", "occurred_at"): lambda f, r, n: f.tick(),
    ("events", "user_id"): lambda f, r, n: f.rng.choice(f._users),
    ("events", "event_type"): lambda f, r, n: _weighted(f.rng, _EVENT_TYPES),
    ("events", "value"): RowFactory.event_value,
    ("tracks", "track_id"): RowFactory.track_id,
    ("tracks", "name"): lambda f, r, n: f"{f.rng.choice(_WORDS_A)} {f.rng.choice(_WORDS_B)}",
    ("tracks", "artists"): lambda f, r, n: ", ".join(
        f.rng.sample(_ARTISTS, _weighted(f.rng, [(1, 75), (2, 20), (3, 5)]))
    ),
    ("tracks", "album"): lambda f, r, n: f"{f.rng.choice(_WORDS_B)} of {f.rng.choice(_WORDS_A)}",
    ("tracks", "release_date"): RowFactory.release_date,
    ("tracks", "duration_ms"): lambda f, r, n: f.rng.randint(95_000, 420_000),
    ("tracks", "popularity"): lambda f, r, n: (
        None if f.rng.random() < 0.05 else f.rng.randint(0, 100)
    ),
    ("tracks", "explicit"): lambda f, r, n: f.rng.random() < 0.15,
}
