"""Every README command block tagged ``<!-- local -->`` works as written, in a fresh shell (no AWS_*
variables, no ENV), against the session's local deployment."""

from __future__ import annotations

import os
import re
import subprocess

from tests.support.paths import ROOT

README = ROOT / "README.md"
TAGS = {"local", "setup", "aws", "test"}
BLOCK = re.compile(r"^(?:<!-- (?P<tag>[a-z]+) -->\n)?```bash\n(?P<body>.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str | None, str]]:
    return [(m["tag"], m["body"]) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def test_every_bash_block_says_where_it_runs():
    untagged = [body.splitlines()[0] for tag, body in blocks() if tag not in TAGS]
    assert not untagged, f"tag these README blocks with one of {sorted(TAGS)}: {untagged}"
    assert any(tag == "local" for tag, _ in blocks())


def fresh_env(platform: dict) -> dict[str, str]:
    """A new terminal's environment: nothing of AWS, no ENV, no active virtualenv; only where the
    session's deployment lives (a user's default .headwater, the tests' own directory)."""
    env = {
        k: v
        for k, v in platform["env"].items()
        if not k.startswith(("AWS_", "FEED_", "UV_")) and k not in ("ENV", "VIRTUAL_ENV")
    }
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def test_local_readme_commands_run_as_written(platform):
    script = "\n".join(body for tag, body in blocks() if tag == "local")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=fresh_env(platform),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == 0, output
    assert "Traceback" not in done.stderr, output
    assert "loaded s3://" in done.stdout, output  # lookup publish --wait
    assert '"members"' in done.stdout or '"items"' in done.stdout, output  # the curl ran
    assert "revoked API key acme" in done.stdout, output
