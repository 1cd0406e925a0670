"""Every environment variable a handler reads is set by the module that deploys it.

ARCHITECTURE.md: every name a handler needs arrives as an environment variable set by the
Terraform module. A variable read in code but missing from the module works in unit tests and
breaks only once deployed, so this is checked statically, for every function of every module.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.terraform import REPO_ROOT, TERRAFORM_DIR

PACKAGE = REPO_ROOT / "src" / "headwater"
MODULES = TERRAFORM_DIR / "modules"


@dataclass(frozen=True)
class Function:
    """One deployed function: where the module declares it, what it runs, what it may read."""

    module: str  # terraform/modules/<module>/main.tf
    handler: str  # the `handler = "..."` of its module block
    domain: str  # src/headwater/<domain>/: code the handler runs besides its own file
    interface: frozenset[str]  # agreed interface: exactly these are set by the module
    optional: frozenset[str] = frozenset()  # read, deliberately not set (packaged default)

    @property
    def handler_file(self) -> Path:
        module_path = self.handler.rsplit(".", 1)[0]
        return REPO_ROOT / "src" / (module_path.replace(".", "/") + ".py")

    @property
    def main_tf(self) -> Path:
        return MODULES / self.module / "main.tf"


FUNCTIONS = [
    # shared_iface.md
    Function(
        module="ingest",
        handler="headwater.handlers.ingest_processor.handler",
        domain="ingest",
        interface=frozenset(
            {
                "CURATED_BUCKET",
                "QUARANTINE_BUCKET",
                "INGEST_PREFIX",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
        optional=frozenset({"CONTRACTS_DIR"}),
    ),
    # lookup_iface.md (issue 3)
    Function(
        module="lookup",
        handler="headwater.handlers.lookup_loader.handler",
        domain="lookup",
        interface=frozenset(
            {
                "LOOKUP_TABLE",
                "LOOKUP_PREFIX",
                "EVENT_BUS_NAME",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
            }
        ),
        optional=frozenset({"LOOKUPS_DIR"}),
    ),
    Function(
        module="lookup",
        handler="headwater.handlers.lookup_api.handler",
        domain="lookup",
        interface=frozenset({"LOOKUP_TABLE", "TENANCY_TABLE", "POWERTOOLS_SERVICE_NAME"}),
        optional=frozenset({"LOOKUPS_DIR"}),
    ),
    Function(
        module="records",
        handler="headwater.handlers.records_api.handler",
        domain="records",
        interface=frozenset(
            {
                "RECORDS_TABLE",
                "IDEMPOTENCY_TABLE",
                "TENANCY_TABLE",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
        optional=frozenset({"RECORDS_DIR"}),
    ),
    Function(
        module="records",
        handler="headwater.handlers.records_summary.handler",
        domain="records",
        interface=frozenset(
            {
                "RECORDS_TABLE",
                "EXPORT_BUCKET",
                "EXPORT_PREFIX",
                "SUMMARY_TIME_ZONE",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
        optional=frozenset({"RECORDS_DIR"}),
    ),
    # collect (issue 8): the schedules API, the collector and the stream sink
    Function(
        module="collect",
        handler="headwater.handlers.collect_api.handler",
        domain="collect",
        interface=frozenset(
            {
                "TENANCY_TABLE",
                "COLLECT_SCHEDULE_GROUP",
                "COLLECT_COLLECTOR_ARN",
                "COLLECT_SCHEDULE_ROLE_ARN",
                "COLLECT_SCHEDULE_DLQ_ARN",
                "COLLECT_RETRY_ATTEMPTS",
                "COLLECT_RETRY_MAX_AGE_SECONDS",
                "COLLECT_MIN_INTERVAL_MINUTES",
                "COLLECT_MAX_SCHEDULES",
                "COLLECT_SECRET_PREFIX",
                "COLLECT_KMS_KEY_ARN",
                "COLLECT_STATE_TABLE",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
    ),
    Function(
        module="collect",
        handler="headwater.handlers.collect_collector.handler",
        domain="collect",
        interface=frozenset(
            {
                "COLLECT_FACTS_TABLE",
                "COLLECT_STATE_TABLE",
                "COLLECT_SECRET_PREFIX",
                "COLLECT_LAG_DAYS",
                "COLLECT_MAX_BACKFILL_DAYS",
                "COLLECT_INITIAL_DAYS",
                "COLLECT_FACT_RETENTION_DAYS",
                "COLLECT_META_BASE_URL",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
    ),
    Function(
        module="collect",
        handler="headwater.handlers.collect_sink.handler",
        domain="collect",
        interface=frozenset(
            {
                "COLLECT_CHANGES_BUCKET",
                "COLLECT_CHANGES_PREFIX",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
    ),
    # onboard (issue 9): the dispatcher plans a source's run, the worker extracts a table or range
    Function(
        module="onboard",
        handler="headwater.handlers.onboard_dispatcher.handler",
        domain="onboard",
        interface=frozenset(
            {
                "ONBOARD_STATE_TABLE",
                "ONBOARD_WORK_QUEUE_URL",
                "ONBOARD_SOURCES",
                # Not in the contract's list: the dispatcher writes the run's items, with their TTL.
                "ONBOARD_RUN_RETENTION_DAYS",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
        optional=frozenset({"ONBOARD_DIR"}),
    ),
    Function(
        module="onboard",
        handler="headwater.handlers.onboard_worker.handler",
        domain="onboard",
        interface=frozenset(
            {
                "ONBOARD_STATE_TABLE",
                "ONBOARD_WORK_QUEUE_URL",
                "ONBOARD_WORK_DLQ_URL",
                "ONBOARD_SOURCES",
                "ONBOARD_BUCKET",
                "ONBOARD_EVENT_BUS_NAME",
                "ONBOARD_PART_BYTES",
                "ONBOARD_MAX_ATTEMPTS",
                "ONBOARD_RUN_RETENTION_DAYS",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE",
                "POWERTOOLS_LOG_LEVEL",
            }
        ),
        optional=frozenset({"ONBOARD_DIR"}),
    ),
]
IDS = [f.handler.rsplit(".", 2)[-2] for f in FUNCTIONS]

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


def _is_env_var(node: ast.AST) -> bool:
    """``env_var(...)``: a settings field read from the environment (handlers.support.settings)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "env_var"
    return isinstance(node, ast.Name) and node.id == "env_var"


