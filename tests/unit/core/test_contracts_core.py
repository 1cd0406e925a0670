"""The shared core: declarations per capability, one violation type, capability-defined rules."""

from __future__ import annotations

import pytest

from headwater.contracts import declarations
from headwater.contracts.rules import (
    MISSING_COLUMN,
    ContractError,
    ContractViolation,
    define_rule,
)
from headwater.lookup.rules import SLASH_IN_KEY


def test_each_capability_reads_its_own_packaged_declarations():
    ingest = {d.source for d in declarations.load_declarations("ingest")}
    lookup = {d.source for d in declarations.load_declarations("lookup")}
    assert ingest == {"events.toml", "sales.toml", "tracks.toml"}
    assert lookup == {"employees.toml"}


def test_declarations_come_sorted_from_a_directory(tmp_path):
    (tmp_path / "b.toml").write_text('dataset = "b"\n')
    (tmp_path / "a.toml").write_text('dataset = "a"\n')
    (tmp_path / "notes.txt").write_text("not a declaration")
    found = declarations.load_declarations("ingest", tmp_path)
    assert [(d.source, d.data) for d in found] == [
        ("a.toml", {"dataset": "a"}),
        ("b.toml", {"dataset": "b"}),
    ]


def test_a_missing_directory_and_invalid_toml_name_the_problem(tmp_path):
    with pytest.raises(ContractError, match=r"lookup declarations directory .* does not exist"):
        declarations.load_declarations("lookup", tmp_path / "nope")
    (tmp_path / "bad.toml").write_text("dataset = \n")
    with pytest.raises(ContractError, match=r"bad\.toml: invalid TOML"):
        declarations.load_declarations("lookup", tmp_path)


def test_one_violation_type_carries_rule_row_and_column():
    violation = ContractViolation(MISSING_COLUMN, "required column 'id' is missing", 3, "id")
    assert str(violation) == "missing_column: required column 'id' is missing (row 3, column 'id')"
    assert violation.report() == {
        "rule": "missing_column",
        "message": "required column 'id' is missing",
        "row": 3,
        "column": "id",
    }


def test_capability_rules_are_known_and_typos_are_refused():
    assert ContractViolation(SLASH_IN_KEY, "a/b").rule == "slash_in_key"
    with pytest.raises(ValueError, match="unknown contract rule 'slash_in_keys'"):
        ContractViolation("slash_in_keys", "typo")
    assert define_rule("test_only_rule") == "test_only_rule"
    assert ContractViolation("test_only_rule", "now known").rule == "test_only_rule"
