"""Every packaged declaration parses, and the artifact build refuses one that does not."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from headwater.ingest.contracts import load_contracts
from headwater.lookup.contracts import load_lookups

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIR = PROJECT_ROOT / "src" / "headwater"


def _build_script():
    spec = importlib.util.spec_from_file_location(
        "build_artifact", PROJECT_ROOT / "scripts" / "build_artifact.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _build_script()


def test_every_packaged_declaration_parses():
    capabilities = {p.name for p in (PACKAGE_DIR / "datasets").iterdir() if p.is_dir()}
    # A new capability's declarations need a parser the build knows, or they are never checked.
    assert capabilities - {"__pycache__"} <= set(build.DECLARATION_PARSERS)
    build.check_declarations(PACKAGE_DIR)
    assert load_contracts() and load_lookups()


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "headwater"
    shutil.copytree(PACKAGE_DIR / "datasets", copy / "datasets")
    (copy / "__init__.py").write_text("")
    return copy


@pytest.mark.parametrize(
    ("capability", "text", "problem"),
    [
        ("ingest", "dataset = \n", r"broken\.toml: invalid TOML"),
        ("ingest", 'dataset = "x"\n', r"broken\.toml: field 'prefix'"),
        ("lookup", 'dataset = "x"\n', r"broken\.toml: field 'partition_key'"),
        ("records", 'dataset = "x"\n', r"broken\.toml"),
        (
            "onboard",
            '[source]\nname = "x"\n',
            r"2 problem.*\n- broken\.toml: source\.engine: required",
        ),
    ],
)
def test_the_build_refuses_an_invalid_declaration(
    package_copy, tmp_path, capability, text, problem
):
    (package_copy / "datasets" / capability / "broken.toml").write_text(text)
    with pytest.raises(
        build.BuildError, match=rf"invalid declaration in datasets/{capability}/: {problem}"
    ):
        build.build_artifact(
            local=True, package_dir=package_copy, out_dir=tmp_path / "out", log=lambda *_: None
        )
    assert not (tmp_path / "out" / "lambda-local.zip").exists()


def test_the_build_refuses_declarations_of_an_unknown_capability(package_copy):
    (package_copy / "datasets" / "unheard_of").mkdir()
    (package_copy / "datasets" / "unheard_of" / "r.toml").write_text('dataset = "r"\n')
    with pytest.raises(build.BuildError, match=r"datasets/unheard_of/: no parser known"):
        build.check_declarations(package_copy)