def environment_reads(source: str, filename: str) -> tuple[set[str], list[str]]:
    """Names read through os.environ[...] / os.environ.get(...) / os.getenv(...) / env_var(...).

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
            if (
                _is_getenv(func)
                or _is_env_var(func)
                or (
                    isinstance(func, ast.Attribute)
                    and func.attr in {"get", "setdefault", "pop"}
                    and _is_environ(func.value)
                )
            ):
                record(node.args[0] if node.args else None, node)
    return names, problems


def module_environment(hcl: str) -> set[str]:
    """Keys of the first ``environment_variables = { ... }`` map in ``hcl``."""
    match = re.search(r"environment_variables\s*=\s*\{(?P<body>.*?)\n\s*\}", hcl, re.DOTALL)
    assert match, "environment_variables map not found"
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", match["body"], re.MULTILINE))


def module_environments(hcl: str) -> dict[str, set[str]]:
    """handler -> environment variable names, for every ``module "x" { ... }`` block of ``hcl``
    that sets a handler (a file may deploy several functions)."""
    found: dict[str, set[str]] = {}
    # Blocks start at column 0 and end at the next top-level block.
    for block in re.split(
        r"^(?=(?:module|resource|data|locals|output|variable) )", hcl, flags=re.M
    ):
        if not block.startswith("module "):
            continue
        handler = re.search(r'^\s*handler\s*=\s*"(?P<h>[^"]+)"', block, re.MULTILINE)
        if handler:
            assert handler["h"] not in found, f"{handler['h']} is deployed twice"
            found[handler["h"]] = (
                module_environment(block) if "environment_variables" in block else set()
            )
    return found


def _module_environment_of(function: Function) -> set[str]:
    environments = module_environments(function.main_tf.read_text())
    assert function.handler in environments, (
        f"no module block with handler {function.handler} in modules/{function.module}/main.tf"
    )
    return environments[function.handler]


# The settings helper reads whatever name it is given; the names are the literals of the
# env_var(...) calls in the handlers, which the scan reads instead.
SETTINGS_HELPER = "headwater.handlers.support.settings"


def support_modules(handler_source: str) -> list[Path]:
    """The ``headwater.handlers.support`` modules a handler imports (their reads are its reads)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(handler_source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "headwater.handlers.support":
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif node.module.startswith("headwater.handlers.support."):
                found.add(node.module)
    found.discard(SETTINGS_HELPER)
    return [REPO_ROOT / "src" / (name.replace(".", "/") + ".py") for name in sorted(found)]


def _code_reads(function: Function) -> tuple[set[str], list[str]]:
    assert function.handler_file.is_file(), f"{function.handler_file} is missing"
    names: set[str] = set()
    problems: list[str] = []
    domain = sorted((PACKAGE / function.domain).rglob("*.py"))
    assert domain, f"no domain code under src/headwater/{function.domain}"
    support = support_modules(function.handler_file.read_text())
    for path in [function.handler_file, *support, *domain]:
        found, bad = environment_reads(path.read_text(), str(path.relative_to(REPO_ROOT)))
        names |= found
        problems += bad
    return names, problems


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_the_module_sets_exactly_the_agreed_variables(function):
    assert _module_environment_of(function) == function.interface


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_every_variable_the_handler_reads_is_set_by_the_module(function):
    reads, problems = _code_reads(function)
    assert not problems, "\n".join(problems)
    needed = {n for n in reads if not n.startswith(RUNTIME_PREFIXES)} - function.optional
    missing = needed - _module_environment_of(function)
    assert not missing, (
        f"read by {function.handler} but not set by modules/{function.module}: {sorted(missing)}"
    )


def test_every_deployed_handler_is_checked():
    # A function added to a module without an entry above would go unchecked.
    deployed = {
        handler
        for main_tf in sorted(MODULES.glob("*/main.tf"))
        for handler in module_environments(main_tf.read_text())
    }
    assert deployed == {f.handler for f in FUNCTIONS}


def test_the_scanner_finds_every_kind_of_read():
    source = (
        "import os\nfrom os import environ, getenv\n"
        "a = os.environ['A']\nb = os.environ.get('B', 'x')\nc = os.getenv('C')\n"
        "d = environ['D']\ne = getenv('E')\nf = os.environ.setdefault('F', '1')\n"
        "g = os.environ[name]\n"
        "h = [os.environ.get(n) for n in ('H1', 'H2')]\n"
        "i: str = env_var('I')\nj: str = settings.env_var('J', 'x')\n"
    )
    names, problems = environment_reads(source, "sample.py")
    assert names == {"A", "B", "C", "D", "E", "F", "H1", "H2", "I", "J"}
    assert len(problems) == 1 and "sample.py:9" in problems[0]


def test_the_module_parser_reads_the_map():
    hcl = 'x = 1\nenvironment_variables = {\n  ONE = "1"\n  TWO = var.two\n}\nTHREE = 3\n'
    assert module_environment(hcl) == {"ONE", "TWO"}


def test_the_module_parser_separates_functions():
    hcl = (
        'module "a" {\n  handler = "p.a.handler"\n'
        '  environment_variables = {\n    ONE = "1"\n  }\n}\n\n'
        'resource "x" "y" {\n  environment_variables = {\n    NOPE = "1"\n  }\n}\n\n'
        'module "b" {\n  handler = "p.b.handler"\n  environment_variables = {\n'
        '    TWO   = "2"\n    THREE = local.three\n  }\n}\n'
        'module "c" {\n  handler = "p.c.handler"\n}\n'
    )
    assert module_environments(hcl) == {
        "p.a.handler": {"ONE"},
        "p.b.handler": {"TWO", "THREE"},
        "p.c.handler": set(),
    }


def test_support_modules_a_handler_imports_are_scanned_but_not_the_settings_helper():
    source = (
        "from headwater.handlers.support.observability import observability\n"
        "from headwater.handlers.support.settings import env_var\n"
        "from headwater.handlers.support import time_budget\n"
    )
    assert [p.name for p in support_modules(source)] == ["observability.py", "time_budget.py"]
    # The real handlers: the observability helper's POWERTOOLS_* reads count as theirs.
    processor = next(f for f in FUNCTIONS if f.module == "ingest")
    assert "observability.py" in [
        p.name for p in support_modules(processor.handler_file.read_text())
    ]
