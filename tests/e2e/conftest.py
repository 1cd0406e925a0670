"""One ``./setup.sh run`` per session, shared by every e2e module, and ``./setup.sh destroy`` at
the end (which must leave nothing listening)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.e2e import DAY, FILES, ROOT, SEED
from tests.support.emulator import free_port, listening

# Rows of the demo database's large table that `./setup.sh run` onboards (the default is
# 2,000,000: a user's first run, not every test session's).
DEMO_ROWS = 20_000


@pytest.fixture(scope="session")
def platform():
    # Not under pytest's tmp folder: as root, the demo's PostgreSQL runs as an unprivileged user
    # that must reach its data directory in the state folder, and pytest's folders are private.
    state = Path(tempfile.mkdtemp(prefix="hw-e2e-"))
    state.chmod(0o711)
    port = free_port()
    api_port = free_port()  # the front serves from here upward: away from a developer's 4580
    env = {
        **os.environ,
        "ENV": "local",
        "HEADWATER_STATE_DIR": str(state),
        "HEADWATER_LOCAL_PORT": str(port),
        "HEADWATER_API_PORT": str(api_port),
        "FEED_FILES": str(FILES),
        "FEED_SEED": str(SEED),
        "FEED_DATE": DAY,
        "REPORT_WAIT": "240",
        "ONBOARD_DEMO_ROWS": str(DEMO_ROWS),
    }
    env.pop("AWS_PROFILE", None)
    run = subprocess.run(
        [str(ROOT / "setup.sh"), "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    endpoint = f"http://127.0.0.1:{port}"
    # What the CLI needs to reach the emulator, as setup.sh sets it for its own commands.
    local_env = {
        **env,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        yield {
            "run": run,
            "state": state,
            "env": env,
            "local_env": local_env,
            "endpoint": endpoint,
            "port": port,
            "api_port": api_port,
        }
    finally:
        # The demo's PostgreSQL (started by the onboard demo): destroy must stop it too.
        postgres_info = state / "local" / "postgres" / "headwater.json"
        postgres_port = (
            json.loads(postgres_info.read_text())["port"] if postgres_info.is_file() else None
        )
        down = subprocess.run(
            [str(ROOT / "setup.sh"), "destroy"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr
        assert not (state / "local").exists()
        assert not listening(port), "emulator still listening"
        assert not listening(api_port), "API front still listening"
        if postgres_port is not None:
            assert not listening(postgres_port), "local PostgreSQL still listening"
        shutil.rmtree(state, ignore_errors=True)


# Modules that restart the shared local mode: they run after every other e2e test.
RUN_LAST = ("test_crash_recovery.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test of this tier carries its marker, whether or not its module sets pytestmark.
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: Path(item.fspath).name in RUN_LAST)  # stable: order kept
