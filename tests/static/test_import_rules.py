"""Which part of headwater may import which: the layering that keeps capabilities independent.

- a capability (ingest, lookup, and the ones to come) never imports another capability; it may
  import the shared core and third-party packages;
- the core imports only the core;
- handlers import domain code (capabilities, core, their own support), never local mode or CLI;
- only local mode itself and the CLI import ``headwater.local``.

Every module under src/headwater is parsed with ``ast``, imports inside functions included
(handlers import heavy domain code lazily). Imports by string (importlib) are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.terraform import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "headwater"

# Top-level packages that are capabilities. The future ones are listed already so their first
# module is held to the rules from the start.
CAPABILITIES = frozenset({"ingest", "lookup", "collect", "onboard", "records"})
# The shared core every capability may build on.
CORE = frozenset(
    {"contracts", "events", "aws", "progress", "tenancy", "schedule_expressions", "schedule_dlq"}
)
# Tools above a capability: the feeder writes test files for ingest's own contracts.
TOOLS = frozenset({"feed"})
HANDLERS = "handlers"
LOCAL = "local"
# The command line: the `cli` package and `python -m headwater`.
CLI_MODULES = frozenset({"cli", "__main__"})
# Data, not code (the dataset declarations).
NOT_CODE = frozenset({"datasets"})


def top_level(module: str) -> str:
    """``headwater.lookup.loader`` -> ``lookup``; ``headwater`` and the package's own
    attributes (``headwater.__version__``) -> ``""``, the root, which everyone may import."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and not parts[1].startswith("_") else ""


def is_cli(module: str) -> bool:
    parts = module.split(".")[1:]
    return bool(parts) and parts[0] in CLI_MODULES


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every headwater import in ``source``, anywhere in it.

    ``from headwater import aws`` counts as an import of ``headwater.aws``; a name that is not a
    module (``from headwater import __version__``) resolves to ``headwater.__version__``, the
    root package's own attribute.
    """
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "headwater"]


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """One message per forbidden import: the importing module, the import, the rule."""
    found: list[str] = []
    own = top_level(module)
    for line, target in imported_modules(module, source, is_package):
        part = top_level(target)

        def forbid(rule: str, line: int = line, target: str = target) -> None:
            found.append(f"{module} (line {line}) imports {target}: {rule}")

        if part == own:
            continue
        if part == LOCAL and not is_cli(module):
            forbid("only headwater.local itself and the CLI may import local mode")
        elif is_cli(module):
            continue
        elif own in CAPABILITIES and part in CAPABILITIES:
            forbid(f"capability {own!r} must not import capability {part!r}")
        elif own in CAPABILITIES and part not in CORE and part:
            forbid(f"capability {own!r} may import only the core ({', '.join(sorted(CORE))})")
        elif own in CORE and part not in CORE and part:
            forbid("the core may import only the core")
        elif own == HANDLERS and (part in TOOLS or is_cli(target)):
            forbid("handlers import domain code, not tools or the CLI")
        elif own in TOOLS and (part == HANDLERS or is_cli(target)):
            forbid("tools import domain code, not handlers or the CLI")
    return found


def source_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_top_level_part_is_classified():
    # A new top-level package must be placed in a layer (and so held to its rules) on purpose.
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()} - {"__pycache__"}
    known = CAPABILITIES | CORE | TOOLS | CLI_MODULES | NOT_CODE | {HANDLERS, LOCAL, "__init__"}
    unclassified = sorted(p for p in parts if p not in known)
    assert not unclassified, f"add these to a layer in {Path(__file__).name}: {unclassified}"


def test_no_module_breaks_the_import_rules():
    files = source_files()
    assert len(files) > 50, "the source tree was not found"
    problems = [
        message
        for path in files
        for message in violations(
            module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py"
        )
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "headwater.lookup.loader",
            "def parse():\n    from headwater.ingest.rows import RowValidator\n",
            "headwater.lookup.loader (line 2) imports headwater.ingest.rows.RowValidator: "
            "capability 'lookup' must not import capability 'ingest'",
        ),
        (
            "headwater.lookup.loader",
            "from ..ingest import convert\n",
            "headwater.lookup.loader (line 1) imports headwater.ingest.convert: "
            "capability 'lookup' must not import capability 'ingest'",
        ),
        (
            "headwater.ingest.processor",
            "import headwater.handlers.support.settings\n",
            "headwater.ingest.processor (line 1) imports headwater.handlers.support.settings: "
            "capability 'ingest' may import only the core",
        ),
        (
            "headwater.contracts.rows",
            "from headwater import lookup\n",
            "headwater.contracts.rows (line 1) imports headwater.lookup: "
            "the core may import only the core",
        ),
        (
            "headwater.handlers.lookup_api",
            "from headwater.local.state import read\n",
            "headwater.handlers.lookup_api (line 1) imports headwater.local.state.read: "
            "only headwater.local itself and the CLI may import local mode",
        ),
        (
            "headwater.handlers.ingest_processor",
            "from headwater.cli import main\n",
            "headwater.handlers.ingest_processor (line 1) imports headwater.cli.main: "
            "handlers import domain code, not tools or the CLI",
        ),
    ],
)
def test_the_checker_catches_a_violation(module, source, expected):
    assert any(v.startswith(expected) for v in violations(module, source)), violations(
        module, source
    )


def test_allowed_imports_pass():
    assert not violations("headwater.lookup.loader", "from headwater.contracts import rows\n")
    assert not violations("headwater.lookup.loader", "from . import store\nimport boto3\n")
    assert not violations("headwater.handlers.lookup_loader", "from headwater.lookup import x\n")
    assert not violations("headwater.cli.lookup", "from headwater.local import state\n")
    assert not violations("headwater.local.runner", "from headwater.local import workers\n")
    assert not violations("headwater.feed.contracts", "from headwater.ingest import contracts\n")
    assert not violations("headwater.cli", "from headwater import __version__\n")
