"""``headwater local postgres up|down|status``: the local mode's PostgreSQL (the onboard demo's).

A real PostgreSQL server (``headwater.local.postgres.Server``: the binaries on PATH or in the
usual locations, else the pip package's) whose data directory is ``local/postgres`` in the state
directory, listening on 127.0.0.1 only. ``headwater local down`` stops it too, so
``./setup.sh destroy`` stops it before it deletes ``local/``.

The demo's database user has a password generated once and kept in the data directory with mode
0600 (``DEMO_PASSWORD_FILE``): the onboard demo writes it into the emulator's Secrets Manager
secret, as a team would store its database's credentials. It is never printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from headwater.cli.errors import CommandError
from headwater.local import state

EXIT_NOT_RUNNING = 3
DEMO_PASSWORD_FILE = "headwater-demo-password"  # noqa: S105 (a file name)
DEMO_DATABASE = "demo"
DEMO_USER = "headwater_demo"


def data_dir(root: Path | None = None) -> Path:
    """``$HEADWATER_STATE_DIR/local/postgres``."""
    return (root or state.state_paths().root) / "local" / "postgres"


def server(root: Path | None = None) -> Any:
    from headwater.local.postgres import Server

    return Server(data_dir(root))


def demo_password(directory: Path) -> str:
    """The demo user's password: generated on first use, then read back (file mode 0600)."""
    path = directory / DEMO_PASSWORD_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(24)
    # O_EXCL with 0600: the password is never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def ensure_running(root: Path | None = None) -> Any:
    """The local server, started when it is not running (initdb on first use)."""
    current = server(root)
    if not current.running():
        try:
            current.start()
        except Exception as exc:  # the server names its own failure (binaries, port, initdb)
            raise CommandError(f"cannot start the local PostgreSQL: {exc}") from exc
    return current


def running(root: Path | None = None) -> Any:
    """The local server when it runs, else None (without a data dir it never ran)."""
    if not data_dir(root).is_dir():
        return None
    current = server(root)
    return current if current.running() else None


def stop(root: Path | None = None) -> bool:
    """Stop the local server if it runs; whether it did."""
    current = running(root)
    if current is None:
        return False
    current.stop()
    return True


def add_parser(actions: Any) -> None:
    """``postgres up|down|status`` under the ``local`` group's actions."""
    parser = actions.add_parser(
        "postgres",
        help="the local PostgreSQL of the onboard demo: up, down, status",
        description="A real PostgreSQL on 127.0.0.1 whose data lives in local/postgres in the "
        "state directory ($HEADWATER_STATE_DIR). `./setup.sh run` starts it for the onboard "
        "demo; `headwater local down` and `./setup.sh destroy` stop it.",
    )
    commands = parser.add_subparsers(dest="postgres_command", metavar="ACTION")
    up = commands.add_parser("up", help="start it (initdb on first use; no-op if running)")
    up.set_defaults(func=_up)
    down = commands.add_parser("down", help="stop it (its data stays for the next up)")
    down.set_defaults(func=_down)
    status = commands.add_parser("status", help="is it running? (exit 3 when not)")
    status.set_defaults(func=_status)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _describe(current: Any) -> str:
    settings = current.settings(DEMO_DATABASE, DEMO_USER)
    return f"127.0.0.1:{settings['port']} (data {data_dir()})"


def summary_line(root: Path | None = None) -> str | None:
    """The demo database as `local summary` shows it, when the server runs: a URI for psql (its
    password stays in its 0600 file) and how to stop it."""
    current = running(root)
    if current is None:
        return None
    port = current.settings(DEMO_DATABASE, DEMO_USER)["port"]
    password = data_dir(root) / DEMO_PASSWORD_FILE
    return (
        f"postgresql://{DEMO_USER}@127.0.0.1:{port}/{DEMO_DATABASE}  (the onboard demo's; "
        f"password in {password}; stop: ./setup.sh cli local postgres down)"
    )


def _up(_args: argparse.Namespace) -> int:
    current = server()
    if current.running():
        print(f"local PostgreSQL already running at {_describe(current)}")
        return 0
    ensure_running()
    print(f"local PostgreSQL running at {_describe(current)}")
    return 0


def _down(_args: argparse.Namespace) -> int:
    print("local PostgreSQL stopped" if stop() else "local PostgreSQL was not running")
    return 0


def _status(_args: argparse.Namespace) -> int:
    if running() is None:
        print(f"local PostgreSQL: not running (data {data_dir()})")
        return EXIT_NOT_RUNNING
    print(f"local PostgreSQL: running at {_describe(server())}")
    return 0
