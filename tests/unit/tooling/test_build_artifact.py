"""Fast tests of scripts/build_artifact.py: package-only (--local) builds, no network."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PROJECT_ROOT = ROOT
SCRIPT = PROJECT_ROOT / "scripts" / "build_artifact.py"
PACKAGE_DIR = PROJECT_ROOT / "src" / "headwater"


def _load_script():
    spec = importlib.util.spec_from_file_location("build_artifact", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


build_artifact = _load_script()


def _run_script(*args: str, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    # TMPDIR points at a directory of the test's own, so the test can see leftovers.
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of src/headwater with bytecode planted in it (as any test run leaves behind)."""
    copy = tmp_path / "src" / "headwater"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (copy / "handlers" / "__pycache__").mkdir(exist_ok=True)
    (copy / "handlers" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\x00bytecode")
    (copy / "stray.pyc").write_bytes(b"\x00bytecode")
    return copy


def test_local_build_contains_package_and_contracts_only(tmp_path: Path, scratch: Path) -> None:
    out = tmp_path / "out"
    completed = _run_script("--local", "--out", str(out), tmpdir=scratch)
    assert completed.returncode == 0, completed.stderr

    artifact = out / "lambda-local.zip"
    assert f"artifact: {artifact}" in completed.stdout
    assert "unzipped size:" in completed.stdout and "zipped size:" in completed.stdout
    with zipfile.ZipFile(artifact) as archive:
        names = set(archive.namelist())
        assert archive.testzip() is None

    declarations = sorted(
        p.relative_to(PACKAGE_DIR).as_posix() for p in (PACKAGE_DIR / "datasets").rglob("*.toml")
    )
    # The packaged declarations of both capabilities exist to be bundled at all.
    assert {"datasets/ingest/sales.toml", "datasets/lookup/employees.toml"} <= set(declarations)
    for declaration in declarations:
        assert f"headwater/{declaration}" in names
    assert "headwater/__init__.py" in names
    assert "headwater/handlers/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Package only: no dependency is bundled in the local placeholder.
    assert {n.split("/", 1)[0] for n in names} == {"headwater"}
    assert list(scratch.iterdir()) == [], "temporary build directory left behind"


def test_bytecode_is_never_bundled(package_copy: Path, tmp_path: Path) -> None:
    result = build_artifact.build_artifact(
        local=True, out_dir=tmp_path / "out", package_dir=package_copy, log=lambda _msg: None
    )
    with zipfile.ZipFile(result.path) as archive:
        names = archive.namelist()
    assert "headwater/handlers/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")], names


