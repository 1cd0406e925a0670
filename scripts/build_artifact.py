"""Build the Lambda deployment artifacts: one zip per function group, runtime code only.

Usage::

    uv run python scripts/build_artifact.py [--group api|data] [--arch arm64|x86_64]
                                            [--python 3.12] [--out DIR] [--max-unzipped-mb MB]
    uv run python scripts/build_artifact.py --local [--out DIR]

Groups are data: each ``lambda-<group>`` dependency group in pyproject.toml is one artifact,
``build/lambda-<group>-<arch>.zip`` (without ``--group`` every group is built). Terraform gives
each function the zip of its group, so a dependency only some functions need (database drivers,
pyarrow) never lands in every function:

  * ``api``:  aws-lambda-powertools (the REST API functions);
  * ``data``: aws-lambda-powertools + pyarrow (ingest processor, lookup loader).

What goes in each zip:
  * ``src/headwater`` minus what never runs on Lambda (``EXCLUDED_PACKAGE_DIRS``: the CLI, the
    feeder, the embedded local mode; ``__main__.py`` and ``*_cli.py`` modules), plus the packaged
    dataset declarations ``datasets/<capability>/*.toml``;
  * the group's dependencies at the versions pinned in ``uv.lock`` (``uv export --frozen
    --only-group lambda-<group>``), minus the packages the Lambda Python runtime already provides
    (``RUNTIME_PROVIDED``), installed as manylinux wheels for the target architecture and Python
    version (never built from source), each checked against its hash in ``uv.lock``
    (``--require-hashes``).

What stays out: ``__pycache__`` / ``*.pyc`` (Lambda compiles on import; bytecode from the build
machine's Python would be ignored anyway), the ``tests`` directories of dependencies and the C++
headers/sources pyarrow ships for building extensions (``PRUNED_DEPENDENCY_DIRS`` /
``PRUNED_DEPENDENCY_PATHS``).

The zip is deterministic: entries sorted, fixed timestamps and permissions, so the same inputs
give the same bytes and Terraform's ``source_code_hash`` changes only when the content does.
The build fails (exit 1) when the unzipped size exceeds Lambda's limit of 250 MB.

``--local`` builds ``build/lambda-local.zip`` with the headwater package only, no dependencies.
The embedded local mode's runner imports the handlers from the project's own environment (where
the dependencies are already installed), so the emulator never runs code from the zip; Terraform
still needs *a* file for ``aws_lambda_function``, and a small one keeps local deploys fast.

Downloaded wheels are cached by uv (``uv cache dir``), so a second build needs no network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = PROJECT_ROOT / "src" / "headwater"
DEFAULT_OUT_DIR = PROJECT_ROOT / "build"

# Lambda's limit on the unzipped deployment package (function code plus layers): 250 MB,
# i.e. 262,144,000 bytes.
LAMBDA_MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
MIB = 1024 * 1024

# The Lambda Python runtimes ship the AWS SDK and its dependency closure. Bundling our own copies
# would add ~25 MB unzipped for nothing and shadow the runtime's versions. The pinned boto3 stays
# in pyproject.toml for local development and tests; on Lambda the runtime's copy is used.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)

# Directory names removed anywhere inside the installed dependencies: test suites are never
# imported at runtime (pyarrow's alone is ~3 MB).
PRUNED_DEPENDENCY_DIRS = frozenset({"tests", "__pycache__"})
# Paths (relative to the dependency root) removed as a whole: C++ headers and sources that pyarrow
# ships for compiling extensions against it (nothing reads them at runtime), and the lock file uv
# leaves in an install --target directory.
PRUNED_DEPENDENCY_PATHS = ("pyarrow/include", "pyarrow/src", ".lock")
# File suffixes never bundled: bytecode is recompiled by the Lambda runtime's own interpreter.
PRUNED_SUFFIXES = (".pyc", ".pyo")

# Subpackages of headwater that never run on Lambda: the command line, the feeder (a CLI tool)
# and the embedded local mode (needs moto). Keeping them out keeps the zip small and makes an
# accidental runtime import of them fail in tests instead of working by luck.
EXCLUDED_PACKAGE_DIRS = frozenset({"cli", "feed", "local"})

# pyproject.toml dependency groups named "lambda-<group>" declare the artifact groups.
GROUP_PREFIX = "lambda-"

# Lambda architecture -> uv's target platform. Lambda python3.12 runs on Amazon Linux 2023
# (glibc 2.34), so any manylinux wheel up to manylinux_2_34 runs there; pyarrow publishes
# manylinux_2_28 wheels only, which "manylinux2014" would reject.
PLATFORMS = {
    "arm64": "aarch64-manylinux_2_34",
    "x86_64": "x86_64-manylinux_2_34",
}

# Fixed metadata for every zip entry: the earliest timestamp the zip format can store, and
# permissions independent of the builder's umask (shared libraries executable like on disk).
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
_CHUNK = 1024 * 1024


class BuildError(Exception):
    """A build failure to report as one clear line (exit code 1)."""


@dataclass(frozen=True)
class BuildResult:
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    sha256_hex: str
    # base64 of the raw SHA-256 digest: what Terraform's filebase64sha256() returns and what
    # aws_lambda_function.source_code_hash compares against.
    sha256_base64: str
    file_count: int


def human_size(num_bytes: int) -> str:
    """``262144000`` -> ``"250.0 MB"`` (binary units, as Lambda's limits are stated)."""
    value = float(num_bytes)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} GB"


