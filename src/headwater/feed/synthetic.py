"""The default source: deterministic, offline, realistic files for every dataset contract.

A share of the files is deliberately bad, spread over the ways real exports go wrong, and each one
records the quarantine rule the processor must report. Everything is a function of the seed and
the day, so two runs with the same arguments produce byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from headwater.feed.contracts import Contract, load_contracts
from headwater.feed.encode import encode, to_csv_text
from headwater.feed.model import Expected, FeedFile
from headwater.feed.values import Row, RowFactory, finish

DEFAULT_DAY = dt.date(2026, 11, 23)
STEMS = {"sales": "orders", "events": "events", "tracks": "tracks"}
# Good files whose keys carry spaces and non-ASCII characters, as exports from real desktops do.
UNICODE_DIRS = {"sales": "Kunden März", "events": "région été", "tracks": "Playlists 東京"}
LATIN1_COUPONS = ["GRÜN10", "ÉTÉ20", "FRÜHJAHR", "NOËL15", "SÜSS5"]


@dataclass
class _Slot:
    """One planned file: a good one (kind None) for ``dataset``, or a bad one of ``kind``."""

    index: int
    dataset: str | None
    kind: str | None = None
    unicode_key: bool = False


class SyntheticSource:
    """Generates ``files`` files of ``rows`` rows each; ``bad_share`` of them are bad."""

    name = "synthetic"

    def __init__(
        self,
        files: int = 30,
        rows: int = 100,
        bad_share: float = 0.2,
        seed: int = 0,
        day: dt.date = DEFAULT_DAY,
        contracts: dict[str, Contract] | None = None,
    ) -> None:
        if files < 0 or rows < 1:
            raise ValueError("files must be >= 0 and rows >= 1")
        if not 0.0 <= bad_share <= 1.0:
            raise ValueError(f"bad share must be between 0 and 1, got {bad_share}")
        self.file_count = files
        self.rows = rows
        self.bad_share = bad_share
        self.seed = seed
        self.day = day
        self.contracts = contracts or load_contracts()
        missing = {"sales", "events", "tracks"} - set(self.contracts)
        if missing:
            raise ValueError(f"the synthetic source needs the contracts {sorted(missing)}")

    @property
    def total(self) -> int:
        return self.file_count

    def plan(self) -> list[_Slot]:
        rng = random.Random(f"{self.seed}:plan")  # noqa: S311 - reproducible test data, not secrets
        n_bad = round(self.file_count * self.bad_share)
        bad_positions = rng.sample(range(self.file_count), n_bad)
        # Cycle through every kind before repeating one, so 9 bad files cover all 9 kinds.
        kinds = [BAD_KINDS[j % len(BAD_KINDS)].name for j in range(n_bad)]
        rng.shuffle(kinds)
        bad_at = dict(zip(bad_positions, kinds, strict=True))
        datasets = list(STEMS)
        slots, good = [], 0
        for index in range(self.file_count):
            if index in bad_at:
                slots.append(_Slot(index, None, kind=bad_at[index]))
                continue
            slots.append(_Slot(index, datasets[good % 3], unicode_key=good % 8 == 2))
            good += 1
        return slots

    def files(self) -> Iterator[FeedFile]:
        for slot in self.plan():
            # A generator per file (seeded by its position) keeps files independent of each other.
            rng = random.Random(f"{self.seed}:{slot.index}")  # noqa: S311
            yield self._bad(slot, rng) if slot.kind else self._good(slot, rng)

    # -- builders ----------------------------------------------------------------------------
    def key(
        self, dataset: str, index: int, ext: str | None = None, unicode_key: bool = False
    ) -> str:
        contract = self.contracts[dataset]
        ext = ext or contract.extension
        if unicode_key:
            return f"{contract.prefix}{UNICODE_DIRS[dataset]}/{STEMS[dataset]} {index:04d}.{ext}"
        return f"{contract.prefix}{self.day.isoformat()}/{STEMS[dataset]}-{index:04d}.{ext}"

    def make_rows(self, dataset: str, rng: random.Random, index: int, count: int) -> list[Row]:
        factory = RowFactory(rng, self.day, index)
        return finish(dataset, factory.rows(dataset, self.contracts[dataset].columns, count))

    def _good(self, slot: _Slot, rng: random.Random) -> FeedFile:
        assert slot.dataset is not None
        contract = self.contracts[slot.dataset]
        rows = self.make_rows(slot.dataset, rng, slot.index, self.rows)
        body = encode(contract.format, contract.names, rows).encode("utf-8")
        key = self.key(slot.dataset, slot.index, unicode_key=slot.unicode_key)
        return FeedFile(key, body, Expected.curated(len(rows)), dataset=slot.dataset)

    def _bad(self, slot: _Slot, rng: random.Random) -> FeedFile:
        kind = BAD_BY_NAME[slot.kind or ""]
        dataset = rng.choice(kind.datasets)
        # Bad files need a few rows so "row 2 is wrong" and "duplicate of row 0" make sense.
        rows = self.make_rows(dataset, rng, slot.index, max(self.rows, 3))
        key, body = kind.make(self, _BadContext(dataset, slot.index, rng, rows))
        return FeedFile(
            key,
            body,
            Expected.quarantined(kind.rule),
            dataset=None if kind.rule == "unknown_dataset" else dataset,
        )


@dataclass
class _BadContext:
    dataset: str
    index: int
    rng: random.Random
    rows: list[Row]


def _text(src: SyntheticSource, ctx: _BadContext, rows: list[Row] | None = None) -> str:
    contract = src.contracts[ctx.dataset]
    return encode(contract.format, contract.names, ctx.rows if rows is None else rows)


def _malformed(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    """A CSV whose structure is broken: an unbalanced quote, or a row with an extra field."""
    lines = _text(src, ctx).splitlines(keepends=True)
    n = ctx.rng.randint(1, len(lines) - 1)
    cells = lines[n].rstrip("\n").split(",")
    if ctx.rng.random() < 0.5:
        # Opening quote in the second field that never closes: the rest of the file becomes one
        # field, so the row has too few columns whatever the parser's newline handling.
        cells[1] = '"' + cells[1]
    else:
        cells.insert(3, "EXTRA")  # a stray delimiter from an unescaped comma in a free-text field
    lines[n] = ",".join(cells) + "\n"
    return src.key(ctx.dataset, ctx.index), "".join(lines).encode("utf-8")


def _type_mismatch(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    row = ctx.rows[ctx.rng.randint(1, len(ctx.rows) - 1)]
    if ctx.dataset == "sales":
        # European decimal comma and a spelled-out number: the classic hand-edited export.
        if ctx.rng.random() < 0.5:
            row["unit_price"] = f"{row['unit_price']:.2f}".replace(".", ",")
        else:
            row["quantity"] = "three"
    else:
        row["value"] = "n/a"
    return src.key(ctx.dataset, ctx.index), _text(src, ctx).encode("utf-8")


def _missing_column(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    contract = src.contracts[ctx.dataset]
    droppable = [c.name for c in contract.required() if c.name not in contract.primary_key]
    dropped = ctx.rng.choice(droppable)
    columns = [c for c in contract.names if c != dropped]
    return src.key(ctx.dataset, ctx.index), to_csv_text(columns, ctx.rows).encode("utf-8")


def _empty(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    return src.key(ctx.dataset, ctx.index), b""


def _encoding(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    """A CSV saved as Latin-1 (Windows export): umlauts are single bytes, invalid in UTF-8."""
    for n, row in enumerate(ctx.rows):
        if n == 0 or ctx.rng.random() < 0.3:
            row["coupon"] = ctx.rng.choice(LATIN1_COUPONS)
    return src.key(ctx.dataset, ctx.index), _text(src, ctx).encode("latin-1")


def _unsupported(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    """A spreadsheet dropped where CSVs belong: a real (minimal) zip container like .xlsx."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("[Content_Types].xml", "xl/worksheets/sheet1.xml"):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, f"<!-- {name} -->\n" + _text(src, ctx))
    return src.key(ctx.dataset, ctx.index, ext="xlsx"), buffer.getvalue()


