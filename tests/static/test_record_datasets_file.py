"""The record datasets' gateway schemas Terraform loads are the ones the declarations give.

`terraform/environments/record_datasets.auto.tfvars.json` is generated (`headwater records
schemas`, and every artifact build); a declaration edited without regenerating it would deploy a
gateway model that disagrees with the handler's validation of the same dataset.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from headwater.cli import main
from headwater.cli.records import SCHEMAS_FILE, render_schemas
from headwater.records.declarations import load_record_datasets
from headwater.records.json_schema import model_document
from tests.support.terraform import TERRAFORM_DIR

ENVIRONMENTS = ("local", "dev", "prod")


def test_committed_file_is_up_to_date():
    assert SCHEMAS_FILE == TERRAFORM_DIR / "environments" / "record_datasets.auto.tfvars.json"
    assert SCHEMAS_FILE.read_text(encoding="utf-8") == render_schemas(), (
        "record_datasets.auto.tfvars.json is stale: run `headwater records schemas` and commit it"
    )


def test_file_holds_each_declared_dataset_model():
    variables = json.loads(SCHEMAS_FILE.read_text(encoding="utf-8"))["record_datasets"]
    datasets = load_record_datasets()
    assert set(variables) == set(datasets)
    for name, dataset in datasets.items():
        assert variables[name] == {
            "description": dataset.description,
            "schema": model_document(dataset),
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loads_it(env):
    link = TERRAFORM_DIR / "environments" / env / "record_datasets.auto.tfvars.json"
    assert link.is_symlink(), f"environments/{env} must link the shared file, not copy it"
    assert link.resolve() == SCHEMAS_FILE.resolve()
    assert 'variable "record_datasets"' in (link.parent / "variables.tf").read_text("utf-8")
    main_tf = (link.parent / "main.tf").read_text("utf-8")
    assert re.search(r"^\s*record_datasets\s*=\s*var\.record_datasets$", main_tf, re.M)


def test_check_fails_on_a_stale_file_and_write_fixes_it(tmp_path: Path, capsys):
    out = tmp_path / "record_datasets.auto.tfvars.json"
    out.write_text('{"record_datasets": {}}\n', encoding="utf-8")
    assert main(["records", "schemas", "--check", "--out", str(out)]) == 1
    assert "stale" in capsys.readouterr().err

    assert main(["records", "schemas", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_schemas()
    assert main(["records", "schemas", "--check", "--out", str(out)]) == 0


def test_check_fails_on_a_missing_file(tmp_path: Path, capsys):
    assert main(["records", "schemas", "--check", "--out", str(tmp_path / "none.json")]) == 1
    assert "missing" in capsys.readouterr().err
