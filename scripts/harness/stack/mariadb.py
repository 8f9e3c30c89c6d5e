"""A private MariaDB server (no systemd, no Docker): install, initialize, start, provision, stop.

RDS MySQL is not available here, so `make stores-up`, the test session and the local stack run
MariaDB from Debian's packages with their own data directory, socket and port. Root logs in over
the unix socket without a password (``--auth-root-authentication-method=normal``); the function
uses an ordinary user over TCP, exactly as it would against RDS.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pymysql

from scripts.harness.stack import processes
from scripts.harness.stack.toolchain import cache_dir

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")
# A small redo log: quick to initialize and copy; given at every start so it is never resized.
INNODB_LOG_FILE_SIZE = "--innodb-log-file-size=16M"
INSTALL_OPTIONS = (
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    "--skip-name-resolve",
    INNODB_LOG_FILE_SIZE,
)
INSTALL_HINT = "install the mariadb-server package (Debian/Ubuntu: apt-get install mariadb-server)"


MIGRATIONS_FILE = Path(__file__).resolve().parents[3] / "lambdas" / "bootstrap" / "migrations.py"


def migrations() -> tuple[str, ...]:
    """The bootstrap function's schema statements (lambdas/bootstrap/migrations.py), read from
    its file: the function's packages are not on the harness's import path."""
    spec = importlib.util.spec_from_file_location("bootstrap_migrations", MIGRATIONS_FILE)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {MIGRATIONS_FILE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.MIGRATIONS)


@dataclass(frozen=True)
class TlsFiles:
    """Server certificate, key and the CA that signed it (PEM paths)."""

    cert: Path
    key: Path
    ca: Path


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def ensure_installed() -> tuple[str, str]:
    """Paths of ``mariadbd`` and ``mariadb-install-db``, installing them with apt when possible."""
    server, installer = find_binary("mariadbd"), find_binary("mariadb-install-db")
    if server and installer:
        return server, installer
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise processes.ServerError(f"MariaDB is not installed: {INSTALL_HINT}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [apt, "update", "-qq"],
        [apt, "install", "-y", "-qq", "--no-install-recommends", "mariadb-server"],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise processes.ServerError(
                f"`{' '.join(command)}` failed ({result.returncode}): "
                f"{result.stderr.strip()[-500:]}; {INSTALL_HINT}"
            )
    server, installer = find_binary("mariadbd"), find_binary("mariadb-install-db")
    if not (server and installer):
        raise processes.ServerError(
            f"mariadb-server installed but mariadbd not found: {INSTALL_HINT}"
        )
    return server, installer


def system_tables_template() -> Path:
    """A freshly initialized data dir for this MariaDB version, created once and cached."""
    server, installer = ensure_installed()
    version = subprocess.run(
        [server, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    key = hashlib.sha256("\0".join([version, *INSTALL_OPTIONS]).encode()).hexdigest()[:16]
    template = cache_dir() / "mariadb-template" / key
    if (template / "mysql").is_dir():
        return template
    staging = template.with_name(f"{key}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = subprocess.run(
        [installer, "--no-defaults", f"--datadir={staging}", *INSTALL_OPTIONS, *_user_flag()],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise processes.ServerError(
            f"mariadb-install-db failed ({result.returncode}): {result.stderr.strip()[-800:]}"
        )
    try:
        staging.rename(template)
    except OSError:  # Another process finished first; theirs is as good.
        shutil.rmtree(staging, ignore_errors=True)
    return template


def _user_flag() -> list[str]:
    # mariadbd refuses to run as root unless told to.
    return ["--user=root"] if os.geteuid() == 0 else []


class MariaDBServer:
    """One server rooted in ``base_dir`` (data/, socket, log, pidfile), listening on ``port``.

    ``durable=False`` trades crash safety for speed (no fsync per commit): for test sessions.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        tls: TlsFiles | None = None,
        durable: bool = True,
        pidfile: Path | None = None,
    ) -> None:
        self.base_dir = base_dir
        self.host = host
        self.port = port
        self.tls = tls
        self.durable = durable
        self.data_dir = base_dir / "data"
        self.socket = base_dir / "mysqld.sock"
        self.log_path = base_dir / "mariadbd.log"
        self.pidfile = pidfile or base_dir / "mariadbd.pid"

    def pid(self) -> int | None:
        return processes.read_pid(self.pidfile)

    def initialize(self) -> bool:
        """Create the system tables once; returns False when the data dir already exists.

        The data dir is copied from a template initialized once per machine in the toolchain
        cache: mariadb-install-db spends ~4 s in fsyncs, a copy takes milliseconds.
        """
        if (self.data_dir / "mysql").is_dir():
            return False
        template = system_tables_template()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.copytree(template, self.data_dir)
        return True

    def start(self, timeout_s: float = 30.0) -> bool:
        """Start unless already running (idempotent); returns True when it started it."""
        if self.pid() is not None:
            return False
        if processes.port_open(self.host, self.port):
            raise processes.ServerError(
                f"port {self.host}:{self.port} is taken by another process; stop it or pick "
                "another port"
            )
        server, _ = ensure_installed()
        self.initialize()
        self.socket.unlink(missing_ok=True)
        pid = processes.spawn(self._command(server), log_path=self.log_path, pidfile=self.pidfile)
        processes.wait_until(
            self._accepts_connections,
            timeout_s=timeout_s,
            pid=pid,
            what=f"MariaDB on {self.host}:{self.port}",
            log_path=self.log_path,
        )
        return True

    def stop(self) -> int | None:
        return processes.stop(self.pidfile, timeout_s=30.0)

    def root_connection(self, database: str | None = None) -> pymysql.connections.Connection:
        """Root over the unix socket (no password: see the module docstring)."""
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            database=database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
        )

    def provision(self, *, database: str, user: str, password: str) -> None:
        """Create ``database`` and a user owning it, (re)setting the password (idempotent)."""
        with self.root_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(
                    "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password)
                )
                cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
                cursor.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@%s", (user, host))
        self.migrate(database)

    def migrate(self, database: str) -> None:
        """The schema, as the bootstrap function creates it on RDS (idempotent)."""
        with self.root_connection(database) as connection, connection.cursor() as cursor:
            for statement in migrations():
                cursor.execute(statement)

    def _command(self, server: str) -> list[str]:
        command = [
            server,
            "--no-defaults",
            f"--datadir={self.data_dir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--bind-address={self.host}",
            f"--pid-file={self.base_dir / 'mariadbd.server.pid'}",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-buffer-pool-size=64M",
            INNODB_LOG_FILE_SIZE,
            *_user_flag(),
        ]
        if not self.durable:
            command += ["--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0"]
        if self.tls is not None:
            command += [
                f"--ssl-cert={self.tls.cert}",
                f"--ssl-key={self.tls.key}",
                f"--ssl-ca={self.tls.ca}",
            ]
        return command

    def _accepts_connections(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            self.root_connection().close()
        except pymysql.err.MySQLError:
            return False
        return True