def _unknown_dataset(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    rows = [
        {
            "sku": r["sku"],
            "warehouse": ctx.rng.choice(["BER-1", "HAM-2"]),
            "on_hand": ctx.rng.randint(0, 500),
        }
        for r in ctx.rows
    ]
    key = f"inventory/{src.day.isoformat()}/stock-{ctx.index:04d}.csv"
    return key, to_csv_text(["sku", "warehouse", "on_hand"], rows).encode("utf-8")


def _null_value(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    contract = src.contracts[ctx.dataset]
    column = ctx.rng.choice(
        [c.name for c in contract.required() if c.name not in contract.primary_key]
    )
    ctx.rows[ctx.rng.randint(1, len(ctx.rows) - 1)][column] = None
    return src.key(ctx.dataset, ctx.index), _text(src, ctx).encode("utf-8")


def _duplicate_key(src: SyntheticSource, ctx: _BadContext) -> tuple[str, bytes]:
    contract = src.contracts[ctx.dataset]
    original, copy = ctx.rows[0], ctx.rows[ctx.rng.randint(1, len(ctx.rows) - 1)]
    for name in contract.primary_key:
        copy[name] = original[name]
    return src.key(ctx.dataset, ctx.index), _text(src, ctx).encode("utf-8")


@dataclass(frozen=True)
class BadKind:
    name: str
    rule: str
    datasets: tuple[str, ...]
    make: Callable[[SyntheticSource, _BadContext], tuple[str, bytes]]


# CSV-only kinds stay on the CSV dataset: a missing JSON key or a JSON null could fairly be
# reported either as missing_column or as null_value, and the expectation must be unambiguous.
BAD_KINDS: tuple[BadKind, ...] = (
    BadKind("malformed", "malformed", ("sales",), _malformed),
    BadKind("type_mismatch", "type_mismatch", ("sales", "events"), _type_mismatch),
    BadKind("missing_column", "missing_column", ("sales",), _missing_column),
    BadKind("empty_file", "empty_file", ("sales", "events", "tracks"), _empty),
    BadKind("encoding", "encoding", ("sales",), _encoding),
    BadKind("unsupported_format", "unsupported_format", ("sales",), _unsupported),
    BadKind("unknown_dataset", "unknown_dataset", ("sales",), _unknown_dataset),
    BadKind("null_value", "null_value", ("events", "tracks"), _null_value),
    BadKind("duplicate_key", "duplicate_key", ("sales", "events", "tracks"), _duplicate_key),
)
BAD_BY_NAME = {kind.name: kind for kind in BAD_KINDS}
