"""Benchmark the onboard worker's data path (PostgreSQL table to Parquet parts) against the
public design, dlt's sql_database and the COPY ceiling, on one table, in the same run.

    uv run --group bench python -m bench.onboard_bench    # 5,000,000 rows (and 1,000,000)
    uv run --group bench python -m bench.onboard_bench --rows 200000 --flat-rows 50000

Starts ``headwater.local.postgres.Server`` in a temporary directory (loopback only; or uses a
running one, ``--use-server``), creates a mixed-type table shaped like the demo's
``public.events`` (bigint key, timestamptz, text, int, numeric(12,2), float8, jsonb, text[], a
NULL-able text, bool) with ``--rows`` rows and a second one with ``--flat-rows`` rows, vacuums
and reads both once (so no case pays for hint bits or a cold cache), then runs every case in its
own subprocess: wall time inside the child after its imports (timed apart), and the child's own
peak RSS (``ru_maxrss``). Cases:

- worker: the worker's path, ``headwater.onboard.postgres.describe`` + ``stream`` (ADBC record
  batches converted to the table's Arrow schema) into ``headwater.onboard.parts.PartWriter``
  over a local directory store;
- adbc: the bare driver, ADBC ``fetch_record_batch`` into one ``ParquetWriter``, no conversion;
- public: the public design, psycopg2 ``fetchall``, ``str()`` of every value, one JSON document;
- dlt: dlt's ``sql_database`` (``sql_table``, pyarrow backend) into its filesystem destination
  as Parquet;
- copy: the ceiling, psql's ``\\copy (SELECT ...) TO '/dev/null'`` (psycopg's copy loop where
  no psql is installed).

Every case reads in key order. worker, adbc and copy take turns for ``--rounds`` rounds (the
median is kept), public and dlt run ``--slow-rounds`` times. The worker case also runs on the
``--flat-rows`` table: its peak RSS must not grow with the table. Ratios are against the public
design and the ceiling of the same run. Targets (issue 9): worker rows/s >= 4x public and >= 0.4x
ceiling, peak RSS < 320 MB, flat (5M within 15% of 1M).

A case runs only when its packages are importable (``--cases`` narrows it further); the
baselines' packages are in the ``bench`` dependency group, not in the test suite's environment.
Each case's row count is checked (Parquet metadata, the JSON document's length, COPY's count)
and the run exits 1 on a mismatch. Prints a Markdown table, writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import RESULTS_DIR, machine, now, write_report
from tests.support.paths import ROOT

CASES = ("worker", "adbc", "public", "dlt", "copy")
PUBLIC = "public"
CEILING = "copy"
# Minutes each at 5M rows and far from the worker's figures: --slow-rounds of them, not --rounds.
SLOW_CASES = ("public", "dlt")
# The modules a case imports: a case whose modules are missing is left out (and said so).
REQUIRES = {
    "worker": ("adbc_driver_postgresql", "headwater.onboard.postgres", "headwater.onboard.parts"),
    "adbc": ("adbc_driver_postgresql",),
    "public": ("psycopg2",),
    "dlt": ("dlt", "sqlalchemy", "psycopg2"),
    "copy": ("psycopg",),  # or a psql client (see available)
}
# What a case imports before its clock starts.
PRELOAD = {
    "worker": (
        "pyarrow.parquet",
        "adbc_driver_postgresql.dbapi",
        "headwater.onboard.postgres",
        "headwater.onboard.parts",
    ),
    "adbc": ("pyarrow.parquet", "adbc_driver_postgresql.dbapi"),
    "public": ("psycopg2",),
    "dlt": ("dlt", "dlt.sources.sql_database", "dlt.destinations", "sqlalchemy", "psycopg2"),
    "copy": (),
}
TARGET_X_PUBLIC = 4.0
TARGET_X_CEILING = 0.4
TARGET_RSS_MB = 320
FLAT_TOLERANCE = 1.15
DATABASE = "bench"
SETTINGS_ENV = "HW_ONBOARD_BENCH_SETTINGS"  # the children's connection settings (JSON)
SCHEMA = "public"


def available(case: str) -> bool:
    if case == "copy" and psql() is not None:
        return True
    for module in REQUIRES[case]:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except ModuleNotFoundError:
            return False
    return True


# --- the server -------------------------------------------------------------------------------


@contextlib.contextmanager
def running_server() -> Iterator[dict[str, Any]]:
    """``headwater.local.postgres.Server`` in a fresh directory under the system temp folder
    (as root the server runs as an unprivileged user, who must reach it), not durable (fsync
    off: only the table's creation writes); yields its connection settings (an RDS secret's
    shape, database ``bench``)."""
    from headwater.local.postgres import Server

    root = Path(tempfile.mkdtemp(prefix="hw-onboard-pg-"))
    root.chmod(0o755)
    server = Server(root / "pg", durable=False)
    try:
        server.start()
        yield server.settings(DATABASE)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def uri(settings: dict[str, Any], database: str | None = None) -> str:
    user, password = quote(settings["username"], safe=""), quote(settings["password"], safe="")
    db = quote(database or settings["dbname"], safe="")
    return (
        f"postgresql://{user}:{password}@{settings['host']}:{settings['port']}/{db}?sslmode=disable"
    )


def create_tables(settings: dict[str, Any], tables: dict[str, int], create_database: bool) -> None:
    """The mixed-type tables, ``{name: rows}``, built server-side, vacuumed, read once (in the
    settings' database, created first when ``create_database``)."""
    import adbc_driver_postgresql.dbapi as pg

    if create_database:
        with pg.connect(uri(settings, "postgres"), autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{settings["dbname"]}"')
    with pg.connect(uri(settings), autocommit=True) as conn, conn.cursor() as cur:
        for name, rows in tables.items():
            cur.execute(
                f"""CREATE TABLE {SCHEMA}.{name} (
                    id bigint NOT NULL, occurred_at timestamptz NOT NULL, kind text NOT NULL,
                    user_id int NOT NULL, amount numeric(12,2), score float8, payload jsonb,
                    tags text[], note text, flag bool)"""
            )
            cur.execute(
                f"""INSERT INTO {SCHEMA}.{name}
                SELECT g,
                       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second',
                       (ARRAY['click', 'view', 'purchase', 'share'])[1 + g % 4],
                       (g * 7919) % 100000,
                       ((g * 37) % 10000000) / 100.0,
                       (g % 1000) / 7.0,
                       jsonb_build_object('n', g, 'src', 'web', 'ok', g % 3 = 0),
                       ARRAY['t' || (g % 10), 'u' || (g % 7)],
                       CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END,
                       g % 2 = 0
                FROM generate_series(1::bigint, {rows}) AS g"""
            )
            cur.execute(f"ALTER TABLE {SCHEMA}.{name} ADD PRIMARY KEY (id)")
            cur.execute(f"VACUUM (ANALYZE, FREEZE) {SCHEMA}.{name}")
            cur.execute(f"SELECT count(*) FROM {SCHEMA}.{name}")
            cur.fetchall()


# --- cases: each runs in a child process -------------------------------------------------------


def select_sql(table: str) -> str:
    return f"SELECT * FROM {SCHEMA}.{table} ORDER BY id"


class DirectoryStore:
    """The worker's store port over a local directory (what S3Store does on S3)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put_file(self, key: str, path: str | Path) -> None:
        shutil.copyfile(path, self._path(key))

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._path(key).write_bytes(data)

    def get_bytes(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def list(self, prefix: str) -> list[str]:
        return sorted(
            str(p.relative_to(self.root))
            for p in self.root.rglob("*")
            if p.is_file()
            if str(p.relative_to(self.root)).startswith(prefix)
        )

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)


def run_worker(settings: dict[str, Any], table: str, out: Path, args: argparse.Namespace) -> dict:
    from headwater.onboard import postgres
    from headwater.onboard.declarations import TableDecl
    from headwater.onboard.parts import PartWriter

    connection = postgres.ConnectionSettings.from_secret(settings)
    decl = TableDecl(schema=SCHEMA, table=table)  # every column, the primary key
    with postgres.connect(connection) as conn:
        plan = postgres.describe(conn, decl)
        writer = PartWriter(DirectoryStore(out), f"{table}/run=bench/", args.part_bytes)
        for batch in postgres.stream(conn, plan):
            writer.write(batch)
        parts = writer.finish()
    return {"files": len(parts)}


def run_adbc(settings: dict[str, Any], table: str, out: Path, args: argparse.Namespace) -> dict:
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    with pg.connect(uri(settings)) as conn, conn.cursor() as cur:
        cur.execute(select_sql(table))
        reader = cur.fetch_record_batch()
        with pq.ParquetWriter(out / "part-00000.parquet", reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    return {"files": 1}


def run_public(settings: dict[str, Any], table: str, out: Path, args: argparse.Namespace) -> dict:
    import psycopg2

    out.mkdir(parents=True, exist_ok=True)
    conn = psycopg2.connect(
        host=settings["host"],
        port=settings["port"],
        dbname=settings["dbname"],
        user=settings["username"],
        password=settings["password"],
        sslmode="disable",
    )
    try:
        with conn.cursor() as cur:
            cur.execute(select_sql(table))
            rows = cur.fetchall()
            columns = [d[0] for d in cur.description]
    finally:
        conn.close()
    document = json.dumps([{c: str(v) for c, v in zip(columns, row, strict=True)} for row in rows])
    (out / f"{table}.json").write_text(document)
    return {"files": 1, "rows": len(rows)}


def run_dlt(settings: dict[str, Any], table: str, out: Path, args: argparse.Namespace) -> dict:
    import dlt
    from dlt.sources.sql_database import sql_table

    url = uri(settings).replace("postgresql://", "postgresql+psycopg2://", 1)
    resource_ = sql_table(credentials=url, table=table, schema=SCHEMA, backend="pyarrow")
    pipeline = dlt.pipeline(
        pipeline_name="onboard_bench",
        pipelines_dir=str(out / "_dlt" / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(out / "data").as_uri()),
        dataset_name="bench",
    )
    pipeline.run(resource_, loader_file_format="parquet")
    files = [p for p in (out / "data").rglob("*.parquet") if p.is_file()]
    steps = {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in pipeline.last_trace.steps
        if step.finished_at is not None
    }
    return {"files": len(files), "steps": steps}


def psql() -> str | None:
    """A psql client: on PATH, or beside the server binaries."""
    if found := shutil.which("psql"):
        return found
    from headwater.local.postgres import PostgresError, find_binaries

    try:
        candidate = find_binaries() / "psql"
    except PostgresError:
        return None
    return str(candidate) if candidate.is_file() else None


def run_copy(settings: dict[str, Any], table: str, out: Path, args: argparse.Namespace) -> dict:
    """psql's ``\\copy ... TO '/dev/null'``: a C client, so the server's COPY and the socket are
    the limit. With no psql, psycopg's copy loop (one Python iteration per row, a lower
    ceiling); ``client`` says which."""
    client = psql()
    if client is None:
        return _copy_psycopg(settings, table)
    env = {
        **os.environ,
        "PGHOST": settings["host"],
        "PGPORT": str(settings["port"]),
        "PGUSER": settings["username"],
        "PGPASSWORD": settings["password"],
        "PGDATABASE": settings["dbname"],
        "PGSSLMODE": "disable",
    }
    command = rf"\copy ({select_sql(table)}) TO '/dev/null'"
    done = subprocess.run(
        [client, "-X", "-v", "ON_ERROR_STOP=1", "-c", command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows = int(done.stdout.split()[-1])  # "COPY <rows>"
    return {"files": 0, "rows": rows, "client": "psql"}


def _copy_psycopg(settings: dict[str, Any], table: str) -> dict:
    import psycopg

    rows = 0
    with (
        psycopg.connect(uri(settings)) as conn,
        conn.cursor() as cur,
        open(os.devnull, "wb") as sink,
        cur.copy(f"COPY ({select_sql(table)}) TO STDOUT") as copy,
    ):
        for data in copy:  # libpq hands COPY out one row per message
            rows += 1
            sink.write(data)
    return {"files": 0, "rows": rows, "client": "psycopg"}


RUNNERS = {
    "worker": run_worker,
    "adbc": run_adbc,
    "public": run_public,
    "dlt": run_dlt,
    "copy": run_copy,
}


def child(args: argparse.Namespace) -> None:
    # The public design holds the whole table (gigabytes at 5M rows) on a machine others share:
    # should memory run out, the kernel kills a case of this bench first, nobody else's process.
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")
    settings = json.loads(os.environ[SETTINGS_ENV])
    if args.case == "setup":
        create_tables(settings, json.loads(args.tables), not args.use_server)
        return
    out = Path(args.output)
    if args.case == "dlt":  # before dlt is imported: no telemetry, its files under out/
        os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
        os.environ["DLT_DATA_DIR"] = os.environ["DLT_PROJECT_DIR"] = str(out / "_dlt")
    # Imports are not the data path: a warm function has them already. Timed apart.
    started = time.perf_counter()
    for module in PRELOAD[args.case]:
        importlib.import_module(module)
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = RUNNERS[args.case](settings, args.table, out, args)
    seconds = time.perf_counter() - started
    result["import_seconds"] = import_seconds
    # KiB on Linux; a client process of the case's own (psql) counts as the case.
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    # Checks after the measurement: they add nothing to the case's time or peak.
    if "rows" not in result:
        result["rows"] = parquet_rows(out)
    result["output_mb"] = output_bytes(out) / 2**20
    print(json.dumps({**result, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}))


# --- parent -------------------------------------------------------------------------------------


def parquet_rows(out: Path) -> int:
    import pyarrow.parquet as pq

    return sum(
        pq.ParquetFile(p).metadata.num_rows for p in out.rglob("*.parquet") if "_dlt" not in p.parts
    )


def output_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and "_dlt" not in p.parts)


def _in_child(
    what: str, settings: dict[str, Any], *options: str
) -> subprocess.CompletedProcess[str]:
    """Run ``what`` (a case, or ``setup``) in a fresh interpreter.

    The parent never imports pyarrow or a driver: Linux carries a process's peak RSS across
    fork and exec, so a heavy parent would lift every child's ``ru_maxrss`` to its own."""
    command = [sys.executable, "-m", "bench.onboard_bench", "--child", what, *options]
    env = {**os.environ, SETTINGS_ENV: json.dumps(settings)}  # not argv: it holds the password
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done


def run_case(
    case: str, table: str, rows: int, settings: dict[str, Any], work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    out = work / f"out-{case}-{table}"
    done = _in_child(
        case,
        settings,
        "--table",
        table,
        "--output",
        str(out),
        "--part-bytes",
        str(args.part_bytes),
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(case=case, table=table, table_rows=rows, rows_per_s=rows / result["seconds"])
    shutil.rmtree(out, ignore_errors=True)
    return result


def merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One case's rounds: the median round's time, the highest peak RSS, every round's seconds."""
    ordered = sorted(rounds, key=lambda r: r["seconds"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["rounds"] = len(rounds)
    median["round_seconds"] = [r["seconds"] for r in rounds]
    median["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    if any(r["rows"] != median["table_rows"] for r in rounds):
        median["rows"] = next(r["rows"] for r in rounds if r["rows"] != median["table_rows"])
    return median


def markdown_table(results: list[dict[str, Any]]) -> str:
    public = next((r for r in results if r["case"] == PUBLIC), None)
    ceiling = next((r for r in results if r["case"] == CEILING), None)
    lines = [
        "| case | table rows | seconds | rows/s | x public | x ceiling | peak RSS MB | files "
        "| output MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        x_public = f"{r['rows_per_s'] / public['rows_per_s']:.2f}" if public else "-"
        x_ceiling = f"{r['rows_per_s'] / ceiling['rows_per_s']:.2f}" if ceiling else "-"
        lines.append(
            f"| {r['case']} | {r['table_rows']:,} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} | "
            f"{x_public} | {x_ceiling} | {r['peak_rss_mb']:.0f} | {r['files']} | "
            f"{r['output_mb']:.0f} |"
        )
    return "\n".join(lines)


def verdict(results: list[dict[str, Any]], main_rows: int) -> dict[str, Any]:
    """The targets, for the worker's path (or the bare driver's when the worker's is absent)."""
    main = {r["case"]: r for r in results if r["table_rows"] == main_rows}
    path = "worker" if "worker" in main else "adbc" if "adbc" in main else None
    if path is None:
        return {}
    subject = main[path]
    out: dict[str, Any] = {"path": path, "peak_rss_mb": subject["peak_rss_mb"]}
    out["rss_ok"] = subject["peak_rss_mb"] < TARGET_RSS_MB
    if PUBLIC in main:
        out["x_public"] = subject["rows_per_s"] / main[PUBLIC]["rows_per_s"]
        out["x_public_ok"] = out["x_public"] >= TARGET_X_PUBLIC
    if CEILING in main:
        out["x_ceiling"] = subject["rows_per_s"] / main[CEILING]["rows_per_s"]
        out["x_ceiling_ok"] = out["x_ceiling"] >= TARGET_X_CEILING
    small = next((r for r in results if r["case"] == path and r["table_rows"] != main_rows), None)
    if small is not None:
        out["rss_growth"] = subject["peak_rss_mb"] / small["peak_rss_mb"]
        out["flat_ok"] = out["rss_growth"] <= FLAT_TOLERANCE
    return out


def describe_verdict(v: dict[str, Any]) -> str:
    def mark(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    parts = [f"peak RSS {v['peak_rss_mb']:.0f} MB < {TARGET_RSS_MB} MB -> {mark(v['rss_ok'])}"]
    if "x_public" in v:
        parts.append(
            f"{v['x_public']:.2f}x public >= {TARGET_X_PUBLIC}x -> {mark(v['x_public_ok'])}"
        )
    if "x_ceiling" in v:
        parts.append(
            f"{v['x_ceiling']:.2f}x ceiling >= {TARGET_X_CEILING}x -> {mark(v['x_ceiling_ok'])}"
        )
    if "rss_growth" in v:
        parts.append(
            f"RSS {v['rss_growth']:.2f}x from the small table <= {FLAT_TOLERANCE}x -> "
            f"{mark(v['flat_ok'])}"
        )
    return f"{v['path']} targets: " + "; ".join(parts)


def parent(args: argparse.Namespace) -> int:
    cases = [c for c in args.cases if available(c)]
    missing = [c for c in args.cases if c not in cases]
    if missing:
        print(f"left out (packages not installed): {', '.join(missing)}", file=sys.stderr)
    if not cases:
        raise SystemExit("no case can run: install the bench group (uv run --group bench ...)")
    work = Path(tempfile.mkdtemp(prefix="hw-onboard-bench-", dir=args.work_dir))
    main_table, flat_table = f"events_{args.rows}", f"events_{args.flat_rows}"
    tables = {main_table: args.rows}
    if args.flat_rows and args.flat_rows != args.rows:
        tables[flat_table] = args.flat_rows
    results: list[dict[str, Any]] = []
    load_at_start = os.getloadavg()
    try:
        with contextlib.ExitStack() as stack:
            if args.use_server:
                settings = json.loads(os.environ[SETTINGS_ENV])
            else:
                settings = stack.enter_context(running_server())
            started = time.perf_counter()
            setup = ["--tables", json.dumps(tables), *(["--use-server"] if args.use_server else [])]
            _in_child("setup", settings, *setup)
            print(
                f"created {', '.join(f'{n} ({r:,} rows)' for n, r in tables.items())} "
                f"in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
            flat_case = next((c for c in ("worker", "adbc") if c in cases), None)
            runs = [(c, main_table, args.rows) for c in cases]
            if flat_table in tables and flat_case:
                runs.append((flat_case, flat_table, args.flat_rows))
            rounds: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for n in range(args.rounds):
                # Cases take turns, each round in the other order: a shared machine's load
                # drifting during the run weighs on every case alike.
                for case, table, rows in runs if n % 2 == 0 else runs[::-1]:
                    if case in SLOW_CASES and n >= args.slow_rounds:
                        continue
                    print(f"round {n + 1}: {case} on {rows:,} rows ...", file=sys.stderr)
                    result = run_case(case, table, rows, settings, work, args)
                    rounds.setdefault((case, rows), []).append(result)
            results = [merge(rounds[case, rows]) for case, _, rows in runs]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.rows:,}-row mixed-type table; cases: {', '.join(cases)}\n")
    print(markdown_table(results))
    v = verdict(results, args.rows)
    if v:
        print("\n" + describe_verdict(v))
    report = {
        "when": now(),
        "machine": machine(),
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        "input": {
            "rows": args.rows,
            "flat_rows": args.flat_rows,
            "part_bytes": args.part_bytes,
            "rounds": args.rounds,
            "slow_rounds": args.slow_rounds,
        },
        "cases": cases,
        "left_out": missing,
        "results": results,
        "verdict": v,
    }
    out = write_report(report, args.results_dir, f"onboard-{args.rows}")
    print(f"\nresults: {out}", file=sys.stderr)
    mismatched = [
        f"{r['case']} ({r['rows']:,} of {r['table_rows']:,})"
        for r in results
        if r["rows"] != r["table_rows"]
    ]
    if mismatched:
        print(f"row count mismatch in: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--flat-rows", type=int, default=1_000_000, help="0: no RSS check")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--part-bytes", type=int, default=128 * 2**20)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each case (median kept)")
    parser.add_argument("--slow-rounds", type=int, default=1, help="runs of public and dlt")
    parser.add_argument("--work-dir", default=None, help="where the server and outputs go")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument(
        "--use-server",
        action="store_true",
        help=f"use a running server instead of starting one: ${SETTINGS_ENV} holds its settings "
        "(JSON, an RDS secret's shape) naming an existing database, where the tables are created",
    )
    parser.add_argument("--child", choices=[*CASES, "setup"], dest="case", help=argparse.SUPPRESS)
    parser.add_argument("--tables", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        child(args)
        return 0
    return parent(args)


if __name__ == "__main__":
    raise SystemExit(main())
