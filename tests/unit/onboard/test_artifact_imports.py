"""The onboard functions' artifact bundles pyarrow, ADBC and SQLAlchemy but not numpy: the domain
code (both extraction paths) must import and convert without it."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import ROOT

CODE = """
import sys
sys.modules["numpy"] = None  # as in the Lambda artifact: importing it fails
import pyarrow as pa
from headwater.onboard import declarations, parts, postgres, s3_store
from headwater.onboard.declarations import TableDecl
column = postgres.Column("n", "numeric", "numeric(6,2)", 6 << 16 | 6, False,
                         pa.decimal128(6, 2), "numeric")
plan = postgres.TablePlan(TableDecl("public", "t"), (column,), ("n",))
batch = pa.record_batch([pa.array(["1.50", None])], names=["n"])
print(postgres.convert_batch(batch, plan).column(0).to_pylist())
import decimal
import sqlalchemy as sa
from headwater.onboard import portable
column = portable.PortableColumn("n", "NUMERIC(6, 2)", pa.decimal128(6, 2), "decimal", True)
plan = portable.PortablePlan(TableDecl("main", "t"), (column,), ("n",), sa.table("t"))
print(plan.to_batch([(decimal.Decimal("2.25"),), (None,)]).column(0).to_pylist())
"""


def test_onboard_domain_imports_and_converts_without_numpy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[Decimal('1.50'), None]", "[Decimal('2.25'), None]"]