def _normalize(name: str) -> str:
    """PEP 503 name normalization, so "Python_Dateutil" matches "python-dateutil"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def artifact_groups(project_root: Path = PROJECT_ROOT) -> list[str]:
    """The artifact groups declared in pyproject.toml (``lambda-<group>`` dependency groups)."""
    pyproject = tomllib.loads((project_root / "pyproject.toml").read_text(encoding="utf-8"))
    groups = pyproject.get("dependency-groups", {})
    return sorted(n.removeprefix(GROUP_PREFIX) for n in groups if n.startswith(GROUP_PREFIX))


def locked_runtime_requirements(group: str, project_root: Path = PROJECT_ROOT) -> list[str]:
    """The locked requirement lines (``name==version[ ; marker] --hash=...``) of one group.

    ``--only-group lambda-<group>`` yields that group's closure only (no ``[project]``
    dependencies, no extras, no dev group); ``--frozen`` reads uv.lock as is (no resolution,
    no network).
    """
    output = _run(
        [
            _uv(),
            "export",
            "--only-group",
            GROUP_PREFIX + group,
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--frozen",
        ],
        cwd=project_root,
        what="uv export (reading uv.lock)",
    )
    requirements = []
    # One requirement per logical line: "name==version [; marker] --hash=sha256:... ...".
    for line in output.replace("\\\n", " ").splitlines():
        line = " ".join(line.split())
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[\s=<>!~;\[]", line, maxsplit=1)[0]
        if _normalize(name) not in RUNTIME_PROVIDED:
            requirements.append(line)
    missing = [r for r in requirements if "--hash=" not in r]
    if missing:
        raise BuildError(f"uv.lock has no hashes for: {', '.join(missing)}")
    return requirements


def build_artifact(
    *,
    group: str = "data",
    arch: str = "arm64",
    python_version: str = "3.12",
    out_dir: Path = DEFAULT_OUT_DIR,
    local: bool = False,
    max_unzipped_bytes: int = LAMBDA_MAX_UNZIPPED_BYTES,
    package_dir: Path = PACKAGE_DIR,
    project_root: Path = PROJECT_ROOT,
    log=print,
) -> BuildResult:
    """Build the artifact and return what was written; raise BuildError on any failure.

    On failure nothing is left at the output path (a stale artifact there would otherwise be
    deployed by the next ``terraform apply`` as if the build had succeeded).
    """
    if not local and arch not in PLATFORMS:
        raise BuildError(f"unknown architecture {arch!r}; choose one of {sorted(PLATFORMS)}")
    if not local and group not in artifact_groups(project_root):
        known = artifact_groups(project_root)
        raise BuildError(f"unknown artifact group {group!r}; choose one of {known}")
    if not (package_dir / "__init__.py").is_file():
        raise BuildError(f"package not found: {package_dir}/__init__.py is missing")
    check_declarations(package_dir)

    out_dir = Path(out_dir)
    out_path = out_dir / ("lambda-local.zip" if local else f"lambda-{group}-{arch}.zip")
    out_dir.mkdir(parents=True, exist_ok=True)

    try:
        with tempfile.TemporaryDirectory(prefix="headwater-artifact-") as work:
            work_dir = Path(work)
            # (archive name, source file) pairs; the package always goes in under "headwater/".
            entries = dict(_package_entries(package_dir))
            if not local:
                deps_dir = work_dir / "deps"
                log(f"[{group}] installing dependencies for {arch} / python{python_version} ...")
                _install_dependencies(
                    deps_dir, group, arch, python_version, project_root=project_root, log=log
                )
                for name, source in _dependency_entries(deps_dir):
                    if name.split("/", 1)[0] == package_dir.name:
                        raise BuildError(f"a dependency installs into {package_dir.name}/: {name}")
                    entries[name] = source

            tmp_zip = work_dir / out_path.name
            unzipped = _write_zip(tmp_zip, entries)
            zipped = tmp_zip.stat().st_size
            log(f"zipped size:   {human_size(zipped)} ({zipped:,} bytes)")
            log(f"unzipped size: {human_size(unzipped)} ({unzipped:,} bytes)")
            if unzipped > max_unzipped_bytes:
                raise BuildError(
                    f"unzipped size {human_size(unzipped)} ({unzipped:,} bytes) exceeds the "
                    f"limit of {human_size(max_unzipped_bytes)} ({max_unzipped_bytes:,} bytes); "
                    "no artifact written"
                )
            digest = _sha256(tmp_zip)
            # Replace atomically: Terraform never sees a half-written zip.
            os.replace(tmp_zip, out_path)
    except BuildError:
        out_path.unlink(missing_ok=True)
        raise

    return BuildResult(
        path=out_path,
        zipped_bytes=zipped,
        unzipped_bytes=unzipped,
        sha256_hex=digest.hex(),
        sha256_base64=base64.b64encode(digest).decode("ascii"),
        file_count=len(entries),
    )


# Each capability's parser of its declarations (module, function taking (file name, TOML text)
# pairs). The build runs them so a declaration the functions would refuse at runtime is refused
# here, before anything is deployed (plain Terraform users build with this script too).
DECLARATION_PARSERS = {
    "ingest": ("headwater.ingest.contracts", "parse_documents"),
    "lookup": ("headwater.lookup.contracts", "parse_lookup_documents"),
    "records": ("headwater.records.declarations", "parse_record_documents"),
    "onboard": ("headwater.onboard.declarations", "parse_source_documents"),
}


def check_declarations(package_dir: Path) -> None:
    """Raise BuildError naming the file and the problem if a packaged declaration is invalid."""
    datasets = package_dir / "datasets"
    if not datasets.is_dir():
        return
    for directory in sorted(p for p in datasets.iterdir() if p.is_dir()):
        if directory.name.startswith(("_", ".")):
            continue  # __pycache__ and the like
        documents = sorted((f.name, f.read_text("utf-8")) for f in directory.glob("*.toml"))
        if not documents:
            continue
        where = f"datasets/{directory.name}/"
        if directory.name not in DECLARATION_PARSERS:
            raise BuildError(
                f"{where}: no parser known for these declarations (add the capability to "
                "DECLARATION_PARSERS in scripts/build_artifact.py); no artifact written"
            )
        module, function = DECLARATION_PARSERS[directory.name]
        try:
            getattr(importlib.import_module(module), function)(documents)
        except Exception as exc:  # ContractError, or anything else a parser trips on
            raise BuildError(f"invalid declaration in {where}: {exc}; no artifact written") from exc


def _package_entries(package_dir: Path) -> Iterator[tuple[str, Path]]:
    top_level = {package_dir / d for d in EXCLUDED_PACKAGE_DIRS}
    for path in _walk_files(package_dir, frozenset({"__pycache__"}), top_level):
        if path.name == "__main__.py" or path.name.endswith("_cli.py"):
            continue  # command-line entry points: never a Lambda's
        yield f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}", path


def _dependency_entries(deps_dir: Path) -> Iterator[tuple[str, Path]]:
    pruned_paths = {deps_dir / p for p in PRUNED_DEPENDENCY_PATHS}
    for path in _walk_files(deps_dir, PRUNED_DEPENDENCY_DIRS, pruned_paths):
        yield path.relative_to(deps_dir).as_posix(), path


def _walk_files(
    root: Path, pruned_dirs: frozenset[str], pruned_paths: Iterable[Path] = ()
) -> Iterator[Path]:
    pruned_paths = set(pruned_paths)
    for dirpath, dirnames, filenames in os.walk(root):
        current = Path(dirpath)
        dirnames[:] = [
            d for d in dirnames if d not in pruned_dirs and current / d not in pruned_paths
        ]
        for filename in filenames:
            path = current / filename
            if not filename.endswith(PRUNED_SUFFIXES) and path not in pruned_paths:
                yield path


def _write_zip(zip_path: Path, entries: dict[str, Path]) -> int:
    """Write ``entries`` deterministically; return the total unzipped size in bytes."""
    total = 0
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            source = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so unzip (and Lambda) apply external_attr permissions
            mode = EXECUTABLE_MODE if name.endswith(".so") or ".so." in name else FILE_MODE
            info.external_attr = (stat.S_IFREG | mode) << 16
            # Streamed: pyarrow's shared libraries are tens of MB each.
            with source.open("rb") as src, archive.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
            total += info.file_size
    return total


def _sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def _install_dependencies(
    target: Path, group: str, arch: str, python_version: str, *, project_root: Path, log
) -> None:
    requirements = locked_runtime_requirements(group, project_root)
    requirements_file = target.parent / "requirements.txt"
    requirements_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    pins = (re.split(r"[\s;]", r, maxsplit=1)[0] for r in requirements)
    log(f"[{group}] bundling: " + ", ".join(pins))
    _run(
        [
            _uv(),
            "pip",
            "install",
            "--quiet",
            "--target",
            str(target),
            "--python-platform",
            PLATFORMS[arch],
            "--python-version",
            python_version,
            "--only-binary",
            ":all:",
            # The export is already the full locked closure; --no-deps keeps the runtime-provided
            # packages (boto3 ...) from being pulled back in as dependencies.
            "--no-deps",
            # Every wheel must match a hash recorded in uv.lock: what was locked is what ships.
            "--require-hashes",
            "--requirement",
            str(requirements_file),
        ],
        cwd=project_root,
        what=f"installing {arch} wheels",
    )


def _uv() -> str:
    # `uv run` exports UV with the path of the running uv binary.
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise BuildError("uv not found on PATH; install it from https://docs.astral.sh/uv/")
    return found


def _run(command: Sequence[str], *, cwd: Path, what: str) -> str:
    completed = subprocess.run(  # noqa: S603 (fixed argument list, no shell)
        list(command), cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {completed.returncode}"
        raise BuildError(f"{what} failed: {last}")
    return completed.stdout


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="build_artifact.py",
        description=(
            "Build the Lambda zips, one per function group (build/lambda-<group>-<arch>.zip): "
            "the headwater runtime code plus the group's locked dependencies as manylinux wheels "
            "(the AWS SDK comes with the Lambda runtime and is left out)."
        ),
        epilog=(
            "--local builds build/lambda-local.zip with the package only: the local mode's "
            "runner imports handlers from the project environment, so the emulator only needs "
            "a small placeholder artifact for Terraform."
        ),
    )
    parser.add_argument(
        "--group",
        choices=artifact_groups(),
        help="build this function group only (default: every group in pyproject.toml)",
    )
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument(
        "--python", dest="python_version", default="3.12", help="Lambda Python version"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT_DIR, help="output directory (default: build/)"
    )
    parser.add_argument(
        "--local", action="store_true", help="package only, no dependencies (local mode)"
    )
    parser.add_argument(
        "--max-unzipped-mb",
        type=float,
        default=LAMBDA_MAX_UNZIPPED_BYTES / MIB,
        help="fail above this unzipped size in MB (default: Lambda's limit, 250)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.local and args.group:
        print(
            "build_artifact: error: --local builds one package-only zip; drop --group",
            file=sys.stderr,
        )
        return 2
    groups = [None] if args.local else [args.group] if args.group else artifact_groups()
    for group in groups:
        try:
            result = build_artifact(
                group=group or "",
                arch=args.arch,
                python_version=args.python_version,
                out_dir=args.out,
                local=args.local,
                max_unzipped_bytes=int(args.max_unzipped_mb * MIB),
            )
        except BuildError as exc:
            print(f"build_artifact: error: {exc}", file=sys.stderr)
            return 1
        print(f"artifact: {result.path} ({result.file_count} files)")
        print(f"sha256: {result.sha256_hex}")
        print(f"source_code_hash (base64 sha256): {result.sha256_base64}")
    # The gateway models come from the same declarations as the packaged code: rewrite them with
    # every build, so a changed declaration reaches the API's models on the next apply.
    from headwater.cli.errors import CommandError
    from headwater.cli.records import SCHEMAS_FILE, write_schemas

    try:
        changed = write_schemas(SCHEMAS_FILE)
    except CommandError as exc:
        print(f"build_artifact: error: {exc}", file=sys.stderr)
        return 1
    print(f"record datasets: {SCHEMAS_FILE} ({'rewritten' if changed else 'unchanged'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
