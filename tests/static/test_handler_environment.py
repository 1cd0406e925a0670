"""Every environment variable the ingest processor reads is set by the ingest module.

ARCHITECTURE.md: every name a handler needs arrives as an environment variable set by the
Terraform module. A variable read in code but missing from the module works in unit tests and
breaks only once deployed, so this is checked statically.
"""

from __future__ import annotations

import ast
import re

from tfmirror import REPO_ROOT, TERRAFORM_DIR

PACKAGE = REPO_ROOT / "src" / "headwater"
HANDLER = PACKAGE / "handlers" / "ingest.py"
DOMAIN = PACKAGE / "ingest"
MODULE = TERRAFORM_DIR / "modules" / "ingest" / "main.tf"

# Agreed interface (shared_iface.md): exactly these are set by the module.
INTERFACE = {
    "CURATED_BUCKET",
    "QUARANTINE_BUCKET",
    "INGEST_PREFIX",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
# Read by the code but deliberately not set: an override with a packaged default.
OPTIONAL = {"CONTRACTS_DIR"}
# Set by the Lambda runtime itself.
RUNTIME_PREFIXES = ("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN")


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ`` (from os import environ)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _is_getenv(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "getenv" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "getenv"


def _literal_loop_variables(tree: ast.AST) -> dict[str, set[str]]:
    """Loop variables over literal string collections: ``for n in ("A", "B")`` (or a
    comprehension) makes ``os.environ.get(n)`` a read of A and B."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            items = node.iter
            if isinstance(items, ast.Tuple | ast.List | ast.Set) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in items.elts
            ):
                found.setdefault(node.target.id, set()).update(e.value for e in items.elts)
    return found


def environment_reads(source: str, filename: str) -> tuple[set[str], list[str]]:
    """Names read through os.environ[...] / os.environ.get(...) / os.getenv(...).

    Returns (names, problems): a read whose name is not a string literal is a problem, because
    it cannot be checked against the module.
    """
    names: set[str] = set()
    problems: list[str] = []
    tree = ast.parse(source, filename)
    loop_values = _literal_loop_variables(tree)

    def record(arg: ast.AST | None, node: ast.AST) -> None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.add(arg.value)
        elif isinstance(arg, ast.Name) and arg.id in loop_values:
            names.update(loop_values[arg.id])
        else:
            problems.append(f"{filename}:{node.lineno}: environment read with a non-literal name")

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            record(node.slice, node)
        elif isinstance(node, ast.Call):
            func = node.func
            if _is_getenv(func) or (
                isinstance(func, ast.Attribute)
                and func.attr in {"get", "setdefault", "pop"}
                and _is_environ(func.value)
            ):
                record(node.args[0] if node.args else None, node)
    return names, problems


def module_environment(hcl: str) -> set[str]:
    """Keys of the processor's ``environment_variables = { ... }`` map in the module."""
    match = re.search(r"environment_variables\s*=\s*\{(?P<body>.*?)\n\s*\}", hcl, re.DOTALL)
    assert match, "environment_variables map not found in modules/ingest/main.tf"
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", match["body"], re.MULTILINE))


def _code_reads() -> tuple[set[str], list[str]]:
    assert HANDLER.is_file(), f"{HANDLER} is missing"
    names: set[str] = set()
    problems: list[str] = []
    for path in [HANDLER, *sorted(DOMAIN.rglob("*.py"))]:
        found, bad = environment_reads(path.read_text(), str(path.relative_to(REPO_ROOT)))
        names |= found
        problems += bad
    return names, problems


def test_the_module_sets_exactly_the_agreed_variables():
    assert module_environment(MODULE.read_text()) == INTERFACE


def test_every_variable_the_processor_reads_is_set_by_the_module():
    reads, problems = _code_reads()
    assert not problems, "\n".join(problems)
    needed = {n for n in reads if not n.startswith(RUNTIME_PREFIXES)} - OPTIONAL
    missing = needed - module_environment(MODULE.read_text())
    assert not missing, f"read by the processor but not set by modules/ingest: {sorted(missing)}"


def test_the_scanner_finds_every_kind_of_read():
    source = (
        "import os\nfrom os import environ, getenv\n"
        "a = os.environ['A']\nb = os.environ.get('B', 'x')\nc = os.getenv('C')\n"
        "d = environ['D']\ne = getenv('E')\nf = os.environ.setdefault('F', '1')\n"
        "g = os.environ[name]\n"
        "h = [os.environ.get(n) for n in ('H1', 'H2')]\n"
    )
    names, problems = environment_reads(source, "sample.py")
    assert names == {"A", "B", "C", "D", "E", "F", "H1", "H2"}
    assert len(problems) == 1 and "sample.py:9" in problems[0]


def test_the_module_parser_reads_the_map():
    hcl = 'x = 1\nenvironment_variables = {\n  ONE = "1"\n  TWO = var.two\n}\nTHREE = 3\n'
    assert module_environment(hcl) == {"ONE", "TWO"}
