"""Onboard declarations: the packaged demo source, validation with every problem at once, and
which tables a source reads (named, schema matches, nothing undeclared)."""

from __future__ import annotations

import pytest

from headwater.onboard.declarations import (
    DeclarationError,
    Source,
    TableDecl,
    UndeclaredTable,
    load_sources,
    parse_source_documents,
)

GOOD = """
[source]
name = "shop"
engine = "postgresql"

[[tables]]
name = "public.customers"
columns = ["id", "name"]
filter = "deleted_at is null"

[[tables]]
name = "sales.orders"
mode = "incremental"
cursor = "updated_at"
key = ["id"]
ranges = 3

[[schemas]]
name = "public"
include = ["*"]
exclude = ["tmp_*", "customers"]

[[schemas]]
name = "audit"
include = ["log_*"]
mode = "incremental"
cursor = "at"
lookback_seconds = 60
"""


def parse(text: str, file: str = "shop.toml") -> dict[str, Source]:
    return parse_source_documents([(file, text)])


def test_packaged_demo_source_declares_the_demo_schema() -> None:
    demo = load_sources()["demo"]
    assert demo.engine == "postgresql"
    assert demo.target_prefix == "demo/"
    assert [t.qualified for t in demo.tables] == [
        "public.events",
        "public.customers",
        "public.products",
        "public.empty_table",
        "public.orders",
    ]
    assert demo.table("public.events").ranges >= 2
    orders = demo.table("public.orders")
    assert (orders.mode, orders.cursor) == ("incremental", "updated_at")


def test_onboard_dir_points_at_another_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "shop.toml").write_text(GOOD)
    monkeypatch.setenv("ONBOARD_DIR", str(tmp_path))
    assert list(load_sources()) == ["shop"]


def test_good_source_fields_and_defaults() -> None:
    shop = parse(GOOD)["shop"]
    assert shop.target_prefix == "shop/"
    customers = shop.table("public.customers")
    assert customers == TableDecl(
        "public", "customers", ("id", "name"), "deleted_at is null", "full", None, 900, None, 1
    )
    orders = shop.table("sales.orders")
    assert (orders.key, orders.ranges, orders.lookback_seconds) == (("id",), 3, 900)


def test_named_table_wins_over_schema_and_schema_matches_use_its_defaults() -> None:
    shop = parse(GOOD)["shop"]
    # "customers" is excluded by the schema entry, but named in [[tables]]: named wins.
    assert shop.table("public.customers").columns == ("id", "name")
    log = shop.table("audit.log_2024")
    assert (log.mode, log.cursor, log.lookback_seconds) == ("incremental", "at", 60)
    catalog = ["public.customers", "public.items", "public.tmp_x", "audit.log_1", "audit.other"]
    assert [t.qualified for t in shop.resolve(catalog)] == [
        "public.customers",
        "sales.orders",  # named, even if missing from the catalog: its worker reports it
        "audit.log_1",
        "public.items",
    ]


@pytest.mark.parametrize(
    "qualified",
    [
        "public.tmp_scratch",  # excluded
        "audit.other",  # not included
        "private.secrets",  # no such schema declared
        "public",  # not schema.table
        "public.",
        "public.a/b",  # not an identifier here
        'public.x"; drop table y; --',  # matches "*" but undeclared names are still names:
    ],
)
def test_undeclared_or_excluded_table_is_refused(qualified: str) -> None:
    shop = parse(GOOD.replace('include = ["*"]', 'include = ["i*"]'))["shop"]
    with pytest.raises(UndeclaredTable, match="not declared by onboard source 'shop'"):
        shop.table(qualified)


def test_every_problem_of_every_file_is_listed_at_once() -> None:
    bad = """
[source]
name = "Bad Name"
engine = "db2"
target_prefix = "/abs"
colour = "blue"

[[tables]]
name = "no_schema"

[[tables]]
name = "public.t"
mode = "incremental"

[[tables]]
name = "public.u"
mode = "full"
cursor = "c"
ranges = 0

[[tables]]
name = "public.v"
columns = ["a", "a"]
filter = "1=1; drop table v"

[[tables]]
name = "public.w"
key = ["a", "b"]
ranges = 2

[[tables]]
name = "public.x"
columns = ["a"]
key = ["id"]
mode = "incremental"
cursor = "at"
lookback_seconds = -1

[[schemas]]
name = "s.x"
include = []
"""
    with pytest.raises(DeclarationError) as caught:
        parse_source_documents([("bad.toml", bad), ("broken.toml", "[source")])
    problems = caught.value.problems
    expected = [
        "bad.toml: source.colour: unknown field",
        "bad.toml: source.name: required",
        "bad.toml: source.engine: required, one of postgresql",
        "bad.toml: source.target_prefix:",
        "bad.toml: tables[0].name: required: 'schema.table'",
        "bad.toml: tables[1].cursor: required with mode = 'incremental'",
        "bad.toml: tables[2].cursor: only with mode = 'incremental'",
        "bad.toml: tables[2].ranges: an integer from 1 to 64",
        "bad.toml: tables[3].columns: lists a name twice",
        "bad.toml: tables[3].filter: must be one SQL predicate",
        "bad.toml: tables[4].ranges: key ranges need a single key column",
        "bad.toml: tables[5].lookback_seconds: an integer from 0 to 86400",
        "bad.toml: tables[5].columns: must include the key column(s) ['id']",
        "bad.toml: tables[5].columns: must include the cursor column(s) ['at']",
        "bad.toml: schemas[0].name: a schema name, without '.'",
        "bad.toml: schemas[0].include: matches nothing",
        "broken.toml: invalid TOML",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected), problems
    assert str(len(expected)) in str(caught.value)


def test_same_source_in_two_files_and_a_source_without_tables() -> None:
    with pytest.raises(DeclarationError) as caught:
        parse_source_documents(
            [
                ("a.toml", GOOD),
                ("b.toml", GOOD),
                ("c.toml", '[source]\nname = "c"\nengine = "postgresql"\n'),
            ]
        )
    assert caught.value.problems == [
        "b.toml: source.name: 'shop' is also declared in a.toml",
        "c.toml: tables: declare at least one [[tables]] or [[schemas]] entry",
    ]


def test_identifiers_with_quotes_are_names_not_sql_but_slashes_and_long_names_are_refused() -> None:
    odd = GOOD.replace('"public.customers"', '"public.we\'ird \\"; x"', 1)
    assert parse(odd)["shop"].tables[0].table == "we'ird \"; x"
    for name, problem in (
        ("public.a/b", "may not contain '/'"),
        ("public." + "x" * 64, "longer than 63 bytes"),
        ("public.a\\nb", "control characters"),
    ):
        with pytest.raises(DeclarationError, match=problem):
            parse(GOOD.replace('"public.customers"', f'"{name}"', 1))