def test_same_inputs_give_identical_bytes(package_copy: Path, tmp_path: Path) -> None:
    quiet = {"log": lambda _msg: None, "local": True, "package_dir": package_copy}
    first = build_artifact.build_artifact(out_dir=tmp_path / "one", **quiet)

    # Same content, different file metadata: what a fresh checkout or another umask produces.
    for path in package_copy.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
            os.utime(path, (1_900_000_000, 1_900_000_000))
    second = build_artifact.build_artifact(out_dir=tmp_path / "two", **quiet)

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256_base64 == second.sha256_base64
    with zipfile.ZipFile(second.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {stat.S_IMODE(i.external_attr >> 16) for i in infos} == {0o644}


def test_content_change_changes_the_hash(package_copy: Path, tmp_path: Path) -> None:
    quiet = {"log": lambda _msg: None, "local": True, "package_dir": package_copy}
    first = build_artifact.build_artifact(out_dir=tmp_path / "one", **quiet)
    with (package_copy / "__init__.py").open("a", encoding="utf-8") as handle:
        handle.write("# changed\n")
    second = build_artifact.build_artifact(out_dir=tmp_path / "two", **quiet)
    assert first.sha256_hex != second.sha256_hex


def test_size_limit_fails_the_build_and_leaves_no_artifact(tmp_path: Path, scratch: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / "lambda-local.zip"
    stale.write_bytes(b"an artifact from an earlier build")

    completed = _run_script(
        "--local", "--out", str(out), "--max-unzipped-mb", "0.001", tmpdir=scratch
    )

    assert completed.returncode == 1
    assert "exceeds the limit" in completed.stderr
    assert "(1,048 bytes)" in completed.stderr  # 0.001 MB, stated in bytes
    assert not stale.exists(), "a stale artifact would be deployed as if the build succeeded"
    assert list(scratch.iterdir()) == [], "temporary build directory left behind"


def test_default_limit_is_lambdas_250_mb() -> None:
    assert build_artifact.LAMBDA_MAX_UNZIPPED_BYTES == 262_144_000
    args = build_artifact.parse_args([])
    assert int(args.max_unzipped_mb * build_artifact.MIB) == 262_144_000
    assert (args.arch, args.python_version, args.local, args.group) == (
        "arm64",
        "3.12",
        False,
        None,
    )


def test_groups_are_declared_in_pyproject() -> None:
    # The contract with Terraform: build/lambda-<group>-<arch>.zip for exactly these groups.
    assert build_artifact.artifact_groups() == ["api", "data", "onboard"]


def _pins(group: str) -> dict[str, str]:
    requirements = build_artifact.locked_runtime_requirements(group)
    return dict(re.split(r"[\s;]", r, maxsplit=1)[0].split("==") for r in requirements)


@pytest.mark.parametrize("group", ["api", "data", "onboard"])
def test_every_bundled_wheel_is_pinned_by_its_lock_hashes(group: str) -> None:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked_hashes = {p["name"]: {w["hash"] for w in p.get("wheels", [])} for p in lock["package"]}
    for requirement in build_artifact.locked_runtime_requirements(group):
        name = requirement.split("==")[0]
        hashes = set(re.findall(r"--hash=(sha256:[0-9a-f]{64})", requirement))
        assert hashes, f"{name} has no hash: pip could install any file under that name"
        assert hashes <= locked_hashes[name] | {
            p["sdist"]["hash"] for p in lock["package"] if p["name"] == name and "sdist" in p
        }, name


@pytest.mark.parametrize("group", ["api", "data", "onboard"])
def test_locked_requirements_are_the_groups_deps_without_the_aws_sdk(group: str) -> None:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p["version"] for p in lock["package"]}
    pins = _pins(group)

    assert pins["aws-lambda-powertools"] == locked["aws-lambda-powertools"]
    assert not set(pins) & build_artifact.RUNTIME_PROVIDED
    # Neither the "local" extra nor the dev group is bundled.
    for name in ("moto", "localstack-client", "pytest", "ruff", "duckdb", "pandas", "flask"):
        assert name not in pins


def test_only_the_data_groups_bundle_pyarrow() -> None:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p["version"] for p in lock["package"]}
    assert _pins("data")["pyarrow"] == locked["pyarrow"]
    assert _pins("onboard")["pyarrow"] == locked["pyarrow"]
    assert "pyarrow" not in _pins("api")


def test_only_the_onboard_group_bundles_the_database_driver() -> None:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p["version"] for p in lock["package"]}
    for name in ("adbc-driver-manager", "adbc-driver-postgresql"):
        assert _pins("onboard")[name] == locked[name]
        assert name not in _pins("api")
        assert name not in _pins("data")


def test_unknown_group_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(build_artifact.BuildError, match="unknown artifact group 'gpu'"):
        build_artifact.build_artifact(group="gpu", out_dir=tmp_path, log=lambda _msg: None)


# Imports every module of the unpacked package, with only the zip's copy of headwater importable.
IMPORT_ALL = """
import importlib, pkgutil, sys
root, src = sys.argv[1], sys.argv[2]
sys.path[:] = [root] + [p for p in sys.path if p and not p.startswith(src)]
import headwater
assert headwater.__file__.startswith(root), headwater.__file__
names = [m.name for m in pkgutil.walk_packages(headwater.__path__, "headwater.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_zip_holds_runtime_code_only_and_it_imports_without_the_rest(
    tmp_path: Path, scratch: Path
) -> None:
    out = tmp_path / "out"
    assert _run_script("--local", "--out", str(out), tmpdir=scratch).returncode == 0
    task_root = tmp_path / "task"
    with zipfile.ZipFile(out / "lambda-local.zip") as archive:
        names = archive.namelist()
        archive.extractall(task_root)
    for excluded in ("headwater/cli/", "headwater/feed/", "headwater/local/"):
        assert not [n for n in names if n.startswith(excluded)], excluded
    assert not [n for n in names if n.endswith(("_cli.py", "__main__.py"))]
    assert "headwater/handlers/lookup_api.py" in names

    # The editable install puts src/ on sys.path through a .pth file: -S skips .pth files, the
    # dependencies come from site-packages on PYTHONPATH, and the script drops src/ regardless.
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    completed = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_ALL, str(task_root), str(PACKAGE_DIR.parent)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(site_packages)},
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout.strip()) > 10  # handlers, ingest, lookup, ...


def test_unknown_architecture_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(build_artifact.BuildError, match="unknown architecture 'sparc'"):
        build_artifact.build_artifact(arch="sparc", out_dir=tmp_path, log=lambda _msg: None)


def test_human_size() -> None:
    assert build_artifact.human_size(262_144_000) == "250.0 MB"
    assert build_artifact.human_size(1536) == "1.5 KB"
    assert build_artifact.human_size(12) == "12 B"
