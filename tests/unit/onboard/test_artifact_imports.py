"""The onboard functions' artifact bundles pyarrow and ADBC but not numpy: the domain code must
import and convert without it."""

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
    assert result.stdout.strip() == "[Decimal('1.50'), None]"
