"""Each module's README lists exactly its variables and outputs.

The README's "## Inputs" and "## Outputs" sections hold tables whose first column is the name in
backticks; they must match the ``variable "x"`` and ``output "x"`` blocks of the module's own
*.tf files (examples excluded), so documentation cannot drift from the interface.
"""

from __future__ import annotations

import re

import pytest

from tests.support.terraform import TERRAFORM_DIR

MODULES = sorted(p.parent.name for p in (TERRAFORM_DIR / "modules").glob("*/main.tf"))


def declared(module: str, kind: str) -> set[str]:
    """Names of the ``variable``/``output`` blocks of a module (its top-level *.tf only)."""
    hcl = "".join(p.read_text() for p in sorted((TERRAFORM_DIR / "modules" / module).glob("*.tf")))
    return set(re.findall(rf'^{kind}\s+"([^"]+)"', hcl, flags=re.MULTILINE))


def documented(readme: str, heading: str) -> set[str] | None:
    """First-column names of the table(s) in the ``## <heading>`` section, None without one."""
    match = re.search(rf"^##\s+{heading}\s*$(?P<body>.*?)(?=^##\s|\Z)", readme, re.M | re.S)
    if match is None:
        return None
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|", match["body"], flags=re.MULTILINE)
    return set(rows)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize(("kind", "heading"), [("variable", "Inputs"), ("output", "Outputs")])
def test_readme_lists_exactly_the_interface(module, kind, heading):
    readme_path = TERRAFORM_DIR / "modules" / module / "README.md"
    assert readme_path.is_file(), f"modules/{module} has no README.md"
    names = documented(readme_path.read_text(), heading)
    assert names is not None, f"modules/{module}/README.md has no '## {heading}' table"
    actual = declared(module, kind)
    assert names == actual, (
        f"modules/{module}/README.md {heading}: missing {sorted(actual - names)}, "
        f"not in the module {sorted(names - actual)}"
    )


def test_parsers():
    readme = (
        "# m\n\n## Inputs\n\n| name | notes |\n|---|---|\n| `a` | x |\n| `b` | `c` |\n\n"
        "## Outputs\n\n| name | notes |\n|---|---|\n| `o` | y |\n\n## Notes\n| `z` | no |\n"
    )
    assert documented(readme, "Inputs") == {"a", "b"}
    assert documented(readme, "Outputs") == {"o"}
    assert documented(readme, "Missing") is None
    assert {"platform", "queue", "stack", "function"} <= set(MODULES)
